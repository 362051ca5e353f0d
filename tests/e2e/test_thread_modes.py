"""`--signal thread` together with `--restore-in process`, and `replay --signal thread` (issue 15).

With restores in other processes, each restoring process runs a control thread of its own (seeded from
the case seed and its restore number): suspensions keep hopping, every one is counted (hops, signals,
suspensions by yield site) and the crossings where they really happened are recorded, so a finding
replays from its `--schedule at:...` line, in one process or across processes.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from test_signal_thread import LOOP, thread_figures

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
_HOPS = re.compile(r"(\d+) hop\(s\) between processes")
_REPLAY = re.compile(r"^replay:\s+(.*)$", re.MULTILINE)


def resumefuzz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resumefuzz", *args], capture_output=True, text=True, timeout=900)


def _loop(tmp_path: Path, iterations: int) -> Path:
    path = tmp_path / f"loop{iterations}.wat"
    path.write_text(LOOP.replace("150000", str(iterations)))
    return path


def test_thread_suspensions_keep_hopping_between_processes(tmp_path: Path) -> None:
    done = resumefuzz("check", str(_loop(tmp_path, 10000)), "--signal", "thread", "--seed", "3",
                      "--restore-in", "process")
    assert done.returncode == 0 and "EQUAL" in done.stdout.splitlines()[0], done.stdout + done.stderr
    signals, suspensions, kinds = thread_figures(done.stdout)
    hops = int(_HOPS.search(done.stdout).group(1))  # type: ignore[union-attr]
    assert suspensions >= 1 and hops == suspensions and signals >= suspensions, done.stdout
    assert sum(kinds.values()) == suspensions
    replay = _REPLAY.search(done.stdout).group(1)  # type: ignore[union-attr]
    assert "--restore-in process" in replay and "--signal thread" in replay


def test_a_thread_mode_finding_across_processes_replays_from_its_schedule(tmp_path: Path) -> None:
    # long enough (~40 ms straight) that a loaded machine's thread wake-up latency cannot outlast the run:
    # at 10000 iterations a CI-loaded run once ended before the control thread's first raise (EQUAL)
    loop = _loop(tmp_path, 40000)
    done = resumefuzz("check", str(loop), "--signal", "thread", "--seed", "2", "--restore-in", "process",
                      "--engine", "faulty:flag-not-cleared")
    assert done.returncode == 1 and "[suspensions]" in done.stdout, done.stdout + done.stderr
    args = shlex.split(_REPLAY.search(done.stdout).group(1))  # type: ignore[union-attr]
    assert args[args.index("--schedule") + 1].startswith("at:") and "--signal" not in args
    assert args[args.index("--restore-in") + 1] == "process"
    again = resumefuzz(*args[1:])  # across processes, as found (in one process: test_signal_thread.py)
    assert again.returncode == 1 and "[suspensions]" in again.stdout, again.stdout + again.stderr


def test_replay_signal_thread_judges_cases_with_a_control_thread() -> None:
    cases = [str(CORPUS / "cases" / f"{name}.json") for name in ("flag-polled-loop", "host-input-position")]
    done = resumefuzz("replay", *cases, "--signal", "thread")
    assert done.returncode == 0 and "2 case(s): 2 passed" in done.stdout, done.stdout + done.stderr
    bad = resumefuzz("replay", cases[0], "--signal", "sometimes")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.nightly  # ~30 s: every one of its ~70 suspensions is a hop
def test_a_long_loop_suspended_20_times_by_control_threads_across_processes_matches(tmp_path: Path) -> None:
    done = resumefuzz("check", str(_loop(tmp_path, 150000)), "--signal", "thread", "--seed", "5",
                      "--restore-in", "process")
    assert done.returncode == 0, done.stdout + done.stderr
    _, suspensions, _ = thread_figures(done.stdout)
    assert suspensions >= 20 and int(_HOPS.search(done.stdout).group(1)) == suspensions  # type: ignore[union-attr]
