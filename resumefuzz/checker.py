"""Judge one module: A (original) vs B (transformed), B vs C (interrupted), per schedule."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .engines import Engine
from .observation import Observation
from .preparation import Preparation, prepare
from .runner import run
from .schedule import DEFAULT as DEFAULT_SCHEDULE
from .schedule import Schedule, expand, validate
from .yieldpoints import CROSSINGS_KEY, DEFAULT as DEFAULT_YIELD_POINTS
from .yieldpoints import TARGET_KEY, YieldPoints

from resumefuzz.oracles import Divergence, compare

EQUAL, DIVERGENT, INCONCLUSIVE = "equal", "divergent", "inconclusive"
EXIT_CODES = {EQUAL: 0, DIVERGENT: 1, INCONCLUSIVE: 4}


@dataclass
class Finding:
    """The divergences of one comparison."""

    comparison: str  # "A vs B" or "B vs C"
    schedule: Schedule | None
    candidate: Observation
    divergences: list[Divergence]

    @property
    def facets(self) -> list[str]:
        return sorted({d.facet for d in self.divergences})


@dataclass
class Verdict:
    status: str
    findings: list[Finding] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)
    crossings: int = 0
    schedules: int = 0
    suspensions: int = 0
    report: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def facets(self) -> list[str]:
        return sorted({f for finding in self.findings for f in finding.facets})


def check(wasm: bytes, engine: Engine, *, seed: int = 0, schedule: str = DEFAULT_SCHEDULE,
          yield_points: str = DEFAULT_YIELD_POINTS, out: Path | None = None,
          source: str = "MODULE.wasm") -> Verdict:
    validate(schedule)
    preparation = prepare(wasm, engine, YieldPoints.parse(yield_points))
    return judge(preparation, seed=seed, schedule=schedule, out=out, source=source)


def judge(prep: Preparation, *, seed: int, schedule: str, out: Path | None = None,
          source: str = "MODULE.wasm") -> Verdict:
    plain, suspendable = prep.runtimes()
    a = run(plain, seed, "A")
    b = run(suspendable, seed, "B")
    verdict = Verdict(EQUAL, crossings=b.crossings or 0)
    if a.exhausted or b.exhausted:
        verdict.status = INCONCLUSIVE
        verdict.inconclusive.append(f"straight run {'A' if a.exhausted else 'B'}: {a.exhausted or b.exhausted}")
    else:
        harness = {CROSSINGS_KEY, TARGET_KEY}
        divergences = compare(a, b, exclude=prep.private | harness, names=prep.names)
        if divergences:
            verdict.findings.append(Finding("A vs B", None, b, divergences))
        for sched in expand(schedule, b.crossings or 0, seed):
            c = run(suspendable, seed, f"C[{sched.label}]", engine=prep.engine, crossings=sched.crossings,
                    keep_snapshots=out is not None)
            verdict.schedules += 1
            verdict.suspensions += len(c.suspensions)
            if out is not None:
                _write_snapshots(out, verdict.schedules, c)
            if c.exhausted:
                verdict.inconclusive.append(f"{c.label}: {c.exhausted}")
                continue
            divergences = compare(b, c, exclude=prep.private | {TARGET_KEY}, names=prep.names)
            if divergences:
                verdict.findings.append(Finding("B vs C", sched, c, divergences))
        if verdict.findings:
            verdict.status = DIVERGENT
        elif verdict.inconclusive and verdict.schedules == len(verdict.inconclusive):
            verdict.status = INCONCLUSIVE
    verdict.report = render(verdict, prep, seed, schedule, source)
    if out is not None:
        _write_outputs(out, verdict, prep, seed)
    return verdict


def replay_command(prep: Preparation, seed: int, schedule: str, source: str) -> str:
    engine = prep.engine.id + "".join(f"{',' if i else ':'}{k.replace('_', '-')}={json.dumps(v)}"
                                      for i, (k, v) in enumerate(sorted(prep.engine.config.items())))
    args = ["resumefuzz", "check", source, "--engine", engine, "--seed", str(seed),
            "--schedule", schedule, "--yield-points", str(prep.yield_points)]
    return " ".join(shlex.quote(a) for a in args)


def render(verdict: Verdict, prep: Preparation, seed: int, schedule: str, source: str) -> str:
    headline = {
        EQUAL: "EQUAL: every facet matched, bit for bit",
        DIVERGENT: f"DIVERGENT: {', '.join(verdict.facets)}",
        INCONCLUSIVE: "INCONCLUSIVE: a budget ran out (not a divergence)",
    }[verdict.status]
    lines = [
        f"resumefuzz check: {headline}",
        f"module:       {source} (sha256 {hashlib.sha256(prep.original).hexdigest()[:16]}…)",
        f"engine:       {prep.engine.config_json()}",
        f"seed:         {seed}",
        f"yield points: {prep.yield_points}",
        f"schedule:     {schedule}",
        f"crossings:    B crossed {verdict.crossings} yield point(s); {verdict.schedules} interrupted run(s), "
        f"{verdict.suspensions} suspension(s) in all",
        f"replay:       {replay_command(prep, seed, schedule, source)}",
    ]
    for note in verdict.inconclusive:
        lines.append(f"inconclusive: {note}")
    for number, finding in enumerate(verdict.findings):
        if number == 3:
            lines.append(f"\n… and {len(verdict.findings) - 3} more divergent comparison(s): "
                         + "; ".join(f"{f.candidate.label} [{', '.join(f.facets)}]" for f in verdict.findings[3:]))
            break
        lines.append("")
        title = "the transform (A: original, B: instrumented, never suspended)" if finding.schedule is None \
            else "suspend/resume (B: never suspended, C: interrupted)"
        lines.append(f"== {finding.comparison}: {title} — facets: {', '.join(finding.facets)}")
        if finding.schedule is not None:
            c = finding.candidate
            lines.append(f"schedule: {finding.schedule.to_json()}")
            lines.append(f"C suspended {len(c.suspensions)} time(s) at crossings "
                         f"{_short(c.suspensions)}; C crossed {c.crossings} yield point(s)")
            lines.append("replay:   " + replay_command(prep, seed, "at:" + ",".join(map(str, finding.schedule.crossings))
                                                       if finding.schedule.crossings else "none", source))
        for divergence in finding.divergences[:12]:
            lines.append(str(divergence))
        if len(finding.divergences) > 12:
            lines.append(f"… {len(finding.divergences) - 12} more divergence(s) in this comparison")
    return "\n".join(lines) + "\n"


def _short(items: list[int]) -> str:
    return "[" + ", ".join(map(str, items[:10])) + (", …]" if len(items) > 10 else "]")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write via a temporary file + rename: a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_snapshots(out: Path, number: int, c: Observation) -> None:
    for i, data in enumerate(c.snapshots):
        write_atomic(out / "snapshots" / f"run{number:03d}-{i:04d}.rfzsnap", data)
    c.snapshots.clear()


def _write_outputs(out: Path, verdict: Verdict, prep: Preparation, seed: int) -> None:
    write_atomic(out / "module.wasm", prep.original)
    write_atomic(out / "prepared-plain.wasm", prep.plain)
    write_atomic(out / "prepared-suspendable.wasm", prep.suspendable)
    summary = {
        "status": verdict.status,
        "facets": verdict.facets,
        "seed": seed,
        "engine": json.loads(prep.engine.config_json()),
        "yield_points": str(prep.yield_points),
        "crossings": verdict.crossings,
        "schedules": verdict.schedules,
        "suspensions": verdict.suspensions,
        "inconclusive": verdict.inconclusive,
        "findings": [
            {"comparison": f.comparison, "schedule": f.schedule and json.loads(f.schedule.to_json()),
             "facets": f.facets, "divergences": [{"facet": d.facet, "where": d.where} for d in f.divergences]}
            for f in verdict.findings
        ],
    }
    write_atomic(out / "verdict.json", json.dumps(summary, indent=2) + "\n")
    write_atomic(out / "report.txt", verdict.report)
