"""A composite generator: each case is made by one of several generators, picked by the seed.

``mixed`` draws a compiled C program (``csmith``) for :data:`COMPILED_SHARE` of its cases and a
wasm program (``smith`` or ``structured``, half each, drawn as before compiled programs joined)
for the rest.  The share is small because a compiled case costs much more to judge, not to make:
measured on 2 cores, a csmith case takes 0.1-0.2 s to generate and compile (zig's wasi-libc
built) but about 13 s to judge (its modules hold wasi-libc's printf: 30-60 KB before the
harness's rewrites, up to 2 MB after Asyncify with ``--yield-points all``), against about 1 s
a smith or structured case.  At 1 case in 32, compiled programs take about a quarter of a
campaign's worker time, and a 30 s two-worker ``make fuzz`` judges one or two of them.

Profiles: those both wasm members accept, plus ``c`` (csmith's).  A campaign's ``--profile P``
asks :meth:`MixedGenerator.member` for a member that has P: under a wasm profile only wasm
members make cases, under ``c`` only csmith; under ``all`` (the default) every member can.
"""

from __future__ import annotations

from resumefuzz.host import splitmix64

from .generator import GeneratedCase, Generator, Predicate
from .registry import get_generator

#: the wasm members ``mixed`` picks between (the pick is recorded: a case names the member that made it)
MEMBERS = ("smith", "structured")
#: the compiled-program member, and the share of cases it makes (out of 1024)
COMPILED = "csmith"
COMPILED_SHARE = 64
_SALT = 1  # the seed's salt of the wasm pick (the campaign's other draws use other salts)
_COMPILED_SALT = 2  # the seed's salt of the compiled-or-wasm draw


class MixedGenerator(Generator):
    """Smith and structured programs, one or the other per case, and now and then a compiled C
    program; the profiles both wasm members accept, and csmith's."""

    name = "mixed"

    def __init__(self) -> None:
        self.members = [get_generator(name) for name in MEMBERS]
        self.compiled = get_generator(COMPILED)
        common = set.intersection(*(set(m.profiles) for m in self.members))
        self.wasm_profiles = {p: frozenset().union(*(m.profiles[p] for m in self.members)) for p in sorted(common)}
        self.profiles = {**self.wasm_profiles, **self.compiled.profiles}

    def member(self, seed: int, profile: str | None = None) -> Generator:
        """The member making the case with SEED under PROFILE (None: any; the campaign then draws
        the profile among that member's)."""
        compiled_ok = profile is None or profile in self.compiled.profiles
        wasm_ok = profile is None or profile in self.wasm_profiles
        if compiled_ok and (not wasm_ok or splitmix64(seed ^ _COMPILED_SALT) % 1024 < COMPILED_SHARE):
            return self.compiled
        return self.members[splitmix64(seed ^ _SALT) % len(self.members)]

    def generate(self, seed: int, profile: str) -> GeneratedCase:
        return self.member(seed, profile).generate(seed, profile)

    def shrink(self, case: GeneratedCase, interesting: Predicate, *, deadline: float,
               attempts: int) -> GeneratedCase | None:
        return get_generator(case.generator).shrink(case, interesting, deadline=deadline, attempts=attempts)
