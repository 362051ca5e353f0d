"""An engine package written only from the README works as a user runs resumefuzz (issue 11).

The package is the README's own: the Python block and the entry point of
"Adding an engine" are written out as ``my_package`` with a dist-info, put
on ``PYTHONPATH`` (what ``pip install`` does), and the engine is then used
with ``check``, ``fuzz`` (its options drawn from its ``option_space``),
``selftest`` (faults planted into it) and a finding's ``replay``.  If the
README's example stops working, this fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("resumefuzz"))
ENGINE = "my-engine"
SEED = "3"

OUTPUTS = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (local $i i32)
    (loop $l
      (call $out (i32.mul (local.get $i) (i32.const 0x1111)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))))"""


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"### {title}\n")
    return text[start:text.index("\n### ", start + 1)]


def _block(section: str, language: str, containing: str) -> str:
    return next(b for b in re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL) if containing in b)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's engine package, installed: its module and a dist-info naming its entry point."""
    section = _readme_section("Adding an engine")
    entry_points = tomllib.loads(_block(section, "toml", "resumefuzz.engines"))["project"]["entry-points"]
    value = entry_points["resumefuzz.engines"][ENGINE]  # "my_package.engine:MyEngine"
    code = _block(section, "python", "(Engine):")
    site = tmp_path_factory.mktemp("site")
    module = site.joinpath(*value.partition(":")[0].split(".")).with_suffix(".py")
    module.parent.mkdir(parents=True)
    (module.parent / "__init__.py").write_text("")
    module.write_text(code)
    info = site / "my_package-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-package\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[resumefuzz.engines]\n{ENGINE} = {value}\n")
    return site


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The package importable in this process too (for the campaign's own plan of each case)."""
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [n for n in sys.modules if n == "my_package" or n.startswith("my_package.")]:
        del sys.modules[name]


def _run(site: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env)


def _options(spec: str, name: str) -> dict[str, Any]:
    """The options SPEC (``NAME[:k=v,...]``, or ``faulty:drop-output@NAME[,k=v,...]``) gives, as config keys."""
    options = re.fullmatch(rf"(?:{re.escape(name)}:?|faulty:drop-output@{re.escape(name)},?)(.*)", spec)
    assert options, spec
    return {k.replace("-", "_"): json.loads(v) for k, _, v in
            (item.partition("=") for item in filter(None, options[1].split(",")))}


def _drawn_from_the_option_space(specs: list[str], name: str) -> None:
    from resumefuzz.engines import engine_class

    space = engine_class(name).option_space
    drawn = [_options(spec, name) for spec in specs]
    assert all(value in space[key] for options in drawn for key, value in options.items()), specs
    assert any(drawn), f"every case ran the defaults: {specs}"


def test_check_and_the_engine_contract(site: Path, tmp_path: Path) -> None:
    module = tmp_path / "p.wat"
    module.write_text(OUTPUTS)
    for spec in (ENGINE, f"{ENGINE}:optimize-level=2,buffer-pages=1"):
        proc = _run(site, CLI, "check", str(module), "--engine", spec)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.startswith("resumefuzz check: EQUAL") and f'"engine":"{ENGINE}"' in proc.stdout
    contract = _run(site, sys.executable, "-c",
                    f"from resumefuzz.testing import smoke_test_engine; smoke_test_engine({ENGINE!r})")
    assert contract.returncode == 0, contract.stderr
    # the transform faults are planted in Asyncify's own transform: an engine with its own transform refuses them
    for fault in ("uninstrumented-import", "wrong-list"):
        refused = _run(site, CLI, "check", str(module), "--engine", f"faulty:{fault}@{ENGINE}")
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert "planted in Binaryen's Asyncify transform, which engine my-engine does not use" in refused.stderr


def test_fuzz_draws_the_options_of_its_option_space(installed: Path, tmp_path: Path) -> None:
    from resumefuzz.campaign import CasePlan, Options

    out = tmp_path / "camp"
    proc = _run(installed, CLI, "fuzz", "--engine", ENGINE, "--generator", "structured", "--cases", "2", "--seed", SEED,
                "--no-progress", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["cases"] == 2 and stats["equal"] >= 1 and stats["suspensions"] > 0
    # each case's recorded spec is the engine with options drawn from its option space
    plans = [CasePlan.make(Options(generator="structured", engines=(ENGINE,), seed=int(SEED)), i) for i in range(4)]
    _drawn_from_the_option_space([p.engine for p in plans], ENGINE)


def test_a_finding_with_a_fault_planted_into_it_replays(installed: Path, tmp_path: Path) -> None:
    from resumefuzz.campaign import CasePlan, Options
    from resumefuzz.campaign.findings import ENGINE_REJECTS_VALID

    faulty = f"faulty:drop-output@{ENGINE}"
    out = tmp_path / "camp"
    proc = _run(installed, CLI, "fuzz", "--engine", faulty, "--generator", "mixed", "--cases", "3", "--seed", SEED,
                "--shrink-attempts", "0", "--no-progress", "--out", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    findings = sorted(p for p in (out / "findings").iterdir() if not p.name.startswith("."))
    cases = {f: json.loads((f / "case.json").read_text()) for f in findings}
    options = Options(generator="mixed", engines=(faulty,), seed=int(SEED))
    assert all(c["engine"] == CasePlan.make(options, c["index"]).engine for c in cases.values())  # as planned
    _drawn_from_the_option_space([CasePlan.make(options, i).engine for i in range(3)], ENGINE)
    # the planted fault's findings; a case may also find a real Binaryen defect (an engine-rejects-valid
    # finding: the engine wraps the default release, e.g. 132's if-branch-target reader defect)
    divergent = [f for f, c in cases.items() if c.get("kind") != ENGINE_REJECTS_VALID]
    assert divergent and all("output" in cases[f]["facets"] for f in divergent), cases
    finding = divergent[0]
    spec = cases[finding]["engine"]
    assert json.loads((finding / "engine.json").read_text())["engine"] == spec
    assert f"--engine {spec}" in (finding / "replay").read_text()
    assert '"base":"my-engine"' in (finding / "report.txt").read_text()
    replay = _run(installed, str(finding / "replay"), "--quiet")
    assert replay.returncode == 1 and "DIVERGENT: output" in replay.stdout, replay.stdout + replay.stderr


@pytest.mark.nightly
def test_selftest_plants_the_faults_into_it(installed: Path, tmp_path: Path) -> None:
    from resumefuzz import selftest
    from resumefuzz.engines.faults import FAULTS, TRANSFORM_FAULTS

    report = tmp_path / "selftest.json"
    proc = _run(installed, CLI, "selftest", "--engine", ENGINE, "--faults", "drop-output", "--budget", "10s",
                "--jobs", "2", "--out", str(tmp_path / "st"), "--json", str(report), timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"engine: {ENGINE} (faults planted as faulty:FAULT@{ENGINE})" in proc.stdout
    data = json.loads(report.read_text())
    rows = {r["fault"]: r for r in data["rows"]}
    assert data["engine"] == ENGINE
    assert rows["drop-output"]["found"] and "output" in rows["drop-output"]["facets"]
    assert rows["drop-output"]["engine"] == f"faulty:drop-output@{ENGINE}"
    correct = rows[selftest.CORRECT]
    assert not correct["found"] and correct["engine"] == ENGINE and correct["cases"] > 0
    # every fault but the transform faults can be planted into it; those are skipped rows, not failures
    skipped = {p.fault: p.skipped for p in selftest.plan(list(FAULTS), ENGINE) if p.skipped}
    from resumefuzz.selftest import LIVENESS_FAULTS

    assert set(skipped) == TRANSFORM_FAULTS | LIVENESS_FAULTS, skipped
    assert all("Asyncify transform" in skipped[f] for f in TRANSFORM_FAULTS), skipped
