"""The generator contract: the checks every generator must pass, built-in or plug-in.

Run it against your generator from any test suite::

    from resumefuzz.fuzz.testing import smoke_test_generator

    def test_my_generator_keeps_the_contract():
        smoke_test_generator("my-generator")

:func:`smoke_test_generator` raises ``resumefuzz.testing.ContractViolation``
(an ``AssertionError``) naming every broken clause.  For each profile it
declares and a few seeds:

* the same (seed, profile) generates the same module, recorded as made by a
  registered generator (a composite: the member its ``member(seed, profile)`` names);
* the module is valid with exactly ``wasm1`` plus the profile's declared
  features;
* the harness can judge it (imports only the host interface), and the
  correct engine (``asyncify``) never diverges on it; at least one module
  really suspends;
* shrinking with a predicate that holds for everything gives a valid module
  (or nothing), and with one that never holds gives nothing smaller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from resumefuzz.checker import DIVERGENT, check
from resumefuzz.engines import get_engine
from resumefuzz.errors import ResumefuzzError, Unsupported
from resumefuzz.testing import ContractViolation
from resumefuzz.wasmtools import WasmToolsError, validate
from resumefuzz.yieldpoints import DEFAULT as YIELD_DEFAULT

from .generator import GeneratedCase, Generator
from .registry import get_generator

#: The schedule a generated module is judged under (every crossing is a suspension candidate).
_SCHEDULE = "every:3;spread:4"
#: each of the two shrink checks stops here (a generator that shrinks by rebuilding, as csmith
#: recompiles C, may use all of it)
_SHRINK_SECONDS = 8.0


@dataclass(frozen=True)
class _Constant:
    """A shrink predicate with a fixed answer, in both forms."""

    answer: bool

    def __call__(self, wasm: bytes) -> bool:
        return self.answer

    def script(self, folder: Path) -> Path:
        path = folder / "predicate.sh"
        path.write_text(f"#!/bin/sh\nexit {0 if self.answer else 1}\n")
        path.chmod(0o755)
        return path


def smoke_test_generator(generator: str | Generator, *, seeds: range = range(2)) -> None:
    """Check GENERATOR (a registered name, or an instance) against the generator contract."""
    gen = get_generator(generator) if isinstance(generator, str) else generator
    problems = [] if gen.profiles else ["it declares no profile"]
    suspended = False
    for profile, features in sorted(gen.profiles.items()):
        for seed in seeds:
            where = f"profile {profile}, seed {seed}"
            try:
                case = gen.generate(seed, profile)
            except ResumefuzzError as exc:
                problems.append(f"{where}: generate failed: {exc}")
                continue
            found, judged = _case_problems(gen, case, seed, profile, features)
            problems += [f"{where}: {problem}" for problem in found]
            suspended = suspended or judged
        problems += [f"profile {profile}: {p}" for p in _shrink_problems(gen, gen.generate(seeds[0], profile))]
    if not suspended:
        problems.append("no generated module suspended (nothing for the harness to judge)")
    if problems:
        raise ContractViolation(f"generator {gen.name!r} breaks the generator contract:\n"
                                + "\n".join(f"  - {problem}" for problem in problems))


def _case_problems(gen: Generator, case: GeneratedCase, seed: int, profile: str,
                   features: frozenset[str]) -> tuple[list[str], bool]:
    """(broken clauses, whether the module was judged with a suspension)."""
    problems = []
    again = gen.generate(seed, profile)
    if again.wasm != case.wasm:
        problems.append("the same seed generated a different module")
    if (case.seed, case.profile) != (seed, profile):
        problems.append(f"recorded as seed {case.seed}, profile {case.profile}")
    if case.generator != gen.member(seed, profile).name:
        problems.append(f"recorded as made by {case.generator!r}, not {gen.member(seed, profile).name!r}")
    try:
        validate(case.wasm, ",".join(["wasm1", *sorted(features)]))
    except WasmToolsError as exc:
        problems.append(f"not valid with its declared features ({', '.join(sorted(features)) or 'none'}): {exc}")
    try:
        member = gen.member(seed, profile)  # judged at the yield points a campaign would draw first
        verdict = check(case.wasm, get_engine("asyncify"), seed=seed, schedule=_SCHEDULE, wasi=case.wasi,
                        yield_points=member.yield_points[0] if member.yield_points else YIELD_DEFAULT)
    except Unsupported:
        return problems, False
    except ResumefuzzError as exc:
        return problems + [f"the harness cannot judge it: {exc}"], False
    if verdict.status == DIVERGENT:
        problems.append(f"the correct engine diverged on it: {verdict.headline}")
    return problems, verdict.suspensions > 0


def _shrink_problems(gen: Generator, case: GeneratedCase) -> list[str]:
    problems = []
    deadline = time.time() + _SHRINK_SECONDS
    shrunk = gen.shrink(case, _Constant(True), deadline=deadline, attempts=2)
    if shrunk is not None:
        try:
            validate(shrunk.wasm)
        except WasmToolsError as exc:
            problems.append(f"shrinking gave an invalid module: {exc}")
    kept = gen.shrink(case, _Constant(False), deadline=deadline, attempts=2)
    if kept is not None and len(kept.wasm) < len(case.wasm):
        problems.append("shrinking kept a smaller module for which the predicate never held")
    return problems
