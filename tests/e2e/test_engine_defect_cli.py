"""`resumefuzz check` on a valid module the engine refuses to read: exit 5, "engine defect", the
engine's own message; what the engine documents as out of scope stays exit 3."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("resumefuzz")
RESUMEFUZZ = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "resumefuzz.cli"]

#: Binaryen 132 reads this valid module wrongly (the corpus reproducer says how)
IF_PARAM_UNREACHABLE = Path(__file__).resolve().parents[2] / "corpus" / "cases" / "binaryen-if-param-unreachable-condition.wat"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RESUMEFUZZ, *args], capture_output=True, text=True, timeout=120)


def test_a_valid_module_the_engine_rejects_is_an_engine_defect_exit_5(tmp_path: Path) -> None:
    proc = run("check", str(IF_PARAM_UNREACHABLE))
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""
    assert proc.stderr.startswith("resumefuzz: engine defect: engine asyncify rejects a valid module: ")
    assert "local.set's value type must be correct" in proc.stderr  # Binaryen's own words
    # documented in `check --help`
    assert "5 engine defect" in run("check", "--help").stdout


def test_a_documented_engine_limitation_stays_unsupported_exit_3(tmp_path: Path) -> None:
    module = tmp_path / "tail.wat"
    module.write_text('(module (func $g (result i32) i32.const 3) (func (export "f") (result i32) return_call $g))')
    proc = run("check", str(module))
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("resumefuzz: unsupported: ") and "tail calls not yet supported" in proc.stderr
