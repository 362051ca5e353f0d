"""The regression corpus: every case replays as expected; the tooling rejects malformed entries."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from resumefuzz import corpus
from resumefuzz.cli import main
from resumefuzz.engines.faults import FAULTS

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CASES, MALFORMED = corpus.discover([CORPUS])


def test_the_corpus_is_well_formed() -> None:
    assert MALFORMED == []
    assert corpus.validate_modules(CASES) == []
    assert len(CASES) >= 25


def test_every_c_program_is_a_case_and_csmith_is_represented() -> None:
    """Each hand-written C workload (corpus/programs) is compiled and judged by a case; at least one
    Csmith program is kept as its module with its C source beside it."""
    programs = {p.resolve() for p in (CORPUS / "programs").glob("*.c")}
    assert programs and {c.module.resolve() for c in CASES if c.compiled} >= programs
    kept = [c for c in CASES if c.compiled_from is not None and "csmith" in c.origin]
    assert kept and all(c.module.suffix == ".wasm" and c.wasi is not None for c in kept)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_replays_as_expected(case: corpus.Case) -> None:
    result = corpus.replay_case(case)
    assert result.outcome == "pass", result.detail
    if case.wasi is not None or case.compiled:  # a WASI program's case must really suspend it
        assert re.search(r"\(([1-9]\d*) suspensions\)", result.detail), result.detail


def test_every_planted_fault_is_caught_by_some_case() -> None:
    """(A liveness fault cannot be caught: no divergence shows it, a liveness figure does.)"""
    from resumefuzz.selftest import LIVENESS_FAULTS

    caught = {fault for case in CASES for fault in case.catches}
    assert caught == set(FAULTS) - LIVENESS_FAULTS


def _cheapest_catchers(per_fault: int = 2) -> list[tuple[str, corpus.Case]]:
    """For each fault, the smallest modules among the cases that claim to catch it."""
    pairs = []
    for fault in sorted({f for c in CASES for f in c.catches}):
        catchers = sorted((c for c in CASES if fault in c.catches), key=lambda c: (c.module.stat().st_size, c.name))
        pairs += [(fault, c) for c in catchers[:per_fault]]
    return pairs


@pytest.mark.parametrize("fault, case", _cheapest_catchers(), ids=[f"{f}-{c.name}" for f, c in _cheapest_catchers()])
def test_each_fault_is_caught_by_its_cheapest_cases(fault: str, case: corpus.Case) -> None:
    """The fast suite: every fault against two of the cases that claim it (all pairs run nightly)."""
    result = corpus.catch_case(case, fault)
    assert result.outcome == "pass", f"{fault}: {result.detail}"


@pytest.mark.nightly
@pytest.mark.parametrize("case", [c for c in CASES if c.catches], ids=[c.name for c in CASES if c.catches])
def test_case_catches_its_faults(case: corpus.Case) -> None:
    for fault in case.catches:
        result = corpus.catch_case(case, fault)
        assert result.outcome == "pass", f"{fault}: {result.detail}"


# --- tooling ---------------------------------------------------------------

TINY = '(module (import "host" "out_i32" (func (param i32))) (func (export "f") (call 0 (i32.const 1))))'
GOOD = {"guards": "g", "origin": "hand-written", "seed": 0, "engine": "asyncify", "yield_points": "all",
        "wasmtime_opt": "speed", "schedule": "every", "expect": {"verdict": "equal"}}


def make_case(folder: Path, name: str, sidecar: object, module: str | None = TINY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if module is not None:
        (folder / f"{name}.wat").write_text(module)
    path = folder / f"{name}.json"
    path.write_text(sidecar if isinstance(sidecar, str) else json.dumps(sidecar))
    return path


@pytest.mark.parametrize("sidecar, module, message", [
    ("{not json", TINY, "not valid JSON"),
    ([1, 2], TINY, "JSON object"),
    ({**GOOD, "extra": 1}, TINY, "unknown key 'extra'"),
    ({k: v for k, v in GOOD.items() if k != "seed"}, TINY, "missing key 'seed'"),
    ({**GOOD, "seed": "zero"}, TINY, "'seed' must be a int"),
    ({**GOOD, "engine": "wasmer"}, TINY, "unknown engine"),
    ({**GOOD, "schedule": "sometimes"}, TINY, "cannot parse"),
    ({**GOOD, "expect": {"verdict": "maybe"}}, TINY, "expect.verdict"),
    ({**GOOD, "expect": {"verdict": "divergent"}}, TINY, "must name its facets"),
    ({**GOOD, "catches": ["no-such-fault"]}, TINY, "unknown fault"),
    ({**GOOD, "signal": "sometimes"}, TINY, "'signal' must be one of schedule, thread"),
    ({**GOOD, "signal": "thread"}, TINY, "'signal' thread needs yield points that poll the flag"),
    (GOOD, None, "exactly one module"),
])
def test_malformed_entries_are_named_by_path(tmp_path: Path, sidecar: object, module: str | None,
                                             message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_case(tmp_path, "case-x", sidecar, module)
    _, errors = corpus.discover([tmp_path])
    assert len(errors) == 1 and errors[0].startswith(str(path)) and message in errors[0]
    assert main(["corpus", "check", str(tmp_path)]) == 2
    assert main(["replay", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_replay_reports_regressions_and_writes_junit_and_json(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    make_case(tmp_path / "c", "equal-ok", GOOD)
    # expects a divergence that a correct engine does not show: a "silent fix" must be a regression
    make_case(tmp_path / "c", "fixed-bug", {**GOOD, "expect": {"verdict": "divergent", "facets": ["output"]}})
    junit, report = tmp_path / "r.xml", tmp_path / "r.json"
    assert main(["replay", str(tmp_path / "c"), "--junit", str(junit), "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "PASS" in out and "REGRESSION" in out and "no longer diverges" in out
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert json.loads(report.read_text())["summary"].startswith("2 case(s): 1 passed, 1 regressed")


def test_a_finding_becomes_a_case_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "camp"
    assert main(["fuzz", "--engine", "faulty:drop-output", "--cases", "4", "--seed", "1", "--out", str(out),
                 "--shrink-attempts", "0", "--no-progress"]) == 1
    finding = next(p for p in (out / "findings").iterdir() if not p.name.startswith("."))
    target = tmp_path / "corpus"
    assert main(["corpus", "add", str(finding), "--corpus", str(target)]) == 0
    assert main(["corpus", "add", str(finding), "--corpus", str(target)]) == 0
    assert "already in the corpus" in capsys.readouterr().out
    cases, errors = corpus.discover([target])
    assert errors == [] and len(cases) == 1
    assert cases[0].sidecar.parent == target / "cases"  # the corpus layout: ROOT/cases/NAME.json
    assert cases[0].expect.verdict == "divergent"
    assert corpus.replay_case(cases[0]).outcome == "pass"  # the known divergence still reproduces
    shutil.rmtree(out)


def test_adding_something_that_is_not_a_finding_is_bad_input(tmp_path: Path) -> None:
    assert main(["corpus", "add", str(tmp_path), "--corpus", str(tmp_path / "c")]) == 2


def make_finding(folder: Path, module: str = TINY, **case: object) -> Path:
    """A finding directory as `resumefuzz fuzz` writes one (the parts `corpus add` reads)."""
    from resumefuzz import wasmtools

    folder.mkdir(parents=True)
    (folder / "module.wasm").write_bytes(wasmtools.parse(module))
    (folder / "module.wat").write_text(module)
    (folder / "case.json").write_text(json.dumps({"seed": 3, "index": 1, "generator": "smith", "facets": [], **case}))
    (folder / "engine.json").write_text(json.dumps({"engine": "asyncify", "yield_points": "all",
                                                    "wasmtime_opt": "speed"}))
    (folder / "schedule.json").write_text(json.dumps({"spec": "every"}))
    return folder


def test_corpus_add_writes_into_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    finding = make_finding(tmp_path / "findings" / "f1")
    monkeypatch.chdir(tmp_path)
    assert main(["corpus", "add", str(finding), "--name", "one"]) == 0  # default --corpus corpus
    assert (tmp_path / "corpus" / "cases" / "one.json").is_file() and (tmp_path / "corpus" / "cases" / "one.wat").is_file()
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["cases"]
    # --corpus naming the cases folder itself is not nested again
    other = make_finding(tmp_path / "findings" / "f2", TINY.replace("1", "2"))
    assert main(["corpus", "add", str(other), "--corpus", "corpus/cases", "--name", "two"]) == 0
    assert (tmp_path / "corpus" / "cases" / "two.json").is_file()
    cases, errors = corpus.discover([tmp_path / "corpus"])
    assert errors == [] and sorted(c.name for c in cases) == ["one", "two"]
    assert all(corpus.replay_case(c).outcome == "pass" for c in cases)
    capsys.readouterr()
    # a name already taken by a different module is refused, not overwritten
    third = make_finding(tmp_path / "findings" / "f3", TINY.replace("1", "3"))
    assert main(["corpus", "add", str(third), "--name", "one"]) == 2
    assert "already exists" in capsys.readouterr().err
    # a finding missing a field is bad input, not a traceback
    broken = make_finding(tmp_path / "findings" / "f4", TINY.replace("1", "4"))
    (broken / "engine.json").write_text("{}")
    assert main(["corpus", "add", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resumefuzz: error: ") and "not a finding directory" in err and "Traceback" not in err


def test_corpus_add_keeps_how_a_finding_was_suspended_and_restored(tmp_path: Path) -> None:
    """A thread-mode finding (its schedule: the crossings the control thread hit) keeps signal thread, and
    restore_in/restore_config; the case replays with them (a thread run, then its at: schedule)."""
    finding = make_finding(tmp_path / "findings" / "f1", signal="thread", restore_in="process",
                           restore_config="random")
    for name in ("engine.json", "schedule.json"):
        data = json.loads((finding / name).read_text())
        data.update({"engine.json": {"yield_points": "flag"}, "schedule.json": {"spec": "at:1"}}[name])
        (finding / name).write_text(json.dumps(data))
    sidecar, added = corpus.add_finding(finding, tmp_path / "c", name="thread-finding")
    data = json.loads(sidecar.read_text())
    assert added and (data["signal"], data["restore_in"], data["restore_config"]) == ("thread", "process", "random")
    case = corpus.load_case(sidecar)
    assert (case.signal, case.yield_points, case.schedule) == ("thread", "flag", "at:1")
    result = corpus.replay_case(case)
    assert result.outcome == "pass", result.detail
    plain = make_finding(tmp_path / "findings" / "f2", TINY.replace("1", "2"), signal="schedule")
    assert "signal" not in json.loads(corpus.add_finding(plain, tmp_path / "c", name="plain")[0].read_text())


def test_replay_counts_every_entry_once_and_malformed_entries_exit_2(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "c"
    make_case(folder, "good", GOOD)
    make_case(folder, "bad-sidecar", {**GOOD, "extra": 1})
    make_case(folder, "bad-module", GOOD, module="(module (func (result i32) (i64.const 1)))")  # invalid wasm
    make_case(folder, "component", GOOD, module="(component)")  # valid, but not a core module
    (folder / "orphan.wat").write_text(TINY)  # a module without a sidecar
    report = tmp_path / "r.json"
    assert main(["replay", str(folder), "--json", str(report)]) == 2
    out = capsys.readouterr().out
    summary = "5 case(s): 1 passed, 0 regressed, 0 error(s), 4 malformed"
    assert summary in out
    assert out.count("MALFORMED") == 4 and "PASS" in out and "REGRESSION" not in out
    assert json.loads(report.read_text())["summary"] == summary
    # a regression still wins: exit 1, and the counts still add up
    make_case(folder, "fixed-bug", {**GOOD, "expect": {"verdict": "divergent", "facets": ["output"]}})
    assert main(["replay", str(folder)]) == 1
    assert "6 case(s): 1 passed, 1 regressed, 0 error(s), 4 malformed" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--junit", "--json"])
def test_replay_report_paths_are_checked_before_any_case_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              flag: str) -> None:
    make_case(tmp_path / "c", "good", GOOD)
    for target in ("/proc/x/y.xml", str(tmp_path / "c")):  # an impossible path, a directory
        assert main(["replay", str(tmp_path / "c"), flag, target]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""  # no case ran
        assert captured.err.startswith(f"resumefuzz: error: {flag} {target}: ") and captured.err.count("\n") == 1
