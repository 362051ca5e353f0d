"""Hypothesis settings profiles registered by the project: dev, ci, nightly.

Hypothesis auto-loads its *built-in* ``ci`` profile when ``CI`` is set, which
turns the example database off; registering our own ``ci`` replaces it, so
CI keeps (and can cache) its database.  Select a profile with
``RESUMEFUZZ_PROFILE`` (default: ``ci`` when ``CI`` is set, else ``dev``).

The example database lives at ``RESUMEFUZZ_HYPOTHESIS_DB`` (default
``.hypothesis/examples``).  Set ``RESUMEFUZZ_REDIS_URL`` (e.g.
``redis://host:6379/0``, needs the ``redis`` package) to share one database
between machines through Hypothesis' ``RedisExampleDatabase``, keeping the
local directory as a read-write cache in front of it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, MultiplexedDatabase

PROFILES = ("dev", "ci", "nightly")


def example_database() -> ExampleDatabase:
    local = DirectoryBasedExampleDatabase(os.environ.get("RESUMEFUZZ_HYPOTHESIS_DB", ".hypothesis/examples"))
    url = os.environ.get("RESUMEFUZZ_REDIS_URL")
    if not url:
        return local
    import redis  # optional dependency, only for shared databases
    from hypothesis.extra.redis import RedisExampleDatabase

    return MultiplexedDatabase(local, RedisExampleDatabase(redis.Redis.from_url(url)))


def register() -> str:
    """Register the profiles and load the selected one; return its name."""
    database = example_database()
    common = dict(database=database, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=20, **common)
    settings.register_profile("ci", max_examples=40, derandomize=False, print_blob=True, **common)
    settings.register_profile("nightly", max_examples=1000, print_blob=True, **common)
    name = os.environ.get("RESUMEFUZZ_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    if name not in PROFILES:
        raise ValueError(f"RESUMEFUZZ_PROFILE must be one of {', '.join(PROFILES)}, not {name!r}")
    settings.load_profile(name)
    return name
