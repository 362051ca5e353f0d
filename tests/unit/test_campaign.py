"""`resumefuzz fuzz`: determinism, planted faults found and replayable, lost workers, kill safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resumefuzz import wasmtools
from resumefuzz.campaign import Campaign, CasePlan, CaseResult, Options, Stats, parse_engines, run_case
from resumefuzz.campaign.stats import config_cell, summary, unreached
from resumefuzz.checker import EQUAL
from resumefuzz.cli import main
from resumefuzz.engines import get_engine
from resumefuzz.minimize import Predicate

CLI = str(Path(sys.executable).with_name("resumefuzz"))
FINDING_FILES = {"module.wasm", "module.wat", "schedule.json", "engine.json", "case.json", "report.txt", "replay"}


def test_cases_are_deterministic_in_the_campaign_seed() -> None:
    options = Options(seed=11)
    assert CasePlan.make(options, 4) == CasePlan.make(options, 4)
    assert CasePlan.make(options, 4) != CasePlan.make(options, 5)
    assert CasePlan.make(Options(seed=12), 4) != CasePlan.make(options, 4)
    plan = CasePlan.make(options, 2)
    assert run_case(plan, options) == run_case(plan, options)


def test_explicit_engine_options_are_not_fuzzed() -> None:
    plans = [CasePlan.make(Options(engines=("asyncify:optimize-level=1",)), i) for i in range(6)]
    assert {p.engine for p in plans} == {"asyncify:optimize-level=1"}
    fuzzed = {CasePlan.make(Options(), i).engine for i in range(12)}
    assert len(fuzzed) > 1  # the default engine's configuration is fuzzed


def test_every_engine_given_by_bare_name_has_its_options_fuzzed_and_recorded() -> None:
    assert parse_engines("asyncify,faulty:lose-local,optimize-level=2,shrink-level=1,asyncify:buffer-pages=2") == (
        "asyncify", "faulty:lose-local,optimize-level=2,shrink-level=1", "asyncify:buffer-pages=2")
    options = Options(engines=("asyncify", "faulty:drop-output", "faulty:lose-local,optimize-level=2"))
    plans = [CasePlan.make(options, i) for i in range(30)]
    drawn = {spec: [p.engine for p in plans if p.engine.startswith(spec.split(",")[0])] for spec in options.engines}
    assert all(drawn.values())  # each case draws one of the engines
    # before: only the exact spec `asyncify` was fuzzed, `faulty:drop-output` ran with defaults only
    assert len(set(drawn["faulty:drop-output"])) > 1
    assert set(drawn["faulty:lose-local,optimize-level=2"]) == {"faulty:lose-local,optimize-level=2"}  # as given
    for plan in plans:  # the recorded spec rebuilds the engine the case ran
        assert get_engine(plan.engine).spec() == plan.engine


def test_a_campaign_over_several_engines_stops_at_its_first_finding(tmp_path: Path) -> None:
    proc = subprocess.run([CLI, "fuzz", "--generator", "structured", "--engines", "asyncify,faulty:drop-output",
                           "--cases", "8", "--seed", "1", "--stop-on-finding", "--shrink-attempts", "0",
                           "--no-progress", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["options"]["engines"] == ["asyncify", "faulty:drop-output"] and stats["options"]["stop_on_finding"]
    assert stats["divergent"] == 1 and stats["cases"] < 8  # case 4 (the first faulty one) ended it
    case = json.loads((tmp_path / "findings" / stats["findings"][0] / "case.json").read_text())
    assert case["engine"].startswith("faulty:drop-output")
    assert stats["errors"] == 0 and stats["error_messages"] == []  # the count and the messages, both kept
    by_engine: dict[str, int] = {}  # the engine rows of the configuration space, summed over generator/profile
    for key, n in stats["config_cases"].items():
        row = (config_cell(key) or ("?", ""))[0]
        if ":" not in row:
            by_engine[row] = by_engine.get(row, 0) + n
    assert sum(by_engine.values()) == stats["cases"] and set(by_engine) == {"asyncify", "faulty"}  # counted per case
    for bad in (["--engine", "asyncify", "--engines", "asyncify"], ["--engines", "asyncify,nope"]):
        refused = subprocess.run([CLI, "fuzz", *bad, "--cases", "1", "--out", str(tmp_path / "never")],
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "unknown engine 'nope'" in refused.stderr


OUTPUT_LOOP = """(module (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (local $i i32)
    (loop $l (call $out (local.get $i)) (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))))"""


def test_the_shrink_predicate_reads_the_verdict_not_the_report(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    wasm = wasmtools.parse(OUTPUT_LOOP)
    predicate = Predicate("faulty:drop-output", 0, "at:20", "all", "speed", ("output",))
    assert predicate(wasm)
    assert not Predicate("faulty:drop-output", 0, "at:20", "all", "speed", ("memory",))(wasm)  # other facets
    assert not Predicate("asyncify", 0, "at:20", "all", "speed", ("output",))(wasm)  # no divergence
    # the executable form wasm-tools shrink runs agrees, by exit status
    module = tmp_path / "m.wasm"
    module.write_bytes(wasm)
    assert subprocess.run([str(predicate.script(tmp_path)), str(module)], timeout=60).returncode == 0
    assert subprocess.run([str(Predicate("asyncify", 0, "at:20", "all", "speed", ("output",)).script(tmp_path)),
                           str(module)], timeout=60).returncode == 1
    monkeypatch.setattr("resumefuzz.checker.render", lambda *args, **kwargs: "")  # no report text at all
    assert predicate(wasm)


def test_planted_fault_is_found_minimized_and_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "camp"
    code = main(["fuzz", "--engine", "faulty:drop-output", "--cases", "6", "--seed", "1", "--out", str(out),
                 "--shrink-attempts", "3", "--no-progress"])
    assert code == 1
    findings = sorted(p for p in (out / "findings").iterdir() if not p.name.startswith("."))
    assert findings, "a planted restore fault must be found within 6 cases"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["findings"] and stats["divergent"] >= 1
    finding = findings[0]
    assert FINDING_FILES <= {p.name for p in finding.iterdir()}
    case = json.loads((finding / "case.json").read_text())
    assert case["after"]["suspensions"] <= case["before"]["suspensions"]
    assert case["after"]["suspensions"] == 1  # a drop-output fault needs exactly one restore
    # the recorded replay command reproduces the divergence
    replay = subprocess.run(["sh", str(finding / "replay"), "--quiet"], capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{Path(CLI).parent}:{os.environ['PATH']}"})
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert "DIVERGENT: output" in replay.stdout


def test_a_hanging_case_is_a_finding_not_a_dead_campaign(tmp_path: Path) -> None:
    stats = Campaign(Options(cases=2, out=tmp_path, case_timeout=0.01, progress=False)).run()
    assert stats.cases == 2 and stats.hangs == 2
    hangs = [p for p in (tmp_path / "findings").iterdir() if p.name.startswith("hang-")]
    assert len(hangs) == 2
    for finding in hangs:
        assert {"module.wasm", "case.json", "report.txt", "replay"} <= {p.name for p in finding.iterdir()}
        assert "HANG" in (finding / "report.txt").read_text()


def test_a_memory_blow_up_is_a_finding(tmp_path: Path) -> None:
    stats = Campaign(Options(cases=1, out=tmp_path, memory_limit_mb=1, progress=False)).run()
    assert stats.memory == 1 and len(stats.findings) == 1


def test_killing_the_campaign_loses_no_announced_finding(tmp_path: Path) -> None:
    out = tmp_path / "camp"
    proc = subprocess.Popen([CLI, "fuzz", "--engine", "faulty:duplicate-output", "--time", "10m", "--seed", "2",
                             "--out", str(out), "--shrink-attempts", "0", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    announced = None
    deadline = time.monotonic() + 240
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("FINDING "):
            announced = Path(line.split()[1])
            break
        if not line and proc.poll() is not None:
            break
    proc.send_signal(signal.SIGKILL)  # no chance to clean up
    proc.wait()
    assert announced is not None, "no finding announced"
    assert FINDING_FILES <= {p.name for p in announced.iterdir()}
    assert (announced / "module.wasm").read_bytes()[:4] == b"\0asm"
    json.loads((announced / "case.json").read_text())


def test_bad_campaign_usage_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--generator", "nope", "--cases", "1", "--out", "/tmp/rfz-never"]) == 2
    assert main(["fuzz", "--profile", "nope", "--cases", "1", "--out", "/tmp/rfz-never"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["fuzz", "--time", "soon"])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def _counts(stats) -> dict:  # noqa: ANN001
    return {k: v for k, v in stats.to_json().items()
            if k not in ("started", "elapsed") and "per_second" not in k and not k.endswith("_seconds")}


def test_liveness_the_campaign_exercises_what_it_claims(tmp_path: Path) -> None:
    """Over a fixed seed range: most cases suspend; some suspend with operand-stack values,
    some deeper than 3 calls, some after memory.grow (a fuzzer that fuzzes nothing is the classic bug)."""
    stats = Campaign(Options(generator="mixed", cases=12, jobs=2, seed=1, out=tmp_path, progress=False)).run()
    judged = stats.cases - stats.unsupported - stats.engine_defects
    assert judged >= 8
    assert stats.cases_suspended > judged / 2
    assert stats.stack_suspensions > 0
    assert stats.deep_suspensions > 0
    assert stats.grown_suspensions > 0


@pytest.mark.nightly
def test_the_same_seed_gives_the_same_verdicts_whatever_the_jobs(tmp_path: Path) -> None:
    """(The fast suite's cheaper check: tests/e2e/test_determinism.py.)"""
    options = dict(generator="mixed", cases=24, seed=1, progress=False)
    parallel = Campaign(Options(**options, jobs=2, out=tmp_path / "parallel")).run()
    again = Campaign(Options(**options, jobs=1, out=tmp_path / "again")).run()
    assert parallel.cases == 24 and _counts(again) == _counts(parallel)


def test_selftest_finds_planted_faults_and_nothing_with_the_correct_engine(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "selftest.json"
    code = main(["selftest", "--budget", "4s", "--faults", "drop-output", "--jobs", "2",
                 "--out", str(tmp_path / "st"), "--json", str(report)])
    rows = {r["fault"]: r for r in json.loads(report.read_text())["rows"]}
    assert rows["drop-output"]["found"] and "output" in rows["drop-output"]["facets"]
    assert not rows["(correct engine)"]["found"]
    assert "| fault | found |" in capsys.readouterr().out
    assert code == (0 if all(r["ok"] for r in rows.values()) else 1)


def test_a_worker_that_dies_before_its_first_case_is_a_crash_finding(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Sending a case to a worker that already died raised BrokenPipeError out of the campaign."""
    from resumefuzz.campaign import pool

    start = pool._Worker.__init__

    def stillborn(self, options) -> None:  # noqa: ANN001
        start(self, options)
        self.proc.kill()
        self.proc.join()

    monkeypatch.setattr(pool._Worker, "__init__", stillborn)
    stats = Campaign(Options(cases=1, out=tmp_path, progress=False)).run()
    assert stats.cases == 1 and stats.crashes == 1
    assert [p.name for p in (tmp_path / "findings").iterdir()][0].startswith("crash-")


def test_the_flag_audit_is_counted_and_a_flag_campaign_that_audited_nothing_is_warned(tmp_path: Path) -> None:
    """stats.json flag_cases, flag_audits, flag_violations (issue 15's audit as a liveness counter)."""
    options = Options(generator="structured", out=tmp_path, shrink_attempts=0)
    stats = Stats()
    for points in ("flag", "loop"):  # a prepared module with a flag memory is audited, one without is not
        result = run_case(CasePlan(0, 5, "structured", "core", "asyncify", points, "none", "none"), options)
        assert result.flag_mode == result.flag_audited == (points == "flag") and result.flag_violations == 0
        stats.add(result)
    assert (stats.flag_cases, stats.flag_audits, stats.flag_violations) == (1, 1, 0)
    assert not [line for line in unreached(stats) if "flag" in line]
    assert "flag audits: 1 of 1 case(s) in yield-point mode flag audited, 0 with a non-atomic flag access" \
        in summary(stats, tmp_path)
    stats.add(CaseResult(EQUAL, flag_mode=True, flag_audited=True, flag_violations=2))
    assert (stats.flag_audits, stats.flag_violations) == (2, 1)  # cases with a violation
    unaudited = Stats()
    unaudited.add(CaseResult(EQUAL, flag_mode=True))
    assert unreached(unaudited) == ["1 case(s) in yield-point mode flag, yet no prepared module's flag accesses "
                                    "were audited (flag_audits 0)"]
    assert "warning: 1 case(s) in yield-point mode flag" in summary(unaudited, tmp_path)
