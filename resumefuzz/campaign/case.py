"""Case execution: generate, prepare and judge one case (in a worker), as a typed result."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from resumefuzz.fuzz import GeneratedCase, get_generator

from ..checker import DIVERGENT, EQUAL, INCONCLUSIVE, THREAD, Judge
from ..errors import EngineDefect, EngineError, Inconclusive, TransformTimeout, Unsupported
from ..hop import restoring
from ..observation import Observation
from ..preparation import prepare
from ..yieldpoints import YieldPoints
from .plan import CasePlan, Options

UNSUPPORTED, ENGINE_ERROR, TRANSFORM_HANG, ERROR = "unsupported", "engine_error", "transform_hang", "error"
#: the engine refused a valid module (an ``engine-rejects-valid`` finding; not judged for transparency)
ENGINE_DEFECT = "engine_defect"
#: the harness's WASI host disagreed with wasmtime's WASI (a harness bug; written as a finding of kind
#: HOST_MISMATCH_KIND, never judged for transparency)
HOST_MISMATCH = "host_mismatch"
HOST_MISMATCH_KIND = "harness-wasi-mismatch"
#: what a case can come to: judged (equal, divergent), inconclusive (a budget ran out), or not judged
STATUSES = (EQUAL, DIVERGENT, INCONCLUSIVE, UNSUPPORTED, ENGINE_DEFECT, ENGINE_ERROR, TRANSFORM_HANG, ERROR,
            HOST_MISMATCH)


@dataclass(frozen=True)
class Size:
    module_bytes: int
    suspensions: int


@dataclass(frozen=True)
class RecordedFinding:
    """A divergence written (or found already written) under OUT/findings/SIGNATURE/."""

    signature: str
    written: bool  # False: OUT already held this signature
    facets: list[str]
    before: Size  # as found
    after: Size  # as written (minimized)
    minimization_cut: bool  # the time budget ended minimization early


@dataclass
class CaseResult:
    status: str  # one of STATUSES
    why: str = ""  # why not judged, or what ran out
    traceback: str = ""  # a harness error's
    crossings: int = 0
    schedules: int = 0
    suspensions: int = 0
    stack: int = 0  # suspensions at a site with values on the operand stack
    deep: int = 0  # suspensions at program call depth > 3
    grown: int = 0  # suspensions after a memory.grow
    table_changed: int = 0  # suspensions with a program table changed since instantiation (size or contents)
    dropped: int = 0  # suspensions after a data or element segment drop
    memory64: int = 0  # suspensions in a module with a 64-bit memory
    multi_memory: int = 0  # suspensions in a module with two or more program memories
    shadow_stack: int = 0  # suspensions of a WASI program with its shadow stack (__stack_pointer) in use
    files_open: int = 0  # suspensions of a WASI program holding a file it opened
    output_written: int = 0  # suspensions of a WASI program after it wrote to stdout or stderr
    signal: str = "schedule"  # how runs C were suspended (the plan's: checker.SIGNALS)
    signals: int = 0  # flag raises by control threads (--signal thread)
    hops: int = 0  # restores in another process (--restore-in process)
    restore: str = ""  # where/under which wasmtime settings runs C restored (the check flags; "" this process)
    wasi: bool = False  # the case is a WASI program (run against the harness's WASI host)
    #: the harness's WASI host disagreed with wasmtime's WASI on the straight run (a harness bug)
    host_mismatch: str = ""
    host_check: str = ""  # the WASI cross-check's status: "agree", "disagree", "skipped" ("" when not run)
    engine: str = ""  # the engine spec the case ran, options drawn (the plan's: "asyncify:optimize-level=2,...")
    profile: str = ""  # the profile the case was made with (the plan's)
    generator: str = ""  # the generator that made it (a composite's member)
    binaryen: str = ""  # the Binaryen release the engine ran (its major version), "" for other engines
    allowances: dict[str, int] = field(default_factory=dict)  # transform-policy allowances, by kind
    flag_mode: bool = False  # the case was prepared in yield-point mode flag (--yield-points flag, --signal thread)
    flag_audited: bool = False  # its prepared module's flag-memory accesses were audited (checker.Judge.flag_audit)
    flag_violations: int = 0  # ... and found this many kinds of non-atomic access
    finding: RecordedFinding | None = None
    defect_class: str = ""  # an engine defect's message class (ENGINE_DEFECT)
    defect_engine: str = ""  # ... and the engine's name
    seconds: float = field(default=0.0, compare=False)  # wall-clock time of an ENGINE_DEFECT case


def generate(plan: CasePlan) -> GeneratedCase:
    """PLAN's module, made by its generator."""
    return get_generator(plan.generator).generate(plan.seed, plan.profile)


