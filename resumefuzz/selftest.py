"""Measure the harness itself: does a campaign find each planted fault, and how fast?

For every fault-injecting engine a campaign runs until its first finding or
the budget; the correct engine then runs for the same budget and must find
nothing (no false positives).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .campaign import Campaign, Options
from .files import write_atomic
from .engines.faults import FAULTS

CORRECT = "(correct engine)"


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

    @property
    def ok(self) -> bool:
        return self.found != (self.fault == CORRECT)


def run(faults: list[str], *, budget: float, jobs: int, seed: int, out: Path,
        progress: bool = False, log: object = print) -> list[Row]:
    rows = []
    for fault in [*faults, CORRECT]:
        engine = "asyncify" if fault == CORRECT else f"faulty:{fault}"
        stats = Campaign(Options(generator="mixed", engines=(engine,), time_limit=budget, jobs=jobs, seed=seed,
                                 out=out / fault.strip("()").replace(" ", "-"), progress=progress,
                                 stop_on_finding=fault != CORRECT, shrink_attempts=10)).run()
        first = stats.first_finding or {}
        row = Row(fault, bool(stats.diverged), round(first.get("seconds", stats.elapsed), 1),
                  first.get("cases", stats.cases), first.get("module_bytes"), first.get("suspensions"),
                  first.get("facets", []), FAULTS[fault][1] if fault in FAULTS else "-")
        rows.append(row)
        log(f"{'ok  ' if row.ok else 'FAIL'} {fault}: {'found' if row.found else 'nothing found'} "  # type: ignore[operator]
            f"after {row.seconds}s, {row.cases} case(s)")
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| fault | found | time to first detection | cases | reproducer (bytes, suspensions) | facets reported |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        found = ("no finding (correct)" if not r.found else "**false positive**") if r.fault == CORRECT else \
            ("yes" if r.found else "**missed**")
        size = f"{r.reproducer_bytes} B, {r.suspensions}" if r.reproducer_bytes is not None else "–"
        lines.append(f"| {r.fault} | {found} | {r.seconds:.1f} s | {r.cases} | {size} | {', '.join(r.facets) or '–'} |")
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], budget: float) -> None:
    write_atomic(path, json.dumps({"budget_seconds": budget, "rows": [{**asdict(r), "ok": r.ok} for r in rows]},
                                  indent=2) + "\n")
