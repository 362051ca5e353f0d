"""Shared test set-up: the project's Hypothesis profiles, registered (and the selected one loaded)
before any test is collected.

A set-up that cannot be used (``RESUMEFUZZ_REDIS_URL`` naming a Redis server that does not answer,
an unknown ``RESUMEFUZZ_PROFILE``) is a usage error: one line, pytest's exit code 4, no test run
(tests/unit/test_test_setup.py).
"""

import pytest

from resumefuzz.errors import BadInput
from resumefuzz.fuzz import settings as hypothesis_profiles


def pytest_configure(config: pytest.Config) -> None:
    try:
        hypothesis_profiles.register()
    except BadInput as exc:
        raise pytest.UsageError(f"resumefuzz tests: the Hypothesis set-up (RESUMEFUZZ_PROFILE, RESUMEFUZZ_REDIS_URL) "
                                f"is not usable: {exc}") from None