def binaryen_release(engine: Any) -> str:
    """The Binaryen release ENGINE transforms with (major version, e.g. "125"), "" if it is not Binaryen's
    Asyncify (a planted fault's base counts): its ``version`` option, else the default release."""
    from ..engines.asyncify import AsyncifyEngine

    base = getattr(engine, "base", engine)
    if not isinstance(base, AsyncifyEngine) or type(base).transform is not AsyncifyEngine.transform:
        return ""  # not Binaryen's pass (e.g. an external command behind Asyncify's runtime protocol)
    version = engine.config.get("version")
    if version:
        return str(version)
    try:
        from ..binaryen import default_version

        return default_version()
    except Exception:  # noqa: BLE001 - a label only: no release known, no pinned package.json
        return "default"


def run_case(plan: CasePlan, options: Options, notify: Callable[[list[str]], None] | None = None,
             deadline: float | None = None) -> CaseResult:
    """Judge one case; DEADLINE (epoch seconds) bounds the minimization of a finding."""
    from ..engines import get_engine

    engine = get_engine(plan.engine)
    _configure(engine, options)
    result = _judge(plan, options, engine, notify, deadline)
    result.profile, result.binaryen, result.generator = plan.profile, binaryen_release(engine), plan.generator
    result.signal, result.engine = plan.signal, plan.engine
    result.flag_mode = YieldPoints.parse(plan.yield_points).flag
    return result


def _judge(plan: CasePlan, options: Options, engine: Any, notify: Callable[[list[str]], None] | None,
           deadline: float | None) -> CaseResult:
    started = time.time()
    case = generate(plan)
    try:
        prep = prepare(case.wasm, engine, YieldPoints.parse(plan.yield_points), wasmtime_opt=plan.wasmtime_opt)
        restore = restoring(prep, plan.restore_in, plan.restore_config, plan.seed)  # compiled now: exit-3 early
        judge = Judge(prep, plan.seed, case.wasi, restore)
    except TransformTimeout as exc:  # the system under test hung: a finding, as a hanging run is
        return CaseResult(TRANSFORM_HANG, str(exc))
    except EngineError as exc:
        return CaseResult(ENGINE_ERROR, str(exc))
    except EngineDefect as exc:  # a finding of its own kind; a known one costs only this classification
        from .findings import record_engine_defect

        # The parent is not told a defect is being minimized (only divergences extend the case's
        # wall-clock limit), so minimization keeps within half of --case-timeout: a worker busy
        # past the limit would be reported as a hang of the engine.
        deadline = min(deadline if deadline is not None else time.time() + options.minimize_timeout,
                       started + options.case_timeout / 2, started + defect_minimize_budget(options))
        result = CaseResult(ENGINE_DEFECT, str(exc), defect_class=exc.message_class, defect_engine=exc.engine)
        result.finding = record_engine_defect(plan, options, case, exc, deadline)
        result.seconds = time.time() - started
        return result
    except Unsupported as exc:
        return CaseResult(UNSUPPORTED, str(exc))
    except Inconclusive as exc:
        return CaseResult(INCONCLUSIVE, str(exc))
    result = CaseResult(EQUAL, crossings=judge.crossings, wasi=judge.inputs is not None,
                        restore=" ".join(restore.args) if restore is not None else "")
    try:
        return _judged(plan, options, case, prep, judge, result, notify, deadline)
    finally:
        if restore is not None:
            result.hops = restore.hops
            restore.close()


