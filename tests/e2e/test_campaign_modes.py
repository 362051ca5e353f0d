"""Campaigns in the modes of issue 15, run as a user runs them: `resumefuzz fuzz --signal thread`
(a control thread raises the flag), `--restore-in process` / `--restore-config random`; stats.json
counts suspensions per mode, hops between processes and cases per restore configuration, and a
finding made in thread mode replays deterministically from the crossings it recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ziglang")


def fuzz(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resumefuzz", "fuzz", "--no-progress", "--jobs", "2", "--out", str(out),
                           *args], capture_output=True, text=True, timeout=600)


@pytest.mark.nightly  # ~30 s; tests/e2e/test_signal_thread.py shows thread runs through `check` in the fast suite
def test_a_thread_mode_campaign_suspends_by_its_control_threads(tmp_path: Path) -> None:
    done = fuzz(tmp_path / "out", "--generator", "csmith", "--cases", "3", "--signal", "thread", "--seed", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["signals"] > 0 and stats["suspensions_by_signal"].get("thread", 0) > 0, stats
    assert "schedule" not in stats["suspensions_by_signal"]
    assert "suspended by: thread" in done.stdout


@pytest.mark.nightly  # ~40 s; tests/e2e/test_signal_thread.py shows the same for `check` in the fast suite
def test_a_fault_found_in_thread_mode_replays_from_its_recorded_crossings(tmp_path: Path) -> None:
    done = fuzz(tmp_path / "out", "--generator", "csmith", "--cases", "6", "--signal", "thread", "--seed", "1",
                "--engine", "faulty:flag-not-cleared", "--stop-on-finding", "--minimize-time", "20s")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    (finding,) = [p for p in (tmp_path / "out" / "findings").iterdir() if not p.name.startswith("engine-")][:1]
    script = (finding / "replay").read_text()
    assert "--schedule at:" in script.replace("'", "") and "--yield-points flag" in script and "--signal" not in script
    replayed = subprocess.run([str(finding / "replay")], capture_output=True, text=True, timeout=600)
    assert replayed.returncode == 1, replayed.stdout[-2000:] + replayed.stderr[-2000:]
    assert "suspensions" in replayed.stdout.splitlines()[0]


@pytest.mark.nightly  # ~45 s (a hop is a process start); tests/e2e/test_restore_elsewhere.py covers check/replay fast
def test_a_campaign_restoring_in_other_processes_counts_its_hops(tmp_path: Path) -> None:
    done = fuzz(tmp_path / "out", "--generator", "smith", "--profile", "core", "--cases", "3",
                "--restore-in", "process", "--restore-config", "random", "--seed", "4")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["hops"] > 0 and stats["hops"] == stats["suspensions_by_signal"]["schedule"], stats
    assert all(k.startswith("--restore-in process --restore-config ") for k in stats["restores_by_config"]), stats


@pytest.mark.parametrize("args, said", [
    (["--signal", "sometimes"], "invalid choice"),
    (["--restore-in", "mars"], "--restore-in 'mars'"),
    (["--restore-config", "opt=fast"], "opt"),
])
def test_a_bad_mode_flag_is_one_line_and_exit_2(tmp_path: Path, args: list[str], said: str) -> None:
    done = fuzz(tmp_path / "out", "--cases", "1", *args)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
