"""A composite generator: each case is made by one of several generators, picked by the seed."""

from __future__ import annotations

from resumefuzz.host import splitmix64

from .generator import GeneratedCase, Generator, Predicate
from .registry import get_generator

#: what ``mixed`` picks from (the pick is recorded: a case names the member that made it)
MEMBERS = ("smith", "structured")
_SALT = 1  # the seed's salt of the pick (the campaign's other draws use other salts)


class MixedGenerator(Generator):
    """Smith and structured programs, one or the other per case; the profiles both accept."""

    name = "mixed"

    def __init__(self) -> None:
        self.members = [get_generator(name) for name in MEMBERS]
        common = set.intersection(*(set(m.profiles) for m in self.members))
        self.profiles = {p: frozenset().union(*(m.profiles[p] for m in self.members)) for p in sorted(common)}

    def member(self, seed: int) -> Generator:
        return self.members[splitmix64(seed ^ _SALT) % len(self.members)]

    def generate(self, seed: int, profile: str) -> GeneratedCase:
        return self.member(seed).generate(seed, profile)

    def shrink(self, case: GeneratedCase, interesting: Predicate, *, deadline: float,
               attempts: int) -> GeneratedCase | None:
        return get_generator(case.generator).shrink(case, interesting, deadline=deadline, attempts=attempts)
