"""`--engine asyncify:version=NNN` and `check --all-versions` as a user runs them: a real
transform per Binaryen release, one row per release, exit 1 when any release diverges, a release
that is not installed is one line and exit 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from resumefuzz import binaryen

_SCRIPT = Path(sys.executable).with_name("resumefuzz")  # the installed command, as a user runs it
RESUMEFUZZ = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "resumefuzz.cli"]
INSTALLED = list(binaryen.installed_versions())
DEFAULT = binaryen.default_version()
COUNTER = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const 7))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 6))))
    (local.get $acc)))"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RESUMEFUZZ, *args], capture_output=True, text=True, timeout=300, env=os.environ.copy())


@pytest.fixture
def counter(tmp_path: Path) -> Path:
    path = tmp_path / "counter.wat"
    path.write_text(COUNTER)
    return path


@pytest.mark.parametrize("version", sorted({INSTALLED[0], DEFAULT}, key=int))
def test_check_runs_the_chosen_release(counter: Path, tmp_path: Path, version: str) -> None:
    out = tmp_path / f"out-{version}"
    done = run("check", str(counter), "--engine", f"asyncify:version={version}", "--schedule", "quick",
               "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'"version":"{version}"' in done.stdout  # the report's engine line
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["engine"]["version"] == version
    assert b"asyncify_start_unwind" in (out / "prepared-suspendable.wasm").read_bytes()


def test_all_versions_of_a_planted_fault_diverge_everywhere(counter: Path) -> None:
    done = run("check", str(counter), "--engine", "faulty:drop-output", "--schedule", "quick", "--all-versions")
    assert done.returncode == 1, done.stdout + done.stderr
    span = f"{INSTALLED[0]}..{INSTALLED[-1]}"
    assert f"Binaryen releases: divergent on {span} ({len(INSTALLED)} of {len(INSTALLED)}" in done.stdout
    rows = dict(re.findall(r"^\s+(\d+)\s+(\S+)\s+[\d.]+s\s", done.stdout, re.MULTILINE))
    assert rows == {v: "divergent" for v in INSTALLED}
    for version in INSTALLED:  # each release's replay line selects it
        assert f"--engine faulty:drop-output,version={version} " in done.stdout


def test_all_versions_of_a_correct_engine_are_equal(counter: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("check", str(counter), "--schedule", "quick", "--all-versions", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = dict(re.findall(r"^\s+(\d+)\s+(\S+)\s+[\d.]+s\s", done.stdout, re.MULTILINE))
    assert rows == {v: "equal" for v in INSTALLED}
    assert sorted(p.name for p in out.iterdir()) == sorted(f"binaryen-{v}" for v in INSTALLED)
    assert all((out / f"binaryen-{v}" / "report.txt").is_file() for v in INSTALLED)


@pytest.mark.parametrize("args, message", [
    (["--engine", "asyncify:version=7"], "option version must be an installed Binaryen release"),
    (["--engine", "asyncify-compatible:cp {in} {out}", "--all-versions"], "has no Binaryen releases"),
])
def test_a_release_that_cannot_be_chosen_is_one_line_and_exit_2(counter: Path, args: list[str], message: str) -> None:
    done = run("check", str(counter), *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr
    if "version=7" in args[1]:
        assert ", ".join(INSTALLED) in done.stderr
