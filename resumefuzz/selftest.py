"""Measure the harness itself: does a campaign find each planted fault, and how fast?

The faults are planted into one engine (``--engine SPEC``, default
``asyncify``): for every fault a campaign runs ``faulty:FAULT@SPEC`` until its
first finding or the budget; SPEC itself then runs for the same budget and
must find nothing (no false positives).  The campaigns run the ``mixed``
generator under the default campaign profile ``all`` (each case draws its
profile: tables, segment drops, 64-bit and multiple memories are all
reached), with every fault of ``FAULTS``.  A fault that cannot be planted into
SPEC's engine (see ``engines.faults.inapplicable``) is skipped, and its row
says why.  Like ``resumefuzz fuzz``, every campaign knows the engine defects the
regression corpus expects (``corpus/`` if present, :func:`known_defects`), so
meeting one costs a single classification instead of a minimization.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .campaign import Campaign, Options
from .files import write_atomic
from .engines import get_engine
from .engines.faults import ELSEWHERE_FAULTS, FAULTS, FLAG_FAULTS, inapplicable, planted
from .yieldpoints import FLAG

#: faults no divergence can show (a liveness figure does): reported as skipped, with why
LIVENESS_FAULTS = frozenset({"flag-at-loops-only"})

CORRECT = "(correct engine)"
DEFAULT_CORPUS = Path("corpus")


@dataclass
class Row:
    fault: str
    found: bool
    seconds: float
    cases: int
    reproducer_bytes: int | None
    suspensions: int | None
    facets: list[str]
    expected_facet: str
    engine: str  # the spec the campaign ran
    skipped: str | None = None  # why the fault was not run (it cannot be planted into the engine)

    @property
    def ok(self) -> bool:
        return self.skipped is not None or self.found != (self.fault == CORRECT)


@dataclass(frozen=True)
class Planned:
    fault: str  # a fault, or CORRECT
    spec: str  # the engine its campaign runs
    skipped: str | None  # why it does not run (the fault cannot be planted into the engine)


def plan(faults: list[str], engine: str) -> list[Planned]:
    """A campaign per fault planted into ENGINE (a spec), then ENGINE itself; every spec is checked here
    (bad input raises before anything runs)."""
    base = get_engine(engine)
    planned = []
    for fault in faults:
        spec, reason = planted(fault, engine), inapplicable(fault, base)
        if fault in LIVENESS_FAULTS:
            reason = "a liveness fault: no divergence can show it (the suspensions-by-site-kind figure does)"
        if reason is None:
            get_engine(spec)
        planned.append(Planned(fault, spec, reason))
    return [*planned, Planned(CORRECT, engine, None)]


def known_defects(corpus_root: Path | None = DEFAULT_CORPUS) -> tuple[str, ...]:
    """The engine-defect signatures the corpus at CORPUS_ROOT expects (see :func:`corpus.known_defects`)."""
    from .corpus import known_defects as expected

    return expected(corpus_root)


def campaign_options(item: Planned, *, budget: float, jobs: int, seed: int, out: Path, progress: bool = False,
                     known: tuple[str, ...] = (), modes: dict[str, Any] | None = None) -> Options:
    """The campaign ITEM runs: ``mixed`` for BUDGET seconds, stopping at the first finding of a
    fault; KNOWN engine defects (:func:`known_defects`) are classified once, never minimized.  MODES: the
    campaign options ``--signal``, ``--restore-in``, ``--restore-config`` gave (every campaign runs in them)."""
    return Options(generator="mixed", engines=(item.spec,), time_limit=budget, jobs=jobs, seed=seed,
                   out=out / item.fault.strip("()").replace(" ", "-"), progress=progress,
                   stop_on_finding=item.fault != CORRECT, shrink_attempts=10, known_defects=known,
                   **fault_mode(item.fault, modes or {}))


def fault_mode(fault: str, modes: dict[str, Any] | None = None) -> dict[str, Any]:
    """MODES (signal, restore_in, restore_config; None values left out) and what a fault needs to act at
    all: a flag fault, a module in yield-point mode flag (its schedules set the flag at their crossings, or
    a control thread does); a restore-elsewhere fault, restores in another process (``process`` unless
    MODES already restore in one)."""
    chosen = {key: value for key, value in (modes or {}).items() if value is not None}
    if fault in FLAG_FAULTS and chosen.get("signal") != "thread":
        chosen["yield_points"] = FLAG
    if fault in ELSEWHERE_FAULTS and not str(chosen.get("restore_in", "")).startswith("process"):
        chosen["restore_in"] = "process"
    return chosen


def run(planned: list[Planned], *, budget: float, jobs: int, seed: int, out: Path,
        progress: bool = False, log: object = print, corpus: Path | None = DEFAULT_CORPUS,
        modes: dict[str, Any] | None = None) -> list[Row]:
    """Run PLANNED (see :func:`plan`) in order: a row per campaign, or per skipped fault.  The
    engine defects CORPUS expects are known to every campaign (``None``: no corpus); MODES: see
    :func:`campaign_options`."""
    known = known_defects(corpus)
    rows = []
    for item in planned:
        expected = FAULTS[item.fault][1] if item.fault in FAULTS else "-"
        if item.skipped is not None:
            rows.append(Row(item.fault, False, 0.0, 0, None, None, [], expected, item.spec, item.skipped))
            log(f"skip {item.fault}: {item.skipped}")  # type: ignore[operator]
            continue
        stats = Campaign(campaign_options(item, budget=budget, jobs=jobs, seed=seed, out=out, progress=progress,
                                          known=known, modes=modes)).run()
        first = stats.first_finding or {}
        row = Row(item.fault, bool(stats.diverged), round(first.get("seconds", stats.elapsed), 1),
                  first.get("cases", stats.cases), first.get("module_bytes"), first.get("suspensions"),
                  first.get("facets", []), expected, item.spec)
        rows.append(row)
        outcome = "found" if row.found else "nothing found"
        log(f"{'ok  ' if row.ok else 'FAIL'} {item.fault}: {outcome} after {row.seconds}s, "  # type: ignore[operator]
            f"{row.cases} case(s)")
    return rows


def measured(rows: list[Row]) -> str:
    """The engine ROWS measure (the spec the correct-engine row ran)."""
    return next(r.engine for r in rows if r.fault == CORRECT)


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table, headed by the engine they measure."""
    engine = measured(rows)
    lines = [f"engine: {engine} (faults planted as {planted('FAULT', engine)})", "",
             "| fault | found | time to first detection | cases | reproducer (bytes, suspensions) | facets reported |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        found = ("no finding (correct)" if not r.found else "**false positive**") if r.fault == CORRECT else \
            f"skipped: {r.skipped}" if r.skipped else ("yes" if r.found else "**missed**")
        size = f"{r.reproducer_bytes} B, {r.suspensions}" if r.reproducer_bytes is not None else "–"
        seconds, cases = ("–", "–") if r.skipped else (f"{r.seconds:.1f} s", r.cases)
        lines.append(f"| {r.fault} | {found} | {seconds} | {cases} | {size} | {', '.join(r.facets) or '–'} |")
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], budget: float) -> None:
    write_atomic(path, json.dumps({"budget_seconds": budget, "engine": measured(rows),
                                   "rows": [{**asdict(r), "ok": r.ok} for r in rows]}, indent=2) + "\n")
