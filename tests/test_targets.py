"""Fuzz targets: the shared Hypothesis property, and the atheris targets over it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from resumefuzz.fuzz.properties import judge_program, transparent
from resumefuzz.fuzz.structured import draw

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"


def test_asyncify_is_transparent_on_structured_programs() -> None:
    settings(max_examples=15)(transparent)()


def test_the_property_fails_on_a_planted_fault() -> None:
    with pytest.raises(AssertionError, match="DIVERGENT: output"):
        judge_program(draw(4), "every", engine="faulty:drop-output")


def _atheris(target: str, tmp_path: Path, *flags: str, engine: str = "asyncify") -> subprocess.CompletedProcess[str]:
    # a clean environment: pytest's own variables (PYTEST_CURRENT_TEST...) change Hypothesis' behaviour
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, str(FUZZ / target), *flags], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**env, "RESUMEFUZZ_ENGINE": engine, "PYTHONHASHSEED": "0"})


def test_snapshot_decoder_target_only_ever_raises_its_documented_error(tmp_path: Path) -> None:
    result = _atheris("snapshot_fuzzer.py", tmp_path, "-runs=5000")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Done 5000 runs" in result.stderr


def test_structured_target_finds_a_planted_fault(tmp_path: Path) -> None:
    result = _atheris("structured_fuzzer.py", tmp_path, "-runs=3000", "-max_len=16384", "-len_control=0",
                      "-seed=1", engine="faulty:drop-output")
    assert result.returncode != 0
    assert re.search(r"DIVERGENT: [a-z, ]*output", result.stdout + result.stderr)
    assert list(tmp_path.glob("crash-*")), "atheris writes the failing input"


@pytest.mark.nightly
def test_smith_target_finds_a_planted_fault(tmp_path: Path) -> None:
    result = _atheris("transparency_fuzzer.py", tmp_path, "-runs=200", "-seed=1", engine="faulty:drop-output")
    assert result.returncode != 0 and re.search(r"DIVERGENT: [a-z, ]*output", result.stdout + result.stderr)
