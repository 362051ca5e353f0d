"""tests/conftest.py: the Hypothesis set-up it registers, and an unusable one ending pytest in one line
(a dead Redis server behind RESUMEFUZZ_REDIS_URL, an unknown RESUMEFUZZ_PROFILE), never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__)


def test_the_selected_profile_is_loaded() -> None:
    """The probe the subprocesses below run: the conftest loaded the profile RESUMEFUZZ_PROFILE names."""
    from hypothesis import settings

    name = os.environ.get("RESUMEFUZZ_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    assert settings().max_examples == settings.get_profile(name).max_examples  # as fuzz/settings.py registers it


def _dead_port() -> int:
    with socket.socket() as s:  # a port just free on this machine: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pytest(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("RESUMEFUZZ_REDIS_URL", "RESUMEFUZZ_PROFILE")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"{HERE}::test_the_selected_profile_is_loaded"], env={**environment, **env},
                          capture_output=True, text=True, timeout=120, cwd=HERE.parents[2])


@pytest.mark.parametrize("env, message", [
    ({"RESUMEFUZZ_REDIS_URL": "redis://127.0.0.1:{port}/0"}, "no Redis server answers there"),
    ({"RESUMEFUZZ_PROFILE": "weekly"}, "RESUMEFUZZ_PROFILE must be one of dev, ci, nightly"),
])
def test_an_unusable_setup_ends_pytest_in_one_line(env: dict[str, str], message: str) -> None:
    proc = _pytest(**{k: v.format(port=_dead_port()) for k, v in env.items()})
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and "passed" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: resumefuzz tests: ") and message in lines[0], proc.stderr


def test_a_usable_setup_runs_the_tests_with_the_profile() -> None:
    proc = _pytest(RESUMEFUZZ_PROFILE="nightly")
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
