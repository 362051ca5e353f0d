"""`check`/`replay --restore-in process`, `--restore-config` as a user runs them (resumefuzz.hop).

The whole corpus restored in other processes took 26 minutes on two shared cores (every one of its
~11 000 suspensions is a hop, ~0.1 s each, ~0.6 s for the Csmith and WASI programs whose restoring
process compiles a large module; in process the replay takes ~30 s): it is nightly; the fast suite
replays a representative subset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resumefuzz import corpus
from resumefuzz.checker import EQUAL, check
from resumefuzz.cli import main
from resumefuzz.engines import get_engine

_SCRIPT = Path(sys.executable).with_name("resumefuzz")
RESUMEFUZZ = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "resumefuzz.cli"]
CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CASES = {case.name: case for case in corpus.discover([CORPUS])[0]}
#: the fast suite's cases (their own schedules): tables and funcrefs, the stack of a suspending call, an
#: optimizing transform, try_table, a known divergence that must still diverge; WASI programs run below
SUBSET = ("stack-across-suspending-call", "funcref-global-across-yields", "table-set-before-suspend",
          "optimizer-merges-identical-functions", "binaryen-declarative-segment-shifts-indices",
          "try-table-outside-only-list")
LOOP = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "run") (result i32) (local $i i32)
    (loop $l
      (global.set $g (i32.add (global.get $g) (local.get $i)))
      (i32.store (i32.mul (local.get $i) (i32.const 4)) (global.get $g))
      (call $out (global.get $g))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20))))
    (global.get $g)))"""


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RESUMEFUZZ, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ))


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    path = tmp_path / "loop.wat"
    path.write_text(LOOP)
    return path


def test_check_restore_in_process_is_equal_and_recorded(loop: Path) -> None:
    done = cli("check", str(loop), "--schedule", "at:100,200,300", "--restore-in", "process")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EQUAL" in done.stdout and "3 hop(s) between processes" in done.stdout
    assert "--restore-in process" in done.stdout.split("replay:", 1)[1].splitlines()[0]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_restore_configs_stay_equal(loop: Path, capsys: pytest.CaptureFixture[str], seed: int) -> None:
    """A sample of drawn restore configurations, in process and across processes."""
    place = "process" if seed % 2 else "here"
    assert main(["check", str(loop), "--schedule", "random:3", "--seed", str(seed), "--restore-in", place,
                 "--restore-config", "random"]) == 0
    out = capsys.readouterr().out
    drawn = out.split("--restore-config ", 1)[1].split()[0]  # recorded concretely on the replay line
    assert drawn.startswith("opt=") and "random" not in drawn


@pytest.mark.parametrize("name, place", [("wasi-format", "process:artifact"), ("wasi-files", "here"),
                                         ("table-mutation-across-suspension", "here")])
def test_corpus_programs_stay_equal_restored_elsewhere_under_random_configs(name: str, place: str) -> None:
    """WASI programs (descriptors, files, stdout travel in the host state) and tables, restored under drawn
    configurations (a short schedule per seed: the case's own runs in the nightly replay)."""
    case = CASES[name]
    for seed in (11, 12):
        verdict = check(case.wasm(), get_engine(case.engine), seed=seed, schedule="random:2",
                        yield_points=case.yield_points, wasi=case.wasi, restore_in=place, restore_config="random")
        assert verdict.status == EQUAL and verdict.suspensions > 0, verdict.report


@pytest.mark.parametrize("flags, says", [
    (["--restore-in", "cloud"], "--restore-in 'cloud': one of here, process, process:artifact"),
    (["--restore-config", "opt=fastest"], "opt must be one of none, speed, speed_and_size"),
    (["--restore-config", "stack=64MiB"], "stack must be between 16KiB and 2MiB"),
])
def test_bad_restore_flags_are_one_line_bad_input(loop: Path, flags: list[str], says: str) -> None:
    done = cli("check", str(loop), *flags)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr


def test_a_config_the_module_cannot_compile_under_is_exit_3_with_the_reason(tmp_path: Path) -> None:
    simd = tmp_path / "simd.wat"
    simd.write_text("""(module (func (export "run") (result i32)
      (i32x4.extract_lane 1 (i32x4.splat (i32.const 7)))))""")
    done = cli("check", str(simd), "--restore-in", "process", "--restore-config", "simd=off")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "cannot restore under --restore-config" in done.stderr and "SIMD support is not enabled" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("fault, says", [
    ("foreign-module", "refused the snapshot: snapshot section MODL: snapshot belongs to another module"),
    ("drop-host-across-processes", "[output] event 0"),
])
def test_restore_elsewhere_faults_are_caught(loop: Path, fault: str, says: str) -> None:
    assert cli("check", str(loop), "--engine", f"faulty:{fault}", "--schedule", "at:100,200,300").returncode == 0
    done = cli("check", str(loop), "--engine", f"faulty:{fault}", "--schedule", "at:100,200,300",
               "--restore-in", "process")
    assert done.returncode == 1, done.stdout + done.stderr
    assert says in done.stdout and "Traceback" not in done.stdout + done.stderr


@pytest.mark.nightly  # ~25 s; the fast suite's corpus replay restores corpus/cases/restored-in-another-process there
def test_replay_a_representative_subset_restored_in_other_processes() -> None:
    sidecars = [str(CASES[name].sidecar) for name in SUBSET]
    done = cli("replay", *sidecars, "--restore-in", "process:artifact")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(SUBSET)} case(s): {len(SUBSET)} passed" in done.stdout


def test_a_case_may_require_restoring_in_another_process(tmp_path: Path) -> None:
    """A sidecar's restore_in is honoured: with a fault only a restoring process has, the case diverges."""
    case = CASES["stack-across-suspending-call"]
    source = case.sidecar.read_text()
    for suffix in (".wat", ".wasm"):
        if case.sidecar.with_suffix(suffix).is_file():
            (tmp_path / f"case{suffix}").write_bytes(case.sidecar.with_suffix(suffix).read_bytes())
    data = json.loads(source)
    data.update(engine="faulty:foreign-module", restore_in="process",
                expect={"verdict": "divergent", "facets": ["hop"]})
    (tmp_path / "case.json").write_text(json.dumps(data))
    (loaded,) = corpus.discover([tmp_path])[0]
    assert loaded.restore_in == "process"
    assert corpus.replay_case(loaded).outcome == "pass"
    data["restore_in"] = "mars"
    (tmp_path / "case.json").write_text(json.dumps(data))
    cases, errors = corpus.discover([tmp_path])
    assert cases == [] and any("'restore_in' must be one of" in e for e in errors), errors


@pytest.mark.nightly
def test_the_whole_corpus_passes_restored_in_other_processes() -> None:
    done = cli("replay", str(CORPUS), "--restore-in", "process", "--quiet", timeout=3 * 3600)
    assert done.returncode == 0, done.stdout + done.stderr
