"""Judge one module: A (original) vs B (transformed), B vs C (interrupted), per schedule."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .engines import Engine
from .errors import Inconclusive
from .identity import function_classes
from .observation import Observation
from .preparation import Preparation, prepare
from .runner import run
from .runtime import Runtime
from .schedule import DEFAULT as DEFAULT_SCHEDULE
from .schedule import Schedule, expand, validate
from .yieldpoints import CROSSINGS_KEY, DEFAULT as DEFAULT_YIELD_POINTS
from .yieldpoints import SITE_KEY, TARGET_KEY, YieldPoints

from resumefuzz.oracles import Divergence, Leeway, compare
from resumefuzz.oracles.transparency import SAME_BODY, TRAP_KIND

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
    notes: list[str] = field(default_factory=list)
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
          source: str = "MODULE.wasm", wasmtime_opt: str = "speed") -> Verdict:
    validate(schedule)
    preparation = prepare(wasm, engine, YieldPoints.parse(yield_points), wasmtime_opt=wasmtime_opt)
    return judge(preparation, seed=seed, schedule=schedule, out=out, source=source)


class Judge:
    """A prepared module whose straight runs are done; judges any number of schedules.

    Preparation, compilation and the straight runs A and B happen once per
    module; each schedule then costs one interrupted run C.
    """

    def __init__(self, prep: Preparation, seed: int) -> None:
        self.prep = prep
        self.seed = seed
        self.a = _straight(prep.plain_runtime, seed, "A")
        # A out of budget (fuel, stack, judged size, compile time) makes the case inconclusive whatever B
        # does: the suspendable module is neither compiled nor given 20x A's fuel
        self.b = Observation("B", exhausted="not run") if self.a.exhausted \
            else _straight(prep.suspendable_runtime, seed, "B")
        exhausted = ("A", self.a.exhausted) if self.a.exhausted else ("B", self.b.exhausted)
        self.inconclusive = f"straight run {exhausted[0]}: {exhausted[1]}" if exhausted[1] else None
        self.notes: list[str] = []
        #: how often A vs B was excused by the transform policy, by allowance (campaign liveness)
        self.allowances: dict[str, int] = {}

    @property
    def suspendable(self) -> Runtime:
        """The compiled suspendable module (compiled on first use, then kept by the preparation)."""
        return self.prep.suspendable_runtime()

    @property
    def crossings(self) -> int:
        return self.b.crossings or 0

    def transform(self) -> Finding | None:
        """A vs B: is the transform transparent?

        Bit for bit, unless the engine's transform optimizes: then A vs B
        allows what an optimizer may change and a program cannot rely on
        (README "Transform policy"), each noted in ``self.notes`` when it
        mattered.  Which trap fired (not whether or where) and the identity of
        functions with identical bodies are excused by the oracle's
        :class:`Leeway`; arithmetic NaN payloads (nondeterministic in wasm,
        canonicalized by Binaryen's constant folding) by re-running both with
        wasmtime's NaN canonicalization: what vanishes there is not a bug.
        """
        exclude = self.prep.private | {CROSSINGS_KEY, TARGET_KEY, SITE_KEY}
        divergences = compare(self.a, self.b, exclude=exclude, names=self.prep.names)
        engine = self.prep.engine
        if not divergences or not engine.optimizes():
            return Finding("A vs B", None, self.b, divergences) if divergences else None
        leeway = self._leeway()
        divergences = compare(self.a, self.b, exclude=exclude, names=self.prep.names, leeway=leeway)
        if divergences and engine.folds_nans():
            plain, suspendable = self.prep.runtimes(canonicalize_nans=True)
            a, b = run(plain, self.seed, "A"), run(suspendable, self.seed, "B")
            canonical = self._leeway()
            if not a.exhausted and not b.exhausted and not compare(a, b, exclude=exclude, names=self.prep.names,
                                                                   leeway=canonical):
                self.notes.append("A and B differ only in arithmetic NaN payloads (allowed by the wasm spec; "
                                  "equal under NaN canonicalization): " + ", ".join(sorted({d.facet for d in divergences})))
                self.allowances["nan payload"] = self.allowances.get("nan payload", 0) + 1
                divergences, leeway = [], canonical
        self.notes += _excused_notes(leeway)
        for kind in {k for k, _ in leeway.excused}:
            self.allowances[kind] = self.allowances.get(kind, 0) + 1
        return Finding("A vs B", None, self.b, divergences) if divergences else None

    @functools.cached_property
    def _classes(self) -> dict[int, int]:
        """Identical-body classes of the original functions (computed when A vs B first needs them)."""
        return function_classes(self.prep.original)

    def _leeway(self) -> Leeway:
        return Leeway(trap_kinds=True, function=lambda index: self._classes.get(index, index))

    def interrupted(self, sched: Schedule, *, keep_snapshots: bool = False) -> tuple[Finding | None, Observation]:
        """B vs C under SCHED: is suspend/resume transparent?"""
        c = run(self.suspendable, self.seed, f"C[{sched.label}]", engine=self.prep.engine,
                crossings=sched.crossings, keep_snapshots=keep_snapshots)
        if c.exhausted:
            return None, c
        divergences = compare(self.b, c, exclude=self.prep.private | {TARGET_KEY, CROSSINGS_KEY}, names=self.prep.names)
        return (Finding("B vs C", sched, c, divergences) if divergences else None), c


def _straight(runtime: Callable[[], Runtime], seed: int, label: str) -> Observation:
    """A straight run of the module RUNTIME() compiles; a compile budget that runs out makes it inconclusive."""
    try:
        compiled = runtime()
    except Inconclusive as exc:
        return Observation(label, exhausted=str(exc))
    return run(compiled, seed, label)


def judge(prep: Preparation, *, seed: int, schedule: str, out: Path | None = None,
          source: str = "MODULE.wasm", stop_on_first: bool = False) -> Verdict:
    if out is not None:
        shutil.rmtree(out / "snapshots", ignore_errors=True)  # never mix in an earlier run's snapshots
    judge_ = Judge(prep, seed)
    verdict = Verdict(EQUAL, crossings=judge_.crossings)
    if judge_.inconclusive:
        verdict.status = INCONCLUSIVE
        verdict.inconclusive.append(judge_.inconclusive)
    else:
        finding = judge_.transform()
        verdict.notes += judge_.notes
        if finding:
            verdict.findings.append(finding)
        for sched in expand(schedule, judge_.crossings, seed):
            if stop_on_first and verdict.findings:
                break
            finding, c = judge_.interrupted(sched, keep_snapshots=out is not None)
            verdict.schedules += 1
            verdict.suspensions += len(c.suspensions)
            if out is not None:
                _write_snapshots(out, verdict.schedules, c)
            if c.exhausted:
                verdict.inconclusive.append(f"{c.label}: {c.exhausted}")
            elif finding:
                verdict.findings.append(finding)
        if verdict.findings:
            verdict.status = DIVERGENT
        elif verdict.inconclusive and verdict.schedules == len(verdict.inconclusive):
            verdict.status = INCONCLUSIVE
    if verdict.status == EQUAL and verdict.suspensions == 0 and schedule != "none":
        verdict.notes.append("nothing was suspended (no yield point was crossed at a scheduled crossing): "
                             "this check exercised the transform only")
    verdict.report = render(verdict, prep, seed, schedule, source)
    if out is not None:
        _write_outputs(out, verdict, prep, seed)
    return verdict


#: every note of a difference the transform policy allows starts so (the headline says so)
ALLOWED = "A and B differ only in"
_EXCUSED = {
    TRAP_KIND: "which trap fired (an optimizing transform may reorder traps; wasm has one kind of trap, "
               "and whether and where each run trapped matched)",
    SAME_BODY: "the identity of functions with identical bodies (an optimizing transform may merge them; "
               "a program cannot observe funcref identity)",
}


def _excused_notes(leeway: Leeway) -> list[str]:
    notes = []
    for kind, text in _EXCUSED.items():
        cases = [where for k, where in leeway.excused if k == kind]
        if cases:
            more = f"; and {len(cases) - 3} more" if len(cases) > 3 else ""
            notes.append(f"{ALLOWED} {text}: " + "; ".join(cases[:3]) + more)
    return notes


def replay_command(prep: Preparation, seed: int, schedule: str, source: str) -> str:
    args = ["resumefuzz", "check", source, "--engine", prep.engine.spec(), "--seed", str(seed),
            "--schedule", schedule, "--yield-points", str(prep.yield_points)]
    if prep.wasmtime_opt != "speed":
        args += ["--wasmtime-opt", prep.wasmtime_opt]
    return " ".join(shlex.quote(a) for a in args)


def render(verdict: Verdict, prep: Preparation, seed: int, schedule: str, source: str) -> str:
    headline = {
        EQUAL: "EQUAL: every facet matched (A vs B up to what an optimizing transform may change, see note)"
        if any(n.startswith(ALLOWED) for n in verdict.notes) else "EQUAL: every facet matched, bit for bit",
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
    for note in verdict.notes:
        lines.append(f"note:         {note}")
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
