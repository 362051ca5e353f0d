"""Generators behind one protocol: the registry, the generator contract, and a plug-in generator
written only from the README working with `fuzz` and replay."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from resumefuzz import wasmtools
from resumefuzz.campaign import CasePlan, Options
from resumefuzz.cli import main
from resumefuzz.errors import BadInput
from resumefuzz.fuzz import GeneratedCase, Generator, generator_names, get_generator
from resumefuzz.fuzz.testing import smoke_test_generator
from resumefuzz.testing import ContractViolation

CLI = str(Path(sys.executable).with_name("resumefuzz"))

PLUGIN = '''
from resumefuzz import wasmtools
from resumefuzz.fuzz import GeneratedCase, Generator


class CounterGenerator(Generator):
    """A loop that outputs its counter; the seed picks the bound."""

    profiles = {"core": frozenset()}

    def generate(self, seed, profile):
        wat = ('(module (import "host" "out_i32" (func $out (param i32)))'
               ' (func (export "run") (local $i i32)'
               '  (loop $l (call $out (local.get $i))'
               '   (local.set $i (i32.add (local.get $i) (i32.const 1)))'
               f'   (br_if $l (i32.lt_u (local.get $i) (i32.const {3 + seed % 5}))))))')
        return GeneratedCase(self.name, seed, profile, wasmtools.parse(wat))
'''

ENTRY_POINTS = """[resumefuzz.generators]
counter = rfz_gen_plugin:CounterGenerator
broken = rfz_gen_missing:Nothing
smith = rfz_gen_plugin:CounterGenerator
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed generator package: a module and a dist-info with entry points, on sys.path."""
    site = tmp_path / "site"
    info = site / "rfz_gen_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "rfz_gen_plugin.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rfz-gen-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("rfz_gen_plugin", None)


# -- the registry ---------------------------------------------------------------------------------------


def test_builtin_generators_are_registered_by_name() -> None:
    assert generator_names()[:3] == ["smith", "structured", "mixed"]
    for name in ("smith", "structured", "mixed"):
        generator = get_generator(name)
        assert generator.name == name and {"core", "simd"} <= set(generator.profiles)
        assert "simd" in generator.profiles["simd"] and "simd" not in generator.profiles["core"]
    with pytest.raises(BadInput, match="unknown generator 'nope' .*smith, structured, mixed"):
        get_generator("nope")


def test_mixed_is_a_composite_recording_the_member_that_made_each_case() -> None:
    # the campaign's draws of before the protocol (pick salt 1 over smith, structured), kept exactly
    drawn = [CasePlan.make(Options(generator="mixed"), i).generator for i in range(10)]
    assert drawn == ["smith", "smith", "structured", "structured", "structured", "smith", "structured",
                     "structured", "smith", "structured"]
    mixed = get_generator("mixed")
    plan = CasePlan.make(Options(generator="mixed"), 2)
    case = mixed.generate(plan.seed, "core")
    assert case.generator == "structured" and case.wasm == get_generator("structured").generate(plan.seed, "core").wasm


def test_a_profile_the_generator_does_not_declare_is_bad_usage(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # before: `structured` took any profile (silently as core)
    assert main(["fuzz", "--generator", "structured", "--profile", "nope", "--cases", "1",
                 "--out", str(tmp_path / "out")]) == 2
    profiles = ", ".join(sorted(get_generator("structured").profiles))
    assert f"generator structured has no profile 'nope' (its profiles: {profiles})" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything is written


# -- the generator contract -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["smith", "structured", pytest.param("mixed", marks=pytest.mark.nightly)])
def test_builtin_generators_keep_the_contract(name: str) -> None:
    smoke_test_generator(name)


class _Fixed(Generator):
    """A generator of one WAT module, for contract violations."""

    name = "fixed"
    profiles = {"core": frozenset()}
    wat = ('(module (import "host" "out_i32" (func $o (param i32))) (func (export "run") (local $i i32)'
           ' (loop $l (call $o (i32.extend8_s (local.get $i))) (local.set $i (i32.add (local.get $i) (i32.const 1)))'
           ' (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))))')

    def generate(self, seed: int, profile: str) -> GeneratedCase:
        return GeneratedCase(self.name, seed, profile, wasmtools.parse(self.wat))


class _Drifting(_Fixed):
    counter = itertools.count()

    def generate(self, seed: int, profile: str) -> GeneratedCase:
        case = super().generate(seed, profile)
        return GeneratedCase(self.name, seed, profile, case.wasm + b"\0\x01" + bytes([next(self.counter) % 256]))


def test_the_contract_names_what_a_generator_breaks() -> None:
    with pytest.raises(ContractViolation, match="not valid with its declared features .none.*sign"):
        smoke_test_generator(_Fixed())  # i32.extend8_s needs sign-extension, which it does not declare

    class Declared(_Fixed):
        profiles = {"core": frozenset({"sign-extension"})}

    smoke_test_generator(Declared())
    with pytest.raises(ContractViolation, match="the same seed generated a different module"):
        smoke_test_generator(type("Drifting", (_Drifting, Declared), {})())

    class Foreign(Declared):  # imports outside the host interface: unsupported, so nothing is ever judged
        wat = '(module (import "env" "f" (func)) (func (export "run") (call 0)))'

    with pytest.raises(ContractViolation, match="no generated module suspended"):
        smoke_test_generator(Foreign())


# -- plug-ins ---------------------------------------------------------------------------------------------


def test_a_plugin_generator_keeps_the_contract_and_cannot_take_a_builtin_name(plugin: Path) -> None:
    assert "counter" in generator_names() and generator_names().count("smith") == 1
    smoke_test_generator("counter")
    assert type(get_generator("smith")).__name__ == "SmithGenerator"


def test_a_broken_plugin_is_reported_by_name_only_when_selected(plugin: Path) -> None:
    with pytest.raises(BadInput, match="generator plug-in 'broken' .rfz_gen_missing:Nothing. failed to load"):
        get_generator("broken")
    assert get_generator("structured").name == "structured"


def test_a_plugin_generator_works_with_fuzz_and_its_findings_replay(plugin: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(plugin)}
    out = tmp_path / "camp"
    proc = subprocess.run([CLI, "fuzz", "--generator", "counter", "--engine", "faulty:drop-output", "--cases", "2",
                           "--shrink-attempts", "0", "--no-progress", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    finding = next(p for p in (out / "findings").iterdir() if not p.name.startswith("."))
    case = json.loads((finding / "case.json").read_text())
    assert case["generator"] == "counter" and case["engine"].startswith("faulty:drop-output")
    replay = subprocess.run([str(finding / "replay"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1 and "DIVERGENT: output" in replay.stdout
    bad = subprocess.run([CLI, "fuzz", "--generator", "counter", "--profile", "simd", "--cases", "1",
                          "--out", str(tmp_path / "never")], capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 2 and "generator counter has no profile 'simd'" in bad.stderr


def test_a_structured_shrink_cut_by_its_deadline_returns_the_best_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the deadline passes mid-shrink no new candidate is judged, and the final replay of the
    smallest confirmed example still holds: no FlakyFailure (which used to lose the finding).

    The generator's clock jumps past the deadline while the second candidate is judged (a fake
    clock, so a loaded machine cannot spend the budget before the first candidate)."""
    import sys
    import time as time_
    import types

    from resumefuzz.fuzz.registry import get_generator

    generator = get_generator("structured")
    case = generator.generate(5, "core")
    calls: list[bytes] = []
    deadline = time_.time() + 3600
    clock = types.SimpleNamespace(time=lambda: deadline + 1 if len(calls) >= 2 else time_.time())
    monkeypatch.setattr(sys.modules[type(generator).__module__], "time", clock)

    def interesting(wasm: bytes) -> bool:
        calls.append(wasm)  # the budget runs out while the second candidate is judged
        return True

    shrunk = generator.shrink(case, interesting, deadline=deadline, attempts=40)
    assert shrunk is not None and shrunk.wasm in calls
    assert len(calls) == 2  # nothing judged after the deadline
