"""Schedules: at which yield crossings run C suspends.

A schedule is plain data (a label and a sorted tuple of crossing numbers,
counted from 1 in execution order).  A SPEC expands into schedules once the
straight run B has told how many crossings the program makes::

    SPEC   := PART (';' PART)*
    auto          every:K (K chosen so at most 500 suspensions) ; spread:32 ; random:16x4
    quick         every:K (at most 32 suspensions) ; spread:32 ; random:32x2  (campaigns: many cheap
                  runs per prepared module, one dense one)
    systematic    every ; each  (each crossing in turn) — for runs of at most 64 crossings,
                  else every:K (at most 128 suspensions) ; spread:64
    every[:K]     one run suspending at every K-th crossing (default every crossing)
    each          one run per crossing, suspending only there
    spread:N      N runs with one suspension each, evenly spread over the run
    at:C1,C2,...  one run suspending at exactly these crossings
    random:N[xK]  N runs, each suspending at K random crossings (default K=3), seeded
    none          no interrupted runs (judge only the transform, A vs B)
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass

from .errors import BadInput

DEFAULT = "auto"
AUTO_EVERY_LIMIT = 500
QUICK_EVERY_LIMIT = 32
SYSTEMATIC_EVERY_LIMIT = 128


@dataclass(frozen=True)
class Schedule:
    label: str
    crossings: tuple[int, ...]

    def to_json(self) -> str:
        return json.dumps({"label": self.label, "crossings": list(self.crossings)})

    def __str__(self) -> str:
        shown = ",".join(map(str, self.crossings[:8])) + ("..." if len(self.crossings) > 8 else "")
        return f"{self.label} [{len(self.crossings)} suspension(s) at {shown}]"


SYSTEMATIC_EACH_LIMIT = 64
_PART = re.compile(r"^(auto|quick|systematic|none|each|every(?::(\d+))?|spread:(\d+)|at:([\d,]+)|random:(\d+)(?:x(\d+))?)$")


def validate(spec: str) -> str:
    """Check SPEC early (before any work); return it."""
    for part in spec.split(";"):
        match = _PART.match(part.strip())
        if not match:
            raise BadInput(f"--schedule: cannot parse {part.strip()!r} (see `resumefuzz check --help`)")
        numbers = [int(n) for n in re.findall(r"\d+", part)]
        if any(n == 0 for n in numbers):
            raise BadInput(f"--schedule: {part.strip()!r}: counts, strides and crossings start at 1")
    return spec


def expand(spec: str, total: int, seed: int) -> list[Schedule]:
    """Concrete schedules for a run with TOTAL crossings."""
    schedules: list[Schedule] = []
    rng = random.Random(seed ^ 0x5C4ED)
    for part in validate(spec).split(";"):
        part = part.strip()
        if part == "systematic":
            if total <= SYSTEMATIC_EACH_LIMIT:
                schedules += expand("every;each", total, seed)
            else:
                schedules += expand(f"every:{math.ceil(total / SYSTEMATIC_EVERY_LIMIT)};spread:64", total, seed)
            continue
        if part in ("auto", "quick"):
            limit, rest = (AUTO_EVERY_LIMIT, "spread:32;random:16x4") if part == "auto" else (QUICK_EVERY_LIMIT, "spread:32;random:32x2")
            stride = max(1, math.ceil(total / limit))
            schedules += expand(f"every:{stride};{rest}", total, seed)
            continue
        match = _PART.match(part)
        assert match is not None
        if part == "none" or total == 0:
            continue
        if part == "each":
            schedules += [Schedule(f"each@{c}", (c,)) for c in range(1, total + 1)]
        elif part.startswith("every"):
            stride = int(match.group(2) or 1)
            schedules.append(Schedule(f"every:{stride}", tuple(range(stride, total + 1, stride)) or (total,)))
        elif part.startswith("spread"):
            count = min(int(match.group(3)), total)
            points = sorted({1 + (i * (total - 1)) // max(1, count - 1) for i in range(count)}) if count > 1 else [1]
            schedules += [Schedule(f"spread@{c}", (c,)) for c in points]
        elif part.startswith("at"):
            points = sorted({int(c) for c in match.group(4).split(",") if c})
            schedules.append(Schedule("at:" + ",".join(map(str, points)), tuple(points)))
        elif part.startswith("random"):
            runs, per_run = int(match.group(5)), int(match.group(6) or 3)
            for i in range(runs):
                points = sorted(rng.sample(range(1, total + 1), min(per_run, total)))
                schedules.append(Schedule(f"random#{i}", tuple(points)))
    unique: dict[tuple[int, ...], Schedule] = {}
    for schedule in schedules:
        unique.setdefault(schedule.crossings, schedule)
    return list(unique.values())
