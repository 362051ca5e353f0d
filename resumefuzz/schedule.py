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

Limits (resumefuzz/limits.py): numbers are at most 2**63-1; a spec expands
to at most MAX_SCHEDULE_RUNS interrupted runs, each suspending at most
MAX_SUSPENSIONS times; a spec beyond them is bad input (exit 2).
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass

from .errors import BadInput
from .limits import MAX_CROSSING, MAX_SCHEDULE_RUNS, MAX_SUSPENSIONS

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
_PART = re.compile(r"^(auto|quick|systematic|none|each|every(?::(\d+))?|spread:(\d+)|at:(\d+(?:,\d+)*)"
                   r"|random:(\d+)(?:x(\d+))?)$")
#: interrupted runs the fixed-size parts expand to at most ("each" depends on the program: see expand)
_RUNS = {"auto": 1 + 32 + 16, "quick": 1 + 32 + 32, "systematic": 1 + 64, "none": 0, "each": 0}


def validate(spec: str) -> str:
    """Check SPEC early (before any work); return it.  Every size it names is bounded here."""
    runs = 0
    for part in spec.split(";"):
        part = part.strip()
        match = _PART.match(part)
        if not match:
            raise BadInput(f"--schedule: cannot parse {part!r} (see `resumefuzz check --help`)")
        shown = part if len(part) <= 40 else part[:37] + "..."
        digits = re.findall(r"\d+", part)
        if any(len(n.lstrip("0")) > len(str(MAX_CROSSING)) for n in digits):  # before int(): no 10**6-digit numbers
            raise BadInput(f"--schedule: {shown!r}: numbers are at most {MAX_CROSSING} (2**63-1)")
        numbers = [int(n) for n in digits]
        if any(n == 0 for n in numbers):
            raise BadInput(f"--schedule: {shown!r}: counts, strides and crossings start at 1")
        if any(n > MAX_CROSSING for n in numbers):
            raise BadInput(f"--schedule: {shown!r}: numbers are at most {MAX_CROSSING} (2**63-1)")
        if part.startswith("at:") and len(numbers) > MAX_SUSPENSIONS:
            raise BadInput(f"--schedule: at: names {len(numbers)} crossings; at most {MAX_SUSPENSIONS} "
                           f"suspensions per run (limits.MAX_SUSPENSIONS)")
        if part.startswith("random:") and match.group(6) and int(match.group(6)) > MAX_SUSPENSIONS:
            raise BadInput(f"--schedule: {shown!r}: at most {MAX_SUSPENSIONS} suspensions per run "
                           f"(limits.MAX_SUSPENSIONS)")
        if part.startswith(("spread:", "random:")):
            runs += int(match.group(3) or match.group(5))
        else:
            runs += _RUNS.get(part, 1)
        if runs > MAX_SCHEDULE_RUNS:
            raise BadInput(f"--schedule: {spec if len(spec) <= 40 else spec[:37] + '...'!r} expands to more than "
                           f"{MAX_SCHEDULE_RUNS} interrupted runs (limits.MAX_SCHEDULE_RUNS)")
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
            if len(schedules) + total > MAX_SCHEDULE_RUNS:
                raise BadInput(f"--schedule: each: the program crosses {total} yield points, more than "
                               f"{MAX_SCHEDULE_RUNS} interrupted runs (limits.MAX_SCHEDULE_RUNS); use spread:N")
            schedules += [Schedule(f"each@{c}", (c,)) for c in range(1, total + 1)]
        elif part.startswith("every"):
            stride = int(match.group(2) or 1)
            if total // stride > MAX_SUSPENSIONS:
                raise BadInput(f"--schedule: {part}: {total // stride} suspensions in one run (the program crosses "
                               f"{total} yield points), more than {MAX_SUSPENSIONS} (limits.MAX_SUSPENSIONS); "
                               f"use a larger stride or auto")
            schedules.append(Schedule(f"every:{stride}", tuple(range(stride, total + 1, stride)) or (total,)))
        elif part.startswith("spread"):
            count = min(int(match.group(3)), total)
            points = sorted({1 + (i * (total - 1)) // max(1, count - 1) for i in range(count)}) if count > 1 else [1]
            schedules += [Schedule(f"spread@{c}", (c,)) for c in points]
        elif part.startswith("at"):
            points = sorted({int(c) for c in match.group(4).split(",")})
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
