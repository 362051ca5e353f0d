"""The property every generator and fuzz target checks: suspend/resume is transparent.

``transparent`` is a Hypothesis test over (structured program, schedule
spec).  It runs under pytest like any test, and atheris drives the very same
property through ``transparent.hypothesis.fuzz_one_input`` (see
``structured_fuzzer.py``), so coverage-guided and property-based fuzzing
share one definition.  The engine comes from ``RESUMEFUZZ_ENGINE`` (default
``asyncify``), so a planted fault can be fuzzed the same way.
"""

from __future__ import annotations

import os

from hypothesis import given

from resumefuzz.checker import DIVERGENT, check
from resumefuzz.engines import get_engine
from resumefuzz.errors import Unsupported

from .schedules import schedule_specs
from .structured import Program, programs


def judge_program(program: Program, schedule: str, engine: str | None = None) -> None:
    """Fail (AssertionError with the report) iff PROGRAM diverges under SCHEDULE."""
    try:
        verdict = check(program.wasm(), get_engine(engine or os.environ.get("RESUMEFUZZ_ENGINE", "asyncify")),
                        seed=1, schedule=schedule, yield_points="all")
    except Unsupported:
        return
    assert verdict.status != DIVERGENT, f"{verdict.report}\n{program.wat()}"


@given(programs(), schedule_specs())
def transparent(program: Program, schedule: str) -> None:
    judge_program(program, schedule)