def _judged(plan: CasePlan, options: Options, case: GeneratedCase, prep: Any, judge: Judge, result: "CaseResult",
            notify: Callable[[list[str]], None] | None, deadline: float | None) -> "CaseResult":
    """RESULT of PLAN's prepared CASE: the host cross-check, A vs B, then B vs C (schedules, or a run a
    control thread suspends)."""
    from .findings import record_finding

    if judge.inconclusive:
        result.status = INCONCLUSIVE
        return result
    result.host_check = judge.host_check.status if judge.host_check is not None else ""
    if judge.host_check is not None and judge.host_check.status == "disagree":
        from .findings import unjudged_finding

        result.status, result.why = HOST_MISMATCH, judge.host_check.detail
        result.host_mismatch = judge.host_check.detail
        signature, written = unjudged_finding(options.out, plan, f"HARNESS BUG: {result.why}", kind=HOST_MISMATCH_KIND)
        size = Size(len(case.wasm), 0)
        result.finding = RecordedFinding(signature, written, [HOST_MISMATCH_KIND], size, size, False)
        return result
    try:
        finding = judge.transform()  # may compile a NaN-canonicalizing pair (budgets apply)
    except Inconclusive as exc:
        result.status, result.why = INCONCLUSIVE, str(exc)
        _audited(result, judge)
        return result
    except Unsupported as exc:
        return _audited(CaseResult(UNSUPPORTED, str(exc)), judge)
    _audited(result, judge)
    result.allowances = dict(judge.allowances)
    exhausted = 0
    if finding is None:
        runs = [judge.thread_run()] if plan.signal == THREAD else judge.schedules(plan.schedule, stop_at_finding=True)
        for finding, c in runs:
            result.schedules += 1
            tally(result, c, prep.sites)
            result.signals += c.signals or 0
            exhausted += bool(c.exhausted)
    if finding is None:
        if result.schedules and exhausted == result.schedules:
            result.status = INCONCLUSIVE
        return result
    if notify is not None:
        notify(finding.facets)  # minimization may take longer than a case
    result.status = DIVERGENT
    if deadline is None:
        deadline = time.time() + options.minimize_timeout
    result.finding = record_finding(plan, options, case, judge, finding, deadline)
    return result


def _audited(result: CaseResult, judge: Judge) -> CaseResult:
    """RESULT with the flag audit JUDGE's transform() made (yield-point mode flag; liveness: stats
    ``flag_audits``); the audit runs before A vs B, so it is there even when A vs B could not be judged."""
    audit = judge.__dict__.get("flag_audit")  # the cached audit; never computed here
    result.flag_audited = audit is not None
    result.flag_violations = len(audit.violations) if audit is not None else 0
    return result


#: a new engine defect's minimization gets this share of a timed campaign's budget (at least
#: DEFECT_MINIMIZE_FLOOR seconds): a short campaign's budget goes to judging cases, not to shrinking
#: reproducers of defects whose class is already recorded (the full module is kept when cut)
DEFECT_MINIMIZE_SHARE = 0.1
DEFECT_MINIMIZE_FLOOR = 5.0


def defect_minimize_budget(options: Options) -> float:
    """Seconds a new engine defect may be minimized for in a case (case timeout aside)."""
    if options.time_limit is None:
        return options.minimize_timeout
    return max(DEFECT_MINIMIZE_FLOOR, DEFECT_MINIMIZE_SHARE * options.time_limit)


def tally(result: CaseResult, run: Observation, sites: Any) -> None:
    """Add interrupted RUN's suspensions to RESULT's liveness counters (SITES: static stack height by yield site)."""
    result.suspensions += len(run.suspensions)
    for probe in run.probes:
        height = sites[probe.site] if 0 <= probe.site < len(sites) else None
        result.stack += bool(height)
        result.deep += probe.depth > 3
        result.grown += probe.grown
        result.table_changed += probe.table_changed
        result.dropped += probe.dropped
        result.memory64 += probe.memory64
        result.multi_memory += probe.memories >= 2
        result.shadow_stack += probe.shadow_stack
        result.files_open += probe.files_open
        result.output_written += probe.output_written


def _configure(engine: Any, options: Options) -> None:
    """Campaign-wide engine settings (an external transform's wall-clock limit)."""
    if hasattr(engine, "transform_timeout"):
        engine.transform_timeout = options.transform_timeout
