"""Planning: a campaign's options, and each case as a deterministic function of (campaign seed, case number).

Profiles: a campaign runs one profile of its generator (``--profile core``) or,
by default, ``all`` of them (:data:`ALL`): each case then draws one from its
seed among the profiles of the generator that makes it (a composite's member:
a member lacking a profile is never asked for it).  The drawn profile is the
case's ``CasePlan.profile``, recorded with every finding, so a finding
replays with the profile it was made with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import limits
from ..engines import draw_spec
from ..host import splitmix64

CAMPAIGN_SCHEDULE = "quick"
#: the yield points of every case of a campaign whose runs C a control thread suspends (--signal thread)
FLAG_POINTS = "flag"
_YIELD_CHOICES = ("all", "all", "entry,loop,call", "loop", "call,loop")
_WASMTIME_OPT = ("speed", "none", "speed_and_size")
_SCHEDULE_CHOICES = (CAMPAIGN_SCHEDULE,) * 3 + ("systematic",)
#: salts of a case's draws from its seed (an engine's options are salted by their names)
_ENGINE_SALT, _YIELD_SALT, _WASMTIME_SALT, _SCHEDULE_SALT, _PROFILE_SALT = 10, 6, 7, 8, 11
#: the campaign profile drawing every case's profile among its generator's (the default)
ALL = "all"


@dataclass(frozen=True)
class Options:
    generator: str = "smith"
    profile: str = ALL  # a profile of the generator, or ALL: each case draws one (see the module doc)
    #: engine specs; each case runs one (drawn when there are several), its options drawn from the
    #: engine's option space unless the spec gives options
    engines: tuple[str, ...] = ("asyncify",)
    time_limit: float | None = None
    cases: int | None = None
    jobs: int = 1
    seed: int = 0
    out: Path = Path("out/fuzz")
    case_timeout: float = 60.0
    minimize_timeout: float = 600.0
    memory_limit_mb: int = 4096
    shrink_attempts: int = 40
    progress: bool = True
    stop_on_finding: bool = False  # end the campaign at the first finding
    transform_timeout: float = limits.TRANSFORM_TIMEOUT  # an external transform command's wall-clock limit
    #: the liveness gate: a campaign that judged too little exits 3 (see `gate`)
    max_unjudged: float = 0.5  # highest share of cases not judged (unsupported, engine error, harness error)
    min_suspensions: int = 1  # fewest suspensions a campaign must perform
    #: engine-defect signatures known beforehand (the corpus expects them): one classification each,
    #: never minimized or written again (see findings.record_engine_defect)
    known_defects: tuple[str, ...] = ()
    #: how runs C are suspended (checker.SIGNALS): "schedule" (the drawn schedule's crossings) or "thread"
    #: (a control thread raises the flag; every case then uses yield-point mode ``flag``)
    signal: str = "schedule"
    #: every case's yield points (None: drawn per case, from the generator's choices); `selftest` plants the
    #: flag faults with "flag"
    yield_points: str | None = None
    #: where and under which wasmtime settings runs C restore (resumefuzz.hop: ``--restore-in``,
    #: ``--restore-config``; "random" draws a configuration from each case's seed); None: this process
    restore_in: str | None = None
    restore_config: str | None = None
    #: the Dask scheduler running the cases (``tcp://HOST:8786``), ``local`` (a LocalCluster of ``jobs``
    #: workers), or None: worker processes here (campaign/cluster.py)
    cluster: str | None = None


@dataclass(frozen=True)
class CasePlan:
    """Everything a case is, as plain data (recorded with every finding)."""

    index: int
    seed: int
    generator: str  # the generator that makes the case (a composite's member)
    profile: str  # the profile the case is made with (drawn from its seed under --profile all)
    engine: str  # the engine spec it runs, options drawn
    yield_points: str
    wasmtime_opt: str
    schedule: str
    signal: str = "schedule"  # checker.SIGNALS
    restore_in: str | None = None  # resumefuzz.hop.PLACES; None: this process
    restore_config: str | None = None  # a RestoreConfig spec or "random" (drawn from the case seed)

    @classmethod
    def make(cls, options: Options, index: int) -> "CasePlan":
        from resumefuzz.fuzz import get_generator

        seed = splitmix64(options.seed * 0x100000001 + index)

        def pick(salt: int, choices: tuple[Any, ...]) -> Any:
            return choices[splitmix64(seed ^ salt) % len(choices)]

        engines = options.engines
        engine = draw_spec(engines[0] if len(engines) == 1 else pick(_ENGINE_SALT, engines), pick)
        member = get_generator(options.generator).member(seed, None if options.profile == ALL else options.profile)
        profile = pick(_PROFILE_SALT, tuple(sorted(member.profiles))) if options.profile == ALL else options.profile
        points = FLAG_POINTS if options.signal == "thread" else options.yield_points or \
            pick(_YIELD_SALT, member.yield_points or _YIELD_CHOICES)
        return cls(index, seed, member.name, profile, engine, points, pick(_WASMTIME_SALT, _WASMTIME_OPT),
                   pick(_SCHEDULE_SALT, _SCHEDULE_CHOICES), options.signal, options.restore_in, options.restore_config)


def check_profile(options: Options) -> None:
    """BadInput unless OPTIONS' generator has its profile (ALL: unless it has none)."""
    from resumefuzz.errors import BadInput
    from resumefuzz.fuzz import get_generator

    generator = get_generator(options.generator)
    if options.profile != ALL:
        generator.check_profile(options.profile)
    elif not generator.profiles:
        raise BadInput(f"--profile {ALL}: generator {generator.name} declares no profile")


def parse_engines(text: str) -> tuple[str, ...]:
    """``--engines`` ``SPEC,SPEC,...``: an item ``key=value`` (no ``:`` before its ``=``) continues the
    spec before it, so ``asyncify,faulty:lose-local,optimize-level=2`` is two specs."""
    specs: list[str] = []
    for item in text.split(","):
        key, eq, _ = item.partition("=")
        if specs and eq and ":" not in key:
            specs[-1] += "," + item
        else:
            specs.append(item.strip())
    return tuple(specs)
