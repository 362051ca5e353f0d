"""Judge one module: A (original) vs B (transformed), B vs C (interrupted), per schedule.

The verdict is rendered as text by :mod:`resumefuzz.report` and, with an
output directory, written by :mod:`resumefuzz.files`.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import wasmtime

from . import files
from .abi import CROSSINGS_KEY, FLAG_MEMORY, SITE_KEY, TARGET_KEY, FlagAudit, flag_audit
from .engines import Engine
from .errors import BadInput, Inconclusive
from .hop import HopFailed, Restoring, restoring
from .host import HostState
from .identity import function_classes, joined
from .observation import Observation
from .preparation import Preparation, prepare
from .report import ALLOWED, NOTHING_SUSPENDED, excused_notes, nan_note, render
from .runner import run
from .wasi import WasiInputs
from .wasi.reference import CrossCheck
from .evidence import Reference, reference
from .runtime import Runtime
from .schedule import DEFAULT as DEFAULT_SCHEDULE
from .schedule import Schedule, expand, validate
from .yieldpoints import DEFAULT as DEFAULT_YIELD_POINTS
from .yieldpoints import CALL, YieldPoints

from resumefuzz.oracles import Divergence, Leeway, compare

EQUAL, DIVERGENT, INCONCLUSIVE = "equal", "divergent", "inconclusive"
#: the harness's own WASI host disagreed with wasmtime's WASI on the straight run of the original
#: module: a bug of the harness, never a suspend/resume divergence (nothing else is judged then)
HOST_MISMATCH = "host-mismatch"
EXIT_CODES = {EQUAL: 0, DIVERGENT: 1, INCONCLUSIVE: 4, HOST_MISMATCH: 6}
#: how runs C are suspended (``check --signal``): at the crossings a schedule names, or whenever a control
#: thread raises the flag of a module in yield-point mode ``flag`` (resumefuzz.control)
SCHEDULE, THREAD = "schedule", "thread"
SIGNALS = (SCHEDULE, THREAD)
#: a thread run whose suspensions (at least this many) never land after a call gets a liveness note
AFTER_CALL_NOTE_MIN = 20


@dataclass
class Finding:
    """The divergences of one comparison."""

    comparison: str  # "A vs B" or "B vs C" ("prepared module[, A vs B]": the flag audit's)
    schedule: Schedule | None
    candidate: Observation
    divergences: list[Divergence]
    #: the reference side (A for "A vs B", B for "B vs C"), bounded to what the divergence page shows
    #: (memory windows around the differences, globals, events and calls around the first difference);
    #: kept when the finding joins a verdict (:meth:`keep_reference`), None before
    reference: "Reference | None" = field(default=None, repr=False, compare=False)

    @property
    def facets(self) -> list[str]:
        return sorted({d.facet for d in self.divergences})

    @property
    def reference_label(self) -> str | None:
        """The label of the comparison's reference run ("A", "B"); None when it compares none (the flag
        audit of the prepared module alone)."""
        return self.comparison.split(" vs ")[0].split()[-1] if " vs " in self.comparison else None

    def keep_reference(self, runs: dict[str, Observation]) -> None:
        """Keep the reference side, bounded, from RUNS (the straight runs by label)."""
        run = runs.get(self.reference_label or "")
        if run is not None and self.reference is None:
            self.reference = reference(run, self)


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
    #: the schedule the report's replay line names when it is not the one judged (a thread run: the
    #: crossings where it really suspended, ``at:...``)
    replay_schedule: str | None = None
    signals: int = 0  # flag raises by control threads (``--signal thread``)
    #: suspensions by yield-site kind (yieldpoints.LOOP, CALL, ...), over every run C
    site_kinds: dict[str, int] = field(default_factory=dict)

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
          replay_args: tuple[str, ...] = (), restore_in: str | None = None,
          restore_config: str | None = None, signal: str = SCHEDULE) -> Verdict:
    """Judge WASM.  SIGNAL: THREAD suspends run C whenever a control thread raises the flag (yield-point
    mode ``flag`` required); SCHEDULE by SCHEDULE.  WASI: a WASI program's inputs (default ``WasiInputs()``; ignored for other
    modules); REPLAY_ARGS: the command-line flags that give them, for the replay line.
    RESTORE_IN, RESTORE_CONFIG: where and under which wasmtime settings runs C restore
    (:mod:`resumefuzz.hop`; default: this process, the suspending side's settings)."""
    validate(schedule)
    points = YieldPoints.parse(yield_points)
    check_signal(signal, points)
    preparation = prepare(wasm, engine, points, wasmtime_opt=wasmtime_opt)
    return judge(preparation, seed=seed, schedule=schedule, out=out, source=source, wasi=wasi,
                 replay_args=replay_args, restore_in=restore_in, restore_config=restore_config, signal=signal)


def check_signal(signal: str, points: YieldPoints) -> None:
    """SIGNAL must be one of SIGNALS; THREAD needs yield points that poll the flag (BadInput otherwise)."""
    if signal not in SIGNALS:
        raise BadInput(f"--signal {signal!r}: one of {', '.join(SIGNALS)}")
    if signal == THREAD and not points.flag:
        raise BadInput(f"--signal thread needs yield points that poll the flag: --yield-points flag (got {points})")


class Judge:
    """A prepared module whose straight runs are done; judges any number of schedules.

    Preparation, compilation and the straight runs A and B happen once per
    module; each schedule then costs one interrupted run C.
    """

    def __init__(self, prep: Preparation, seed: int, wasi: WasiInputs | None = None,
                 restore: Restoring | None = None) -> None:
        self.prep = prep
        self.seed = seed
        self.wasi = wasi
        #: where runs C restore (resumefuzz.hop; None: a fresh instance in this process)
        self.restore = restore
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

    @functools.cached_property
    def flag_audit(self) -> FlagAudit | None:
        """The prepared module's accesses to its flag memory (yield-point mode ``flag``; None otherwise):
        every one must be atomic (:func:`resumefuzz.abi.flag_audit`)."""
        if FLAG_MEMORY not in self.prep.layout.exports:
            return None
        from . import wasmtools

        return flag_audit(wasmtools.print_text(self.prep.suspendable))

    def flag_check(self) -> list[Divergence]:
        """The divergence of a prepared module that reads or writes its flag memory non-atomically."""
        audit = self.flag_audit
        if audit is None or not audit.violations:
            return []
        return [Divergence("flag", "prepared module: the flag memory (abi.FLAG_MEMORY)",
                           "\n".join(f"  {line}" for line in audit.violations)
                           + f"\n  ({audit.atomic} atomic access(es)); another thread writes the flag while the "
                             "module runs: a non-atomic access is a data race (a plain load may be hoisted out "
                             "of a loop, and the flag never seen)")]

    def transform(self) -> Finding | None:
        """A vs B, and the prepared module's flag accesses (yield-point mode ``flag``): see ``_transform``."""
        flagged = self.flag_check()
        found = self._transform()
        if not flagged:
            return found
        return Finding("prepared module" + (", A vs B" if found else ""), None, self.b,
                       [*flagged, *(found.divergences if found else [])])

    def _transform(self) -> Finding | None:
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
        if self.b.spurious:  # B is never suspended: its flag was set without a raise (yield-point mode flag)
            return Finding("A vs B", None, self.b, [*spurious(self.b), *compare(self.a, self.b, exclude=exclude,
                                                                               names=self.prep.names)])
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
        label = f"C[{sched.label}]"
        try:
            c = run(self.suspendable, self.seed, label, engine=self.prep.engine, crossings=sched.crossings,
                    keep_snapshots=keep_snapshots, restore=self.restore, **self._run_options)  # type: ignore[arg-type]
        except HopFailed as exc:  # the restoring process did not carry the run on: a finding, never a traceback
            c = exc.observation or Observation(label)
            return Finding("B vs C", sched, c, [Divergence("hop", "restoring in another process", str(exc))]), c
        return self._judged(sched, c)

    def _judged(self, sched: Schedule, c: Observation) -> tuple[Finding | None, Observation]:
        if c.exhausted:
            return None, c
        divergences = [*spurious(c), *compare(self.b, c, exclude=self.prep.private | {TARGET_KEY, CROSSINGS_KEY},
                                              names=self.prep.names)]
        return (Finding("B vs C", sched, c, divergences) if divergences else None), c

    def thread_run(self, *, keep_snapshots: bool = False) -> tuple[Finding | None, Observation]:
        """B vs C, C suspended whenever a control thread raises the flag (``--signal thread``).  The finding's
        schedule is ``at:`` the crossings where C really suspended: it replays deterministically."""
        try:
            c = run(self.suspendable, self.seed, "C[thread]", engine=self.prep.engine, keep_snapshots=keep_snapshots,
                    restore=self.restore, thread=thread_delay(self.b.seconds), **self._run_options)  # type: ignore[arg-type]
        except HopFailed as exc:  # as in interrupted(): a finding, replayed from the crossings suspended so far
            c = exc.observation or Observation("C[thread]")
            return Finding("B vs C", Schedule("thread", tuple(c.suspensions)), c,
                           [Divergence("hop", "restoring in another process", str(exc))]), c
        return self._judged(Schedule("thread", tuple(c.suspensions)), c)

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


def thread_delay(b_seconds: float) -> tuple[float, float]:
    """The control thread's delays between raises for a program whose straight run B took B_SECONDS: about
    eight raises a run (a raise lands only as fast as the thread is scheduled: at least 50 µs apart), never
    slower than control.DELAY."""
    from .control import DELAY

    high = min(DELAY[1], max(5e-5, b_seconds / 8))
    return high / 4, high


def flag_note(audit: FlagAudit) -> str:
    """The flag-access audit's figure, in one line."""
    return (f"flag memory: {audit.atomic} atomic access(es), {len(audit.violations)} non-atomic access kind(s)"
            + ("" if audit.violations else " (every read an atomic load, every write an atomic store)"))


def spurious(c: Observation) -> list[Divergence]:
    """The divergence of a run that suspended with its flag never raised (yield-point mode ``flag``)."""
    if not c.spurious:
        return []
    where = f"crossing {c.spurious[0]}"
    return [Divergence("suspensions", where,
                       f"  {c.label} suspended at {where} with its flag set by no raise and at no scheduled crossing "
                       f"(after {len(c.suspensions)} suspension(s) that were asked for): the flag stayed set "
                       f"(never cleared on resume, or written by the program)")]


def _straight(runtime: Callable[[], Runtime], seed: int, label: str,
              options: Callable[[], dict[str, object]] | None = None) -> Observation:
    """A straight run of the module RUNTIME() compiles, with the run OPTIONS() (asked once it
    compiled); a compile budget that runs out makes it inconclusive."""
    try:
        compiled = runtime()
    except Inconclusive as exc:
        return Observation(label, exhausted=str(exc))
    started = time.perf_counter()
    observation = run(compiled, seed, label, **(options() if options is not None else {}))  # type: ignore[arg-type]
    observation.seconds = time.perf_counter() - started
    return observation


def wasi_note(a: Observation) -> str:
    """What the straight run A of a WASI program left behind, in one line."""
    assert a.wasi is not None
    outcome = a.wasi
    code = "none (it trapped)" if outcome.exit_code is None else str(outcome.exit_code)
    return (f"WASI program: exit code {code}, stdout {len(outcome.stdout)} byte(s), stderr {len(outcome.stderr)} "
            f"byte(s), {len(outcome.files)} file(s) in '.', {len(a.clocks)} clock reading(s)"
            + (f"; called {', '.join(outcome.nondeterministic)}" if outcome.nondeterministic else ""))


def thread_notes(verdict: Verdict, prep: Preparation) -> None:
    """What a thread run (``--signal thread``) did, as notes; the replay line names its suspensions."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(verdict.site_kinds.items())) or "none"
    verdict.notes.append(f"control thread: {verdict.signals} signal(s) raised, {verdict.suspensions} suspension(s) "
                         f"(by yield site: {kinds})")
    sites = prep.site_kinds.count(CALL)
    if verdict.suspensions >= AFTER_CALL_NOTE_MIN and sites and not verdict.site_kinds.get(CALL):
        verdict.notes.append(f"liveness: no suspension after a call in {verdict.suspensions} (all at "
                             f"{', '.join(sorted(verdict.site_kinds))}), though the module has {sites} after-call "
                             f"yield site(s): calls may never yield")
    finding = next((f for f in verdict.findings if f.schedule is not None), None)
    if finding is not None and finding.schedule is not None:
        verdict.replay_schedule = "at:" + ",".join(map(str, finding.schedule.crossings)) \
            if finding.schedule.crossings else "none"
    else:  # nothing to pin down: the replay runs the control thread again
        verdict.replay_schedule = DEFAULT_SCHEDULE
        verdict.replay_args += ("--signal", "thread")


#: the file of ``check --out DIR`` holding a WASI program's inputs (``check --wasi`` reads it)
WASI_FILE = "wasi.json"


def judge(prep: Preparation, *, seed: int, schedule: str, out: Path | None = None,
          source: str = "MODULE.wasm", stop_on_first: bool = False, wasi: WasiInputs | None = None,
          replay_args: tuple[str, ...] = (), restore_in: str | None = None,
          restore_config: str | None = None, signal: str = SCHEDULE) -> Verdict:
    restore = restoring(prep, restore_in, restore_config, seed)  # a config wasmtime cannot compile: exit 3, now
    if out is not None:
        files.clear_snapshots(out)
    judge_ = Judge(prep, seed, wasi, restore)
    verdict = Verdict(EQUAL, crossings=judge_.crossings, wasi=judge_.inputs, replay_args=replay_args)
    if out is not None and judge_.inputs is not None:  # the inputs are recorded: the replay line reads them
        files.write_atomic(out / WASI_FILE, json.dumps(judge_.inputs.to_json(), indent=2) + "\n")
        verdict.replay_args = ("--wasi", str(out / WASI_FILE))
    if restore is not None:
        verdict.replay_args += restore.args
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
        if judge_.flag_audit is not None:
            verdict.notes.append(flag_note(judge_.flag_audit))
        if finding:
            verdict.findings.append(finding)
        skip = stop_on_first and bool(verdict.findings)  # A vs B diverged: no schedule runs
        runs = [judge_.thread_run(keep_snapshots=out is not None)] if signal == THREAD and not skip else \
            judge_.schedules(schedule, stop_at_finding=stop_on_first, keep_snapshots=out is not None)
        for finding, c in [] if skip else runs:
            verdict.schedules += 1
            verdict.suspensions += len(c.suspensions)
            verdict.signals += c.signals or 0
            for probe in c.probes:
                kind = prep.site_kinds[probe.site] if 0 <= probe.site < len(prep.site_kinds) else "unknown"
                verdict.site_kinds[kind] = verdict.site_kinds.get(kind, 0) + 1
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
    if restore is not None:
        restore.close()  # the restoring process started ahead for a hop that never came
        verdict.notes.append(restore.description + (f"; {restore.hops} hop(s) between processes" if restore.process
                                                    else ""))
    if signal == THREAD and verdict.schedules:
        thread_notes(verdict, prep)
    if verdict.status == EQUAL and verdict.suspensions == 0 and schedule != "none":
        verdict.notes.append(NOTHING_SUSPENDED)
    for finding in verdict.findings:  # the divergence page draws both sides without re-running A and B
        finding.keep_reference({"A": judge_.a, "B": judge_.b})
    verdict.report = render(verdict, prep, seed, "signal thread (a control thread raises the flag)"
                            if signal == THREAD else schedule, source)
    if out is not None:
        files.write_outputs(out, verdict, prep, seed)
    return verdict
