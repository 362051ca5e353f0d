"""`resumefuzz check` with Asyncify's list and asserts options, as a user runs it: a correct list is
EQUAL (exit 0), the planted wrong list DIVERGENT (exit 1), what Asyncify refuses exit 3 with Binaryen's
reason (not an engine defect, exit 5), a bad option value one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(sys.executable).with_name("resumefuzz")
RESUMEFUZZ = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "resumefuzz.cli"]
CASES = Path(__file__).resolve().parents[2] / "corpus" / "cases"
CHAIN = CASES / "call-chain-only-list.wat"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RESUMEFUZZ, *args], capture_output=True, text=True, timeout=300, env=dict(os.environ))


@pytest.mark.parametrize("engine, code, headline", [
    ("asyncify:asserts=true,list=only", 0, "resumefuzz check: EQUAL"),
    ("asyncify:list=propagate-add", 0, "resumefuzz check: EQUAL"),
    ("faulty:wrong-list", 1, "resumefuzz check: DIVERGENT: crossings"),
])
def test_lists_judged(engine, code, headline):
    done = run("check", str(CHAIN), "--engine", engine, "--yield-points", "call", "--schedule", "every;spread:4")
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stdout.startswith(headline), done.stdout
    assert f"--engine {engine}" in done.stdout  # the replay line keeps the options


def test_tail_call_is_unsupported_with_binaryens_reason():
    done = run("check", str(CASES / "tail-call-refused.wat"), "--engine", "asyncify:list=only")
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr == ("resumefuzz: unsupported: Binaryen Asyncify cannot transform this module: "
                           "tail calls not yet supported in asyncify\n")


def test_bad_list_value_is_one_line():
    done = run("check", str(CHAIN), "--engine", "asyncify:list=every")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "option list must be one of none, only" in done.stderr, done.stderr
