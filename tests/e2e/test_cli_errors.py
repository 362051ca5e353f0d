"""The CLI as a user meets it: bad input is one line and exit 2, engine failures exit 3, nothing is
left behind in the temporary directory, and the smallest valid modules are judged."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from resumefuzz.cli import main

_SCRIPT = Path(sys.executable).with_name("resumefuzz")  # the installed command, as a user runs it
RESUMEFUZZ = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "resumefuzz.cli"]
LOOP = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (local $i i32)
    (loop $l
      (call $out (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))))"""


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RESUMEFUZZ, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def one_line(err: str, prefix: str) -> None:
    assert err.startswith(prefix), err
    assert err.count("\n") == 1 and "Traceback" not in err, err


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    path = tmp_path / "loop.wat"
    path.write_text(LOOP)
    return path


# --- bad input: exit 2, one line, before any work ----------------------------------------------

@pytest.mark.parametrize("spec, says", [
    ("at:99999999999999999999", "numbers are at most 9223372036854775807"),  # was exit 70 (i64 overflow)
    ("at:1,,2", "cannot parse 'at:1,,2'"),  # was accepted
    ("random:100000000", "more than 10000 interrupted runs (limits.MAX_SCHEDULE_RUNS)"),  # was ~20 GB
], ids=["at-20-digits", "at-empty-item", "random-1e8"])
def test_unbounded_or_malformed_schedules_are_bad_input(loop: Path, capsys: pytest.CaptureFixture[str],
                                                        spec: str, says: str) -> None:
    assert main(["check", str(loop), "--schedule", spec]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    one_line(captured.err, "resumefuzz: error: --schedule: ")
    assert says in captured.err


def test_negative_shrink_attempts_are_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["fuzz", "--cases", "1", "--shrink-attempts", "-1", "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    one_line(capsys.readouterr().err, "resumefuzz fuzz: error: argument --shrink-attempts")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["/proc/x/y.xml", "DIR"], ids=["impossible-path", "a-directory"])
@pytest.mark.parametrize("flag", ["--junit", "--json"])
def test_replay_report_paths_are_bad_input_before_replaying(tmp_path: Path, flag: str, target: str) -> None:
    corpus = Path(__file__).resolve().parents[2] / "corpus" / "cases"
    target = str(tmp_path) if target == "DIR" else target
    proc = run("replay", str(corpus), flag, target)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""  # no case was judged
    one_line(proc.stderr, f"resumefuzz: error: {flag} {target}: ")


# --- the smallest valid modules ------------------------------------------------------------------

@pytest.mark.parametrize("name, content", [("empty.wat", b"(module)"), ("empty.wasm", b"\0asm\1\0\0\0")],
                         ids=["text", "binary"])
def test_an_empty_module_is_judged_equal(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    proc = run("check", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("resumefuzz check: EQUAL") and proc.stderr == ""
    assert "note:         nothing was suspended" in proc.stdout


# --- engine errors: exit 3, "engine error" ------------------------------------------------------

def test_a_failing_transform_command_is_an_engine_error(loop: Path) -> None:
    proc = run("check", str(loop), "--engine", "asyncify-compatible:false {in} {out}")
    assert proc.returncode == 3
    one_line(proc.stderr, "resumefuzz: engine error: engine asyncify-compatible: transform command failed (exit 1)")


# --- nothing left behind in the temporary directory ----------------------------------------------

def leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("resumefuzz-"))


def test_no_temporary_directories_are_left_behind(tmp_path: Path, loop: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    assert run("check", str(loop), "--schedule", "every", env=env).returncode == 0
    assert leftovers(tmp) == []
    engine = "asyncify-compatible:cp {in} {out}"  # runs, then is refused (no memory of its own): exit 3
    assert run("check", str(loop), "--engine", engine, env=env).returncode == 3
    assert leftovers(tmp) == []
    # a campaign: workers generate with wasm-smith (host module, profile config) and judge
    campaign = run("fuzz", "--cases", "4", "--generator", "smith", "--jobs", "1", "--no-progress",
                   "--out", str(tmp_path / "out"), env=env)
    assert campaign.returncode == 0, campaign.stdout + campaign.stderr
    # every case judged equal, or one an older Binaryen release cannot read (the release is drawn per case)
    judged = re.search(r"equal (\d) · divergent 0 · inconclusive 0 · unsupported (\d) ", campaign.stdout)
    assert judged and int(judged[1]) >= 1 and int(judged[1]) + int(judged[2]) == 4, campaign.stdout
    assert "harness errors 0" in campaign.stdout
    assert leftovers(tmp) == []
