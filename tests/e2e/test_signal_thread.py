"""`resumefuzz check --signal thread`: a control thread raises the flag of yield-point mode `flag`.

The program runs on the calling thread while a control thread sets the flag
byte at seeded random delays; every raise the program notices goes through
the full snapshot -> bytes -> fresh instance -> restore -> resume cycle.  The
verdict must still be EQUAL; each planted flag fault must be caught, and a
finding must replay deterministically from the report's replay line
(`--schedule at:...`).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

#: A long-running loop: every iteration calls a helper (mixing into memory and a global), every 8th asks
#: the host for an input, so a run lasts long enough in wall-clock time for many raises, within the fuel
#: budget, and spends part of it in wasm (raises land at loop heads too, not only after the host call).  It writes address 0 (where the flag-in-program-memory fault puts the flag).
LOOP = """
(module
  (import "host" "in_i32" (func $in (result i32)))
  (import "host" "out_i64" (func $out (param i64)))
  (memory 1)
  (global $acc (mut i64) (i64.const 7))
  (func $mix (param $i i32) (result i32)
    (local $x i32)
    (local.set $x (i32.mul (local.get $i) (i32.const 0x9e3779b1)))
    (if (i32.eqz (i32.and (local.get $i) (i32.const 7)))
      (then (local.set $x (i32.xor (local.get $x) (call $in)))))
    (i32.store (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xfffc))
      (i32.xor (local.get $x) (i32.load (i32.const 64))))
    (global.set $acc (i64.add (i64.rotl (global.get $acc) (i64.const 5)) (i64.extend_i32_u (local.get $x))))
    (local.get $x))
  (func (export "run") (result i64)
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $mix (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 150000))))
    (call $out (global.get $acc))
    (i64.extend_i32_u (local.get $sum))))
"""

_NOTE = re.compile(r"control thread: (\d+) signal\(s\) raised, (\d+) suspension\(s\) \(by yield site: ([^)]*)\)")
_REPLAY = re.compile(r"^replay:\s+(.*)$", re.MULTILINE)


def resumefuzz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resumefuzz", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signal") / "loop.wat"
    path.write_text(LOOP)
    return path


def thread_figures(report: str) -> tuple[int, int, dict[str, int]]:
    """(signals raised, suspensions, suspensions by yield-site kind) from a thread run's note."""
    match = _NOTE.search(report)
    assert match, report
    kinds = {kind: int(n) for kind, n in (part.rsplit(" ", 1) for part in match.group(3).split(", ")
                                           if part != "none")}
    return int(match.group(1)), int(match.group(2)), kinds


def test_loop_suspended_by_the_control_thread_matches_the_straight_run(loop: Path) -> None:
    done = resumefuzz("check", str(loop), "--signal", "thread", "--seed", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("resumefuzz check: EQUAL"), done.stdout
    signals, suspensions, kinds = thread_figures(done.stdout)
    assert suspensions >= 20, done.stdout
    assert signals >= suspensions  # each suspension consumed a raise of its own
    assert sum(kinds.values()) == suspensions and kinds.get("after call", 0) > 0, done.stdout
    assert "yield points: flag" in done.stdout
    assert "--signal thread" in _REPLAY.search(done.stdout).group(1)  # type: ignore[union-attr]


def test_flag_not_cleared_found_in_thread_mode_replays_from_its_schedule(loop: Path) -> None:
    done = resumefuzz("check", str(loop), "--signal", "thread", "--seed", "2", "--engine", "faulty:flag-not-cleared")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[suspensions]" in done.stdout and "suspensions" in done.stdout.splitlines()[0]
    replay = _REPLAY.search(done.stdout).group(1)  # type: ignore[union-attr]
    args = shlex.split(replay)
    assert args[:2] == ["resumefuzz", "check"] and "--signal" not in args
    assert args[args.index("--schedule") + 1].startswith("at:") and args[args.index("--yield-points") + 1] == "flag"
    again = resumefuzz(*args[1:])
    assert again.returncode == 1, again.stdout + again.stderr
    assert "[suspensions]" in again.stdout


def test_flag_in_program_memory_is_a_divergence(loop: Path) -> None:
    done = resumefuzz("check", str(loop), "--signal", "thread", "--seed", "1", "--engine",
                      "faulty:flag-in-program-memory")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "suspensions" in done.stdout.splitlines()[0]


def test_flag_at_loops_only_shows_as_a_liveness_figure(loop: Path) -> None:
    done = resumefuzz("check", str(loop), "--signal", "thread", "--seed", "5", "--engine", "faulty:flag-at-loops-only")
    assert done.returncode == 0, done.stdout + done.stderr  # no divergence can show it ...
    signals, suspensions, kinds = thread_figures(done.stdout)
    assert suspensions >= 20 and kinds.get("after call", 0) == 0 and kinds.get("loop head", 0) == suspensions
    assert "liveness: no suspension after a call" in done.stdout  # ... the figure and its note do


def test_signal_thread_needs_flag_yield_points(loop: Path) -> None:
    done = resumefuzz("check", str(loop), "--signal", "thread", "--yield-points", "loop,call")
    assert done.returncode == 2 and "--yield-points flag" in done.stderr, done.stderr
    done = resumefuzz("check", str(loop), "--signal", "thread", "--schedule", "every")
    assert done.returncode == 2 and "drop --schedule" in done.stderr, done.stderr
