"""One Hypothesis example database shared through a real redis-server.

The server is Debian's ``redis-server``, started on a free loopback port for this module and stopped
after it.  Two "machines" are two processes with their own local example directories: what the first
saves while fuzzing the ``transparent`` property, the second replays (``resumefuzz replay --example-db``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from resumefuzz.errors import BadInput
from resumefuzz.fuzz import settings as profiles

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    server = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                profiles.example_database(f"redis://127.0.0.1:{port}/15", timeout=0.5)
                break
            except BadInput:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not come up on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _env(local: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "RESUMEFUZZ_"))}
    return {**env, "RESUMEFUZZ_HYPOTHESIS_DB": str(local), **extra}


#: "Machine 1": what fuzz/structured_fuzzer.py does with one atheris input (without the half minute
#: atheris spends instrumenting imports): load the profile with the shared database, feed the bytes to
#: the property.  Random bytes of this length draw a program with outputs, which the fault drops.
MACHINE_1 = """
import random, sys
from resumefuzz.fuzz import settings
settings.register(sys.argv[1])
from resumefuzz.fuzz.properties import transparent
try:
    transparent.hypothesis.fuzz_one_input(random.Random(1).randbytes(4096))
except AssertionError as exc:
    sys.exit(str(exc).splitlines()[0])
"""


def test_a_finding_saved_on_one_machine_is_replayed_on_another(redis_url: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    shared = f"{redis_url}/1"
    one = subprocess.run([sys.executable, "-c", MACHINE_1, shared], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env=_env(tmp_path / "one", RESUMEFUZZ_ENGINE="faulty:drop-output"))
    assert "DIVERGENT: output" in one.stderr, one.stderr[-2000:]
    assert list((tmp_path / "one").iterdir()), "machine 1 keeps its own copy too"

    empty = tmp_path / "corpus"
    empty.mkdir()
    two = subprocess.run([sys.executable, "-m", "resumefuzz.cli", "replay", str(empty), "--example-db", shared],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=_env(tmp_path / "two", RESUMEFUZZ_ENGINE="faulty:drop-output"))
    assert two.returncode == 1, two.stdout[-2000:] + two.stderr[-2000:]
    assert "REGRESSED   example database: a saved structured example of 1 fails" in two.stdout
    assert "DIVERGENT: output" in two.stdout and "Traceback" not in two.stderr

    # controls, in this process: the example came through Redis, and the engine decides the outcome
    monkeypatch.setenv("RESUMEFUZZ_ENGINE", "faulty:drop-output")
    assert profiles.replay_examples(profiles.example_database("", tmp_path / "three")) == (0, None)
    assert profiles.replay_examples(profiles.example_database(f"{redis_url}/2", tmp_path / "three")) == (0, None)
    monkeypatch.setenv("RESUMEFUZZ_ENGINE", "asyncify")
    assert profiles.replay_examples(profiles.example_database(shared, tmp_path / "four",
                                                              read_only_shared=True)) == (1, None)
    # a replay reads the shared side only: the example that passed here stays for the other machines
    import redis

    assert len(redis.Redis.from_url(shared).keys(profiles.KEY_PREFIX + b"*")) == 1


def test_profiles_write_to_both_sides_and_read_the_union(redis_url: str, tmp_path: Path) -> None:
    url = f"{redis_url}/3"
    one, two = profiles.example_database(url, tmp_path / "one"), profiles.example_database(url, tmp_path / "two")
    one.save(b"key", b"from one")
    assert set(two.fetch(b"key")) == {b"from one"}
    assert set(profiles.example_database("", tmp_path / "one").fetch(b"key")) == {b"from one"}  # local copy
    assert set(profiles.example_database("", tmp_path / "two").fetch(b"key")) == set()
    read_only = profiles.example_database(url, tmp_path / "three", read_only_shared=True)
    read_only.save(b"key", b"from three")
    read_only.delete(b"key", b"from one")
    assert set(two.fetch(b"key")) == {b"from one"}


def test_the_url_comes_from_the_environment_when_not_given(redis_url: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESUMEFUZZ_REDIS_URL", f"{redis_url}/4")
    profiles.example_database(None, tmp_path / "one").save(b"k", b"v")
    monkeypatch.delenv("RESUMEFUZZ_REDIS_URL")
    assert set(profiles.example_database(f"{redis_url}/4", tmp_path / "two").fetch(b"k")) == {b"v"}
    assert set(profiles.example_database(None, tmp_path / "two").fetch(b"k")) == set()


@pytest.mark.parametrize("url, message", [
    ("http://host:6379", "not a Redis URL"),
    ("redis://host:port", "not a Redis URL"),
    ("redis://127.0.0.1:99999", "not a Redis URL"),
])
def test_a_bad_url_is_bad_input(url: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=message):
        profiles.example_database(url, tmp_path)


def test_a_server_that_never_answers_fails_within_the_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(BadInput, match="no Redis server answers there"):
            profiles.example_database(f"redis://127.0.0.1:{port}/0", tmp_path, timeout=0.5)
        assert time.monotonic() - started < 3


def test_the_cli_reports_an_unreachable_server_in_one_line(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    result = subprocess.run([sys.executable, "-m", "resumefuzz.cli", "replay", str(tmp_path), "--example-db",
                             f"redis://127.0.0.1:{port}/0"], capture_output=True, text=True, timeout=60,
                            env=_env(tmp_path / "db"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no Redis server answers there" in result.stderr, result.stderr
    assert result.stdout == "", "found before any case runs"


@pytest.mark.nightly
def test_the_atheris_target_shares_its_failures_through_the_flag(redis_url: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """fuzz/structured_fuzzer.py itself (atheris, half a minute of instrumented imports): --example-db."""
    shared, crash = f"{redis_url}/5", tmp_path / "input"
    crash.write_bytes(__import__("random").Random(1).randbytes(4096))  # MACHINE_1's input
    target = Path(__file__).resolve().parents[2] / "fuzz" / "structured_fuzzer.py"
    one = subprocess.run([sys.executable, str(target), "--example-db", shared, str(crash)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600,
                         env=_env(tmp_path / "one", RESUMEFUZZ_ENGINE="faulty:drop-output"))
    assert one.returncode != 0 and "DIVERGENT: output" in one.stdout + one.stderr, one.stderr[-2000:]
    monkeypatch.setenv("RESUMEFUZZ_ENGINE", "faulty:drop-output")
    saved, failure = profiles.replay_examples(profiles.example_database(shared, tmp_path / "two",
                                                                        read_only_shared=True))
    assert saved == 1 and failure is not None and "DIVERGENT: output" in failure
