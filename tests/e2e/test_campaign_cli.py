"""`resumefuzz fuzz` as a user runs it: honest exit codes, one campaign per --out, bounded
time, clean interrupts, workers that never outlive the campaign (issue 10)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resumefuzz.campaign import EXIT_DIVERGED, EXIT_UNEXERCISED, Campaign, CasePlan, Options, Stats, gate, run_case
from resumefuzz.campaign.pool import OutputLock

CLI = str(Path(sys.executable).with_name("resumefuzz"))


def _fuzz(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "fuzz", "--no-progress", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


# -- the gate: a campaign that fuzzed nothing fails, a known divergence is still a divergence -----------


def test_gate_fails_a_campaign_that_judged_nothing_or_too_little() -> None:
    options = Options(cases=10)
    assert gate(Stats(cases=10, unsupported=10), options)[0] == EXIT_UNEXERCISED
    assert gate(Stats(cases=10, engine_errors=10), options)[0] == EXIT_UNEXERCISED
    assert gate(Stats(cases=10, equal=4, unsupported=6, suspensions=50), options)[0] == EXIT_UNEXERCISED
    assert gate(Stats(cases=10, equal=10, suspensions=0), options)[0] == EXIT_UNEXERCISED
    assert gate(Stats(), options)[0] == EXIT_UNEXERCISED
    assert gate(Stats(cases=10, equal=6, unsupported=4, suspensions=50), options) == (0, None)
    # thresholds are the user's to set
    assert gate(Stats(cases=10, equal=4, unsupported=6, suspensions=50), Options(max_unjudged=0.7))[0] == 0
    assert gate(Stats(cases=10, equal=10, suspensions=5), Options(min_suspensions=6))[0] == EXIT_UNEXERCISED


def test_gate_counts_known_divergences() -> None:
    code, reason = gate(Stats(cases=3, equal=2, divergent=1, duplicates=1, known=["output-x"], suspensions=9),
                        Options())
    assert code == EXIT_DIVERGED and "already recorded" in (reason or "")
    assert gate(Stats(cases=1, hangs=1), Options())[0] == EXIT_DIVERGED


def test_an_engine_that_fails_on_every_module_fails_the_campaign(tmp_path: Path) -> None:
    proc = _fuzz("--engine", "asyncify-compatible:false {in} {out}", "--cases", "4", "--out", str(tmp_path))
    assert proc.returncode == EXIT_UNEXERCISED, proc.stdout + proc.stderr
    assert "exercised too little" in proc.stderr and "Traceback" not in proc.stderr
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["exit_code"] == EXIT_UNEXERCISED and stats["equal"] == 0 and stats["suspensions"] == 0


def test_a_rerun_that_finds_only_known_divergences_exits_1(tmp_path: Path) -> None:
    args = ("--engine", "faulty:drop-output", "--cases", "1", "--seed", "0", "--shrink-attempts", "0",
            "--out", str(tmp_path))
    first = _fuzz(*args)
    assert first.returncode == 1, first.stdout + first.stderr
    again = _fuzz(*args)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "0 new, 1 already recorded" in again.stdout
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["findings"] == [] and len(stats["known"]) == 1
    assert stats["first_finding"]["new"] is False and stats["first_finding"]["signature"] == stats["known"][0]
    # options keep their JSON types
    assert stats["options"]["cases"] == 1 and stats["options"]["progress"] is False
    assert stats["options"]["out"] == str(tmp_path)


# -- one campaign per output directory; sane --jobs ----------------------------------------------------


def test_a_second_campaign_on_the_same_out_refuses(tmp_path: Path) -> None:
    held = OutputLock(tmp_path)
    try:
        proc = _fuzz("--cases", "1", "--out", str(tmp_path), timeout=60)
    finally:
        held.release()
    assert proc.returncode == 2
    assert "another campaign" in proc.stderr and str(os.getpid()) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "stats.json").exists()


def test_jobs_beyond_a_sane_multiple_of_cores_is_bad_usage(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _fuzz("--jobs", "1000", "--time", "5s", "--out", str(tmp_path), timeout=60)
    assert proc.returncode == 2 and "--jobs must be between 1 and" in proc.stderr
    assert time.monotonic() - started < 30  # refused before any worker starts (loose bound, not a benchmark)


# -- the time budget bounds minimization too -----------------------------------------------------------


def test_a_finding_past_the_deadline_is_written_unminimized_and_says_so(tmp_path: Path) -> None:
    options = Options(generator="smith", engines=("faulty:drop-output",), seed=0, out=tmp_path, shrink_attempts=40)
    plan = CasePlan.make(options, 0)
    result = run_case(plan, options, deadline=time.time() - 1)  # the budget is already spent
    assert result.status == "divergent"
    finding = result.finding
    assert finding is not None and finding.minimization_cut is True
    assert finding.after.module_bytes == finding.before.module_bytes  # not shrunk
    folder = tmp_path / "findings" / finding.signature
    case = json.loads((folder / "case.json").read_text())
    assert case["minimization"].startswith("cut short")
    assert "cut short" in (folder / "report.txt").read_text()
    replay = subprocess.run([str(folder / "replay"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1


def test_time_bounds_the_whole_campaign_including_minimization(tmp_path: Path) -> None:
    # Before: a 20 s campaign took 158 s (minimization ran on with 40 shrink attempts).
    started = time.monotonic()
    proc = _fuzz("--engine", "faulty:drop-output", "--time", "8s", "--jobs", "1", "--out", str(tmp_path),
                 "--shrink-attempts", "40", timeout=300)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert took < 8 + 25, f"an 8 s campaign took {took:.0f} s"  # start-up + the write grace, generously


# -- interrupts and parent death -----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_campaign(out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([CLI, "fuzz", "--no-progress", "--time", "5m", "--jobs", "2", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out / "stats.json").exists():  # written once cases are flowing
        time.sleep(0.2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([c for c in _children(proc.pid) if _alive(c)]) < 2:
        time.sleep(0.2)
    return proc


def test_ctrl_c_stops_within_seconds_with_a_summary_and_complete_stats(tmp_path: Path) -> None:
    proc = _start_campaign(tmp_path)
    time.sleep(3)
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 10
    assert proc.returncode == 130
    assert "interrupted" in stdout and "verdict: exit 130" in stdout
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 2, stderr
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["interrupted"] is True and stats["cases"] >= 0


def test_workers_and_their_children_die_with_the_campaign(tmp_path: Path) -> None:
    proc = _start_campaign(tmp_path)
    workers = [c for c in _children(proc.pid) if _alive(c)]
    descendants = workers + [g for w in workers for g in _children(w)]
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)  # no chance to clean up
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in descendants):
        time.sleep(0.1)
    survivors = [p for p in descendants if _alive(p)]
    for pid in survivors:  # don't leave them behind for the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"outlived the campaign: {survivors}"


# -- replay scripts work without the venv on PATH --------------------------------------------------------


def test_a_findings_replay_script_runs_without_the_cli_on_path(tmp_path: Path) -> None:
    stats = Campaign(Options(engines=("faulty:drop-output",), cases=1, seed=0, out=tmp_path, shrink_attempts=0,
                             progress=False)).run()
    assert stats.findings
    replay = tmp_path / "findings" / stats.findings[0] / "replay"
    proc = subprocess.run([str(replay), "--quiet"], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "DIVERGENT" in proc.stdout


@pytest.mark.parametrize("flag", [["--shrink-attempts", "-1"], ["--max-unjudged", "1.5"], ["--min-suspensions", "x"]])
def test_bad_campaign_flags_are_exit_2(tmp_path: Path, flag: list[str]) -> None:
    proc = _fuzz(*flag, "--cases", "1", "--out", str(tmp_path), timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_hanging_transform_is_a_hang_finding_in_campaigns(tmp_path: Path) -> None:
    marker = f"rfz-hang-{os.getpid()}"
    proc = _fuzz("--engine", f"asyncify-compatible:sh -c 'sleep 600; : {marker}' {{in}} {{out}}",
                 "--transform-timeout", "1s", "--cases", "1", "--generator", "structured", "--out", str(tmp_path),
                 timeout=120)
    assert proc.returncode == EXIT_DIVERGED, proc.stdout + proc.stderr
    hangs = [p for p in (tmp_path / "findings").iterdir() if p.name.startswith("hang-")]
    assert len(hangs) == 1 and "did not finish within 1s" in (hangs[0] / "report.txt").read_text()
    assert (hangs[0] / "replay").is_file()
    leftover = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "the transform's process group must be gone"
