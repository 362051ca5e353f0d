"""Judge one module: A (original) vs B (transformed), B vs C (interrupted), per schedule.

The verdict is rendered as text by :mod:`resumefuzz.report` and, with an
output directory, written by :mod:`resumefuzz.files`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import wasmtime

from . import files
from .abi import CROSSINGS_KEY, SITE_KEY, TARGET_KEY
from .engines import Engine
from .errors import Inconclusive
from .host import HostState
from .identity import function_classes, joined
from .observation import Observation
from .preparation import Preparation, prepare
from .report import ALLOWED, NOTHING_SUSPENDED, excused_notes, nan_note, render
from .runner import run
from .wasi import WasiInputs
from .wasi.reference import CrossCheck
from .runtime import Runtime
from .schedule import DEFAULT as DEFAULT_SCHEDULE
from .schedule import Schedule, expand, validate
from .yieldpoints import DEFAULT as DEFAULT_YIELD_POINTS
from .yieldpoints import YieldPoints

from resumefuzz.oracles import Divergence, Leeway, compare

EQUAL, DIVERGENT, INCONCLUSIVE = "equal", "divergent", "inconclusive"
#: the harness's own WASI host disagreed with wasmtime's WASI on the straight run of the original
#: module: a bug of the harness, never a suspend/resume divergence (nothing else is judged then)
HOST_MISMATCH = "host-mismatch"
EXIT_CODES = {EQUAL: 0, DIVERGENT: 1, INCONCLUSIVE: 4, HOST_MISMATCH: 6}


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
    #: the WASI inputs the module ran with (None: not a WASI program), and the flags that give them
    #: again on the replay line
    wasi: WasiInputs | None = None
    replay_args: tuple[str, ...] = ()
    host_mismatch: str = ""  # HOST_MISMATCH's first difference

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def facets(self) -> list[str]:
        return sorted({f for finding in self.findings for f in finding.facets})

    @property
    def headline(self) -> str:
        """The verdict in one line."""
        if self.status == DIVERGENT:
            return f"DIVERGENT: {', '.join(self.facets)}"
        if self.status == INCONCLUSIVE:
            return "INCONCLUSIVE: a budget ran out (not a divergence)"
        if self.status == HOST_MISMATCH:
            return f"HARNESS BUG: {self.host_mismatch}"
        if any(n.startswith(ALLOWED) for n in self.notes):
            return "EQUAL: every facet matched (A vs B up to what an optimizing transform may change, see note)"
        return "EQUAL: every facet matched, bit for bit"


def check(wasm: bytes, engine: Engine, *, seed: int = 0, schedule: str = DEFAULT_SCHEDULE,
          yield_points: str = DEFAULT_YIELD_POINTS, out: Path | None = None,
          source: str = "MODULE.wasm", wasmtime_opt: str = "speed", wasi: WasiInputs | None = None,
          replay_args: tuple[str, ...] = ()) -> Verdict:
    """Judge WASM.  WASI: a WASI program's inputs (default ``WasiInputs()``; ignored for other
    modules); REPLAY_ARGS: the command-line flags that give them, for the replay line."""
    validate(schedule)
    preparation = prepare(wasm, engine, YieldPoints.parse(yield_points), wasmtime_opt=wasmtime_opt)
    return judge(preparation, seed=seed, schedule=schedule, out=out, source=source, wasi=wasi,
                 replay_args=replay_args)


class Judge:
    """A prepared module whose straight runs are done; judges any number of schedules.

    Preparation, compilation and the straight runs A and B happen once per
    module; each schedule then costs one interrupted run C.
    """

    def __init__(self, prep: Preparation, seed: int, wasi: WasiInputs | None = None) -> None:
        self.prep = prep
        self.seed = seed
        self.wasi = wasi
        self.a = _straight(prep.plain_runtime, seed, "A", lambda: self._run_options)
        # A out of budget (fuel, stack, judged size, compile time) makes the case inconclusive whatever B
        # does: the suspendable module is neither compiled nor given 20x A's fuel
        self.b = Observation("B", exhausted="not run") if self.a.exhausted \
            else _straight(prep.suspendable_runtime, seed, "B", lambda: self._run_options)
        exhausted = ("A", self.a.exhausted) if self.a.exhausted else ("B", self.b.exhausted)
        self.inconclusive = f"straight run {exhausted[0]}: {exhausted[1]}" if exhausted[1] else None
        self.notes: list[str] = []
        #: how often A vs B was excused by the transform policy, by allowance (campaign liveness)
        self.allowances: dict[str, int] = {}

    @functools.cached_property
    def is_wasi(self) -> bool:
        """The module imports WASI (it runs against the harness's WASI host); asked once the plain
        module compiled (False when its compile budget ran out: nothing ran)."""
        if ("plain", False) not in self.prep._compiled:
            return False
        return self.prep.plain_runtime().wasi

    @functools.cached_property
    def inputs(self) -> WasiInputs | None:
        """The WASI inputs every run gets (None: not a WASI program)."""
        return (self.wasi if self.wasi is not None else WasiInputs()) if self.is_wasi else None

    @functools.cached_property
    def host_check(self) -> "CrossCheck | None":
        """The straight run A of a WASI program against wasmtime's own WASI with the same inputs
        (:func:`resumefuzz.wasi.reference.cross_check`: stdout, stderr, exit code, final files);
        None for other modules and when A ran out of a budget."""
        if self.inputs is None or self.a.wasi is None or self.a.exhausted:
            return None
        from .wasi.reference import cross_check

        return cross_check(self.prep.original, self.inputs, self.a.wasi, fuel=self.prep.plain_runtime().fuel)

    @functools.cached_property
    def _run_options(self) -> dict[str, object]:
        """What every run of a WASI program gets besides seed and schedule: its inputs and the key of
        its shadow-stack pointer (``__stack_pointer`` by the name section; the runner's fallback
        otherwise)."""
        if not self.is_wasi:
            return {}
        named = next((key for key, name in self.prep.names.items() if name.split(" ")[1:2] == ["$__stack_pointer"]),
                     None)
        return {"wasi": self.inputs, "shadow_stack": named}

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
        # State the engine added (its own globals, memories, tables) has no counterpart in A, the
        # original: A vs B compares the program's state; B vs C compares the engine's too (strictly,
        # unless the engine declares it private).
        layout = self.prep.layout
        added = {s.key for s in (*layout.globals, *layout.memories, *layout.tables) if s.origin == "engine"}
        exclude = self.prep.private | added | {CROSSINGS_KEY, TARGET_KEY, SITE_KEY}
        divergences = compare(self.a, self.b, exclude=exclude, names=self.prep.names)
        engine = self.prep.engine
        if not divergences or not engine.optimizes():
            return Finding("A vs B", None, self.b, divergences) if divergences else None
        leeway = self._leeway()
        divergences = compare(self.a, self.b, exclude=exclude, names=self.prep.names, leeway=leeway)
        if divergences and engine.folds_nans():
            plain, suspendable = self.prep.runtimes(canonicalize_nans=True)
            a, b = run(plain, self.seed, "A", **self._run_options), \
                run(suspendable, self.seed, "B", **self._run_options)  # type: ignore[arg-type]
            canonical = self._leeway()
            canonical.folded_nans = True
            if not a.exhausted and not b.exhausted and not compare(a, b, exclude=exclude, names=self.prep.names,
                                                                   leeway=canonical):
                self.notes.append(nan_note(sorted({d.facet for d in divergences})))
                self.allowances["nan payload"] = self.allowances.get("nan payload", 0) + 1
                divergences, leeway = [], canonical
        self.notes += excused_notes(leeway)
        for kind in {k for k, _ in leeway.excused}:
            self.allowances[kind] = self.allowances.get(kind, 0) + 1
        return Finding("A vs B", None, self.b, divergences) if divergences else None

    @functools.cached_property
    def _classes(self) -> dict[int, int]:
        """Classes of original functions a program cannot tell apart by identity (computed when A vs B
        first needs them): identical bodies in the original, joined with the functions the transform
        merged into one (bodies an optimizer made identical, e.g. after removing dead code)."""
        try:
            merged = self.suspendable.instantiate(HostState(self.seed)).merged_functions()
        except (wasmtime.Trap, wasmtime.WasmtimeError):  # an instantiation that traps merges nothing we can see
            merged = {}
        finally:
            self.suspendable.machine = None
        return joined(function_classes(self.prep.original), merged)

    def _leeway(self) -> Leeway:
        return Leeway(trap_kinds=True, function=lambda index: self._classes.get(index, index))

    def interrupted(self, sched: Schedule, *, keep_snapshots: bool = False) -> tuple[Finding | None, Observation]:
        """B vs C under SCHED: is suspend/resume transparent?"""
        c = run(self.suspendable, self.seed, f"C[{sched.label}]", engine=self.prep.engine,
                crossings=sched.crossings, keep_snapshots=keep_snapshots, **self._run_options)  # type: ignore[arg-type]
        if c.exhausted:
            return None, c
        divergences = compare(self.b, c, exclude=self.prep.private | {TARGET_KEY, CROSSINGS_KEY}, names=self.prep.names)
        return (Finding("B vs C", sched, c, divergences) if divergences else None), c

    def schedules(self, spec: str, *, stop_at_finding: bool = False,
                  keep_snapshots: bool = False) -> Iterator[tuple[Finding | None, Observation]]:
        """B vs C under each schedule SPEC expands to, in order: the loop `judge` and campaign cases share.

        With STOP_AT_FINDING no schedule runs after the first that diverged.
        """
        for sched in expand(spec, self.crossings, self.seed):
            finding, c = self.interrupted(sched, keep_snapshots=keep_snapshots)
            yield finding, c
            if stop_at_finding and finding is not None:
                return


def _straight(runtime: Callable[[], Runtime], seed: int, label: str,
              options: Callable[[], dict[str, object]] | None = None) -> Observation:
    """A straight run of the module RUNTIME() compiles, with the run OPTIONS() (asked once it
    compiled); a compile budget that runs out makes it inconclusive."""
    try:
        compiled = runtime()
    except Inconclusive as exc:
        return Observation(label, exhausted=str(exc))
    return run(compiled, seed, label, **(options() if options is not None else {}))  # type: ignore[arg-type]


def wasi_note(a: Observation) -> str:
    """What the straight run A of a WASI program left behind, in one line."""
    assert a.wasi is not None
    outcome = a.wasi
    code = "none (it trapped)" if outcome.exit_code is None else str(outcome.exit_code)
    return (f"WASI program: exit code {code}, stdout {len(outcome.stdout)} byte(s), stderr {len(outcome.stderr)} "
            f"byte(s), {len(outcome.files)} file(s) in '.', {len(a.clocks)} clock reading(s)"
            + (f"; called {', '.join(outcome.nondeterministic)}" if outcome.nondeterministic else ""))


#: the file of ``check --out DIR`` holding a WASI program's inputs (``check --wasi`` reads it)
WASI_FILE = "wasi.json"


def judge(prep: Preparation, *, seed: int, schedule: str, out: Path | None = None,
          source: str = "MODULE.wasm", stop_on_first: bool = False, wasi: WasiInputs | None = None,
          replay_args: tuple[str, ...] = ()) -> Verdict:
    if out is not None:
        files.clear_snapshots(out)
    judge_ = Judge(prep, seed, wasi)
    verdict = Verdict(EQUAL, crossings=judge_.crossings, wasi=judge_.inputs, replay_args=replay_args)
    if out is not None and judge_.inputs is not None:  # the inputs are recorded: the replay line reads them
        files.write_atomic(out / WASI_FILE, json.dumps(judge_.inputs.to_json(), indent=2) + "\n")
        verdict.replay_args = ("--wasi", str(out / WASI_FILE))
    if judge_.inconclusive:
        verdict.status = INCONCLUSIVE
        verdict.inconclusive.append(judge_.inconclusive)
    elif judge_.host_check is not None and judge_.host_check.status == "disagree":
        verdict.status, verdict.host_mismatch = HOST_MISMATCH, judge_.host_check.detail
        verdict.notes.append(wasi_note(judge_.a))
    else:
        if judge_.a.wasi is not None:
            verdict.notes.append(wasi_note(judge_.a))
        if judge_.host_check is not None:
            verdict.notes.append(f"WASI cross-check {judge_.host_check.status}: {judge_.host_check.detail}")
        finding = judge_.transform()
        verdict.notes += judge_.notes
        if finding:
            verdict.findings.append(finding)
        skip = stop_on_first and bool(verdict.findings)  # A vs B diverged: no schedule runs
        for finding, c in [] if skip else judge_.schedules(schedule, stop_at_finding=stop_on_first,
                                                           keep_snapshots=out is not None):
            verdict.schedules += 1
            verdict.suspensions += len(c.suspensions)
            if out is not None:
                files.write_snapshots(out, verdict.schedules, c)
            if c.exhausted:
                verdict.inconclusive.append(f"{c.label}: {c.exhausted}")
            elif finding:
                verdict.findings.append(finding)
        if verdict.findings:
            verdict.status = DIVERGENT
        elif verdict.inconclusive and verdict.schedules == len(verdict.inconclusive):
            verdict.status = INCONCLUSIVE
    if verdict.status == EQUAL and verdict.suspensions == 0 and schedule != "none":
        verdict.notes.append(NOTHING_SUSPENDED)
    verdict.report = render(verdict, prep, seed, schedule, source)
    if out is not None:
        files.write_outputs(out, verdict, prep, seed)
    return verdict
