"""Hypothesis settings profiles (dev, ci, nightly) and the example database they share.

Hypothesis auto-loads its *built-in* ``ci`` profile when ``CI`` is set, which
turns the example database off; registering our own ``ci`` replaces it, so
CI keeps (and can cache) its database.  Select a profile with
``RESUMEFUZZ_PROFILE`` (default: ``ci`` when ``CI`` is set, else ``dev``).

The example database is where Hypothesis keeps the failing examples of the
``transparent`` property (pytest runs, and ``fuzz/structured_fuzzer.py``'s
atheris inputs) and replays them first on the next run.  It lives in the
directory ``RESUMEFUZZ_HYPOTHESIS_DB`` (default ``.hypothesis/examples``).
Given a Redis URL (``--example-db redis://host:6379/0`` where a command takes
it, else ``RESUMEFUZZ_REDIS_URL``), it is Hypothesis' documented shared set-up:
a ``MultiplexedDatabase`` of the local directory and a ``RedisExampleDatabase``,
so what any machine saves every machine replays.  ``replay_examples`` replays
them on their own (``resumefuzz replay --example-db URL``), reading the shared
side through a ``ReadOnlyDatabase``: a replay reports, it does not prune what
other machines saved.  Redis entries expire after 8 days unused (Hypothesis'
default).  A bad URL or an unreachable server is a one-line ``BadInput``,
found up front within ``CONNECT_TIMEOUT`` seconds.

The campaign generator (``structured.draw``/``shrink``) runs without a
database on purpose: a campaign case is its seed, and must draw the same
program everywhere.
"""

from __future__ import annotations

import os
import unittest
from pathlib import Path
from typing import TYPE_CHECKING

from resumefuzz.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    import redis
    from hypothesis.database import ExampleDatabase

# Hypothesis is imported where it is used, after the URL is checked: the atheris target instruments
# every import, Hypothesis' alone takes ~15 s, and a bad --example-db must not wait for it.

__all__ = ["CONNECT_TIMEOUT", "KEY_PREFIX", "PROFILES", "example_database", "pop_example_db", "register",
           "replay_examples"]

PROFILES = ("dev", "ci", "nightly")
CONNECT_TIMEOUT = 5.0  # seconds: connecting, and every command after (a dead server fails, never hangs)
KEY_PREFIX = b"resumefuzz:hypothesis-example:"  # keeps a shared server's other users out of our keys


def _connect(url: str, timeout: float) -> redis.Redis:
    """A Redis client on URL that answered a PING within TIMEOUT; BadInput otherwise."""
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a pinned dependency
        raise BadInput("--example-db: the redis package is not installed (pip install redis)") from None
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError as exc:  # scheme, port, IPv6 literal...
        raise BadInput(f"--example-db {url!r}: not a Redis URL ({exc})") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise BadInput(f"--example-db {url}: no Redis server answers there ({exc})") from None
    return client


def example_database(url: str | None = None, local: str | os.PathLike[str] | None = None, *,
                     read_only_shared: bool = False, timeout: float = CONNECT_TIMEOUT) -> ExampleDatabase:
    """The local directory database (LOCAL, default ``$RESUMEFUZZ_HYPOTHESIS_DB`` or
    ``.hypothesis/examples``), multiplexed with a shared Redis one when URL (default
    ``$RESUMEFUZZ_REDIS_URL``) is set; READ_ONLY_SHARED wraps the shared side in a
    ReadOnlyDatabase.  BadInput if URL is not usable."""
    path = Path(local if local is not None else os.environ.get("RESUMEFUZZ_HYPOTHESIS_DB", ".hypothesis/examples"))
    if path.exists() and not path.is_dir():
        raise BadInput(f"example database {path}: exists and is not a directory")
    url = url if url is not None else os.environ.get("RESUMEFUZZ_REDIS_URL", "")
    client = _connect(url, timeout) if url else None

    from hypothesis.database import DirectoryBasedExampleDatabase, MultiplexedDatabase, ReadOnlyDatabase

    directory = DirectoryBasedExampleDatabase(path)
    if client is None:
        return directory
    from hypothesis.extra.redis import RedisExampleDatabase

    shared = RedisExampleDatabase(client, key_prefix=KEY_PREFIX)
    return MultiplexedDatabase(directory, ReadOnlyDatabase(shared) if read_only_shared else shared)


def register(example_db: str | None = None) -> str:
    """Register the profiles (their database: ``example_database(example_db)``) and load the selected
    one; return its name."""
    name = os.environ.get("RESUMEFUZZ_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    if name not in PROFILES:
        raise BadInput(f"RESUMEFUZZ_PROFILE must be one of {', '.join(PROFILES)}, not {name!r}")
    database = example_database(example_db)
    from hypothesis import HealthCheck, settings

    common = dict(database=database, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=20, **common)
    settings.register_profile("ci", max_examples=40, derandomize=False, print_blob=True, **common)
    settings.register_profile("nightly", max_examples=1000, print_blob=True, **common)
    settings.load_profile(name)
    return name


def replay_examples(database: ExampleDatabase, limit: int = 1000) -> tuple[int, str | None]:
    """Replay the saved failing examples of the ``transparent`` property in DATABASE, and nothing
    else (no generation, no shrinking): (how many were saved, None if none fails else the failure's
    report).  Entries that pass are pruned from DATABASE's writable parts, as Hypothesis does."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Flaky
    from hypothesis.internal.reflection import function_digest  # the key @given files examples under

    from .properties import programs, schedule_specs, transparent

    test = transparent.hypothesis.inner_test  # a fresh @given around it: same key, settings of our own
    key = function_digest(test)
    saved = len(set(database.fetch(key)) | set(database.fetch(key + b".secondary")))  # fuzz_one_input's
    replay = settings(database=database, phases=[Phase.explicit, Phase.reuse], max_examples=limit,
                      deadline=None, suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                      print_blob=True)(given(programs(), schedule_specs())(test))
    if not saved:
        return 0, None
    try:
        replay()
    except AssertionError as exc:
        return saved, str(exc)
    except Flaky as exc:  # failed, then passed when Hypothesis re-ran it: still a finding to look at
        return saved, f"flaky: {exc}"
    except unittest.SkipTest:  # nothing ran: no saved entry decoded for these strategies
        pass
    return saved, None


def pop_example_db(argv: list[str]) -> str | None:
    """Remove ``--example-db URL`` / ``--example-db=URL`` from ARGV (an atheris target's, before
    libFuzzer sees it); return URL, or None if absent.  BadInput if URL is missing."""
    for i, arg in enumerate(argv):
        if arg == "--example-db":
            if i + 1 >= len(argv):
                raise BadInput("--example-db: expected a URL (redis://HOST:PORT/DB)")
            url = argv[i + 1]
            del argv[i : i + 2]
            return url
        if arg.startswith("--example-db="):
            del argv[i]
            return arg.split("=", 1)[1]
    return None
