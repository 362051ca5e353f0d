"""Fuzz campaigns: generated programs × schedules × engine configurations.

The parent process deals case numbers to worker processes and never runs
wasm itself, so a crash, hang (wall-clock limit per case) or memory blow-up
of the system under test kills only a worker: it becomes a finding and the
worker is replaced.  Every case is a deterministic function of (campaign
seed, case number): generator input, engine configuration, yield points,
wasmtime optimization level, schedule and host seed.

Findings go to ``OUT/findings/<signature>/``, written into a temporary
directory first and renamed into place, so a finding is either complete or
absent; it is announced only after the rename.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import shlex
import shutil
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .checker import DIVERGENT, INCONCLUSIVE, Judge, Verdict, write_atomic
from . import limits
from .errors import BadInput, EngineError, Inconclusive, TransformTimeout, Unsupported
from .host import splitmix64
from .preparation import prepare
from .schedule import Schedule, expand
from .yieldpoints import YieldPoints

GENERATORS = ("smith", "structured", "mixed")
CAMPAIGN_SCHEDULE = "quick"
_YIELD_CHOICES = ("all", "all", "entry,loop,call", "loop", "call,loop")
_WASMTIME_OPT = ("speed", "none", "speed_and_size")
#: Asyncify's private buffer memory: small buffers are cheap to snapshot (the whole memory is
#: captured at every suspension) and test the overflow path; 16 pages fit deep stacks.
_BUFFER_PAGES = (1, 1, 2, 16)
_SCHEDULE_CHOICES = (CAMPAIGN_SCHEDULE,) * 3 + ("systematic",)


@dataclass(frozen=True)
class Options:
    generator: str = "smith"
    profile: str = "core"
    engine: str = "asyncify"
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
    stop_on_finding: bool = False  # end the campaign at the first finding (self-test)
    transform_timeout: float = limits.TRANSFORM_TIMEOUT  # an external transform command's wall-clock limit
    #: the liveness gate: a campaign that judged too little exits 3 (see `gate`)
    max_unjudged: float = 0.5  # highest share of cases not judged (unsupported, engine error, harness error)
    min_suspensions: int = 1  # fewest suspensions a campaign must perform


@dataclass(frozen=True)
class CasePlan:
    """Everything a case is, as plain data (recorded with every finding)."""

    index: int
    seed: int
    generator: str
    profile: str
    engine: str
    yield_points: str
    wasmtime_opt: str
    schedule: str

    @classmethod
    def make(cls, options: Options, index: int) -> "CasePlan":
        seed = splitmix64(options.seed * 0x100000001 + index)
        pick = lambda salt, choices: choices[splitmix64(seed ^ salt) % len(choices)]  # noqa: E731
        generator = options.generator
        if generator == "mixed":
            generator = pick(1, ("smith", "structured"))
        engine = options.engine
        if engine == "asyncify":  # the default engine: fuzz its configuration too
            level = pick(2, (0, 0, 1, 2, 3))
            engine = (f"asyncify:optimize-level={level},shrink-level={pick(3, (0, 0, 1, 2))},"
                      f"optimize-before={pick(4, ('false', 'false', 'true'))},"
                      f"optimize-after={pick(5, ('false', 'false', 'true'))},"
                      f"buffer-pages={pick(9, _BUFFER_PAGES)}")
        return cls(index, seed, generator, options.profile, engine, pick(6, _YIELD_CHOICES),
                   pick(7, _WASMTIME_OPT), pick(8, _SCHEDULE_CHOICES))


@dataclass
class Stats:
    cases: int = 0
    equal: int = 0
    divergent: int = 0
    inconclusive: int = 0
    unsupported: int = 0
    engine_errors: int = 0  # the engine's transform failed on a module (exit, timeout, invalid output)
    errors: int = 0  # harness errors (a bug in resumefuzz itself)
    crashes: int = 0
    hangs: int = 0
    memory: int = 0
    duplicates: int = 0  # divergences whose signature was already recorded in OUT (still divergences)
    cut: int = 0  # cases stopped unfinished at the end of the time budget (not judged, not counted in `cases`)
    minimization_cut: int = 0  # findings written unminimized or part-minimized because the budget ran out
    schedules: int = 0
    suspensions: int = 0
    # liveness: what the suspensions looked like
    cases_suspended: int = 0  # cases with at least one suspension
    stack_suspensions: int = 0  # suspensions at a site with values on the operand stack
    deep_suspensions: int = 0  # suspensions at program call depth > 3
    grown_suspensions: int = 0  # suspensions after a memory.grow
    findings: list[str] = field(default_factory=list)  # new signatures this run
    known: list[str] = field(default_factory=list)  # signatures found again that OUT already held
    #: A-vs-B differences the transform policy excused (README "Transform policy"), by allowance:
    #: "nan payload", "trap kind", "same body" (liveness: does the campaign reach optimizer effects?)
    allowances: dict[str, int] = field(default_factory=dict)
    unsupported_reasons: dict[str, int] = field(default_factory=dict)
    engine_error_reasons: dict[str, int] = field(default_factory=dict)
    first_finding: dict[str, Any] | None = None  # seconds, cases, signature, facets, reproducer size, new
    interrupted: bool = False  # stopped by Ctrl-C / SIGTERM
    started: float = field(default_factory=time.time)
    elapsed: float = 0.0

    @property
    def diverged(self) -> int:
        """Cases that showed a divergence of any kind, new or already known."""
        return self.divergent + self.crashes + self.hangs + self.memory

    @property
    def judged(self) -> int:
        return self.equal + self.divergent

    @property
    def unjudged(self) -> int:
        return self.unsupported + self.engine_errors + self.errors

    def line(self) -> str:
        rate = lambda n: n / max(self.elapsed, 1e-9)  # noqa: E731
        return (f"{self.elapsed:6.1f}s  cases {self.cases} ({rate(self.cases):.1f}/s)  schedules {self.schedules} "
                f"({rate(self.schedules):.1f}/s)  suspensions {self.suspensions}  findings {len(self.findings)}  "
                f"inconclusive {self.inconclusive}  unsupported {self.unsupported}  engine errors {self.engine_errors}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["modules_per_second"] = self.cases / max(self.elapsed, 1e-9)
        data["schedules_per_second"] = self.schedules / max(self.elapsed, 1e-9)
        return data


#: exit codes of a campaign (`resumefuzz fuzz`, `smoke`)
EXIT_CLEAN, EXIT_DIVERGED, EXIT_BAD_USAGE, EXIT_UNEXERCISED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def gate(stats: Stats, options: Options) -> tuple[int, str | None]:
    """The campaign's exit code and, unless clean, a one-line reason.

    1 whenever any case diverged (new or already-known signature, crash, hang,
    memory blow-up); otherwise 3 when the campaign exercised too little to
    mean anything: no case judged, more than ``max_unjudged`` of the cases
    not judged (unsupported, engine errors, harness errors), or fewer than
    ``min_suspensions`` suspensions; 130 when interrupted; else 0.
    """
    if stats.diverged or stats.findings or stats.known:
        known = f", {len(stats.known)} already recorded in {options.out / 'findings'}" if stats.known else ""
        return EXIT_DIVERGED, f"{stats.diverged} case(s) diverged ({len(stats.findings)} new finding(s){known})"
    if stats.interrupted:
        return EXIT_INTERRUPTED, "interrupted"
    why = None
    unjudged = (f"{stats.unsupported} unsupported, {stats.engine_errors} engine error(s), "
                f"{stats.errors} harness error(s)")
    if stats.cases == 0:
        why = "no case ran"
    elif stats.judged == 0:
        why = f"no case was judged ({unjudged}, {stats.inconclusive} inconclusive of {stats.cases})"
    elif stats.unjudged > options.max_unjudged * stats.cases:
        why = (f"{stats.unjudged} of {stats.cases} cases were not judged ({unjudged}), above "
               f"--max-unjudged {options.max_unjudged:g}")
    elif stats.suspensions < options.min_suspensions:
        why = f"{stats.suspensions} suspension(s), below --min-suspensions {options.min_suspensions}"
    if why is not None:
        return EXIT_UNEXERCISED, f"the campaign exercised too little: {why}"
    return EXIT_CLEAN, None


# ---------------------------------------------------------------------------
# generation


def generate(plan: CasePlan) -> tuple[bytes, dict[str, Any], bytes | None]:
    """(module, generator record, smith input bytes or None) for PLAN."""
    if plan.generator == "smith":
        from resumefuzz.fuzz import smith

        case = smith.generate_from_seed(plan.profile, plan.seed)
        return case.wasm, {"generator": "smith", "profile": plan.profile}, case.input
    if plan.generator == "structured":
        from resumefuzz.fuzz import structured

        program = structured.draw(plan.seed, simd=plan.profile == "simd")
        return program.wasm(), {"generator": "structured", "profile": plan.profile}, None
    raise BadInput(f"--generator: unknown generator {plan.generator!r} (choose from {', '.join(GENERATORS)})")


# ---------------------------------------------------------------------------
# one case (runs in a worker)


def run_case(plan: CasePlan, options: Options, notify: Any = None, deadline: float | None = None) -> dict[str, Any]:
    """Judge one case; DEADLINE (epoch seconds) bounds the minimization of a finding."""
    from .engines import get_engine

    wasm, record, smith_input = generate(plan)
    engine = get_engine(plan.engine)
    _configure(engine, options)
    try:
        prep = prepare(wasm, engine, YieldPoints.parse(plan.yield_points), wasmtime_opt=plan.wasmtime_opt)
        judge = Judge(prep, plan.seed)
    except TransformTimeout as exc:  # the system under test hung: a finding, as a hanging run is
        return {"status": "transform_hang", "why": str(exc)}
    except EngineError as exc:
        return {"status": "engine_error", "why": str(exc)}
    except Unsupported as exc:
        return {"status": "unsupported", "why": str(exc)}
    except Inconclusive as exc:
        return {"status": INCONCLUSIVE, "why": str(exc)}
    result: dict[str, Any] = {"status": "equal", "crossings": judge.crossings, "schedules": 0, "suspensions": 0,
                              "stack": 0, "deep": 0, "grown": 0}
    if judge.inconclusive:
        return {**result, "status": INCONCLUSIVE}
    try:
        finding = judge.transform()  # may compile a NaN-canonicalizing pair (budgets apply)
    except Inconclusive as exc:
        return {**result, "status": INCONCLUSIVE, "why": str(exc)}
    except Unsupported as exc:
        return {"status": "unsupported", "why": str(exc)}
    result["allowances"] = dict(judge.allowances)
    schedules = expand(plan.schedule, judge.crossings, plan.seed)
    inconclusive = 0
    for sched in schedules:
        if finding is not None:
            break
        finding, c = judge.interrupted(sched)
        result["schedules"] += 1
        result["suspensions"] += len(c.suspensions)
        for probe in c.probes:
            height = prep.sites[probe.site] if 0 <= probe.site < len(prep.sites) else None
            result["stack"] += bool(height)
            result["deep"] += probe.depth > 3
            result["grown"] += probe.grown
        inconclusive += bool(c.exhausted)
    if finding is None:
        if schedules and inconclusive == len(schedules):
            result["status"] = INCONCLUSIVE
        return result
    if notify is not None:
        notify(finding.facets)  # minimization may take longer than a case
    result["status"] = DIVERGENT
    if deadline is None:
        deadline = time.time() + options.minimize_timeout
    result["finding"] = _record_finding(plan, options, wasm, record, smith_input, judge, finding, deadline)
    return result


def _configure(engine: Any, options: Options) -> None:
    """Campaign-wide engine settings (an external transform's wall-clock limit)."""
    if hasattr(engine, "transform_timeout"):
        engine.transform_timeout = options.transform_timeout


def _check_args(plan: CasePlan, schedule: str) -> list[str]:
    return ["--engine", plan.engine, "--seed", str(plan.seed), "--schedule", schedule,
            "--yield-points", plan.yield_points, "--wasmtime-opt", plan.wasmtime_opt]


def _record_finding(plan: CasePlan, options: Options, wasm: bytes, record: dict[str, Any],
                    smith_input: bytes | None, judge: Judge, finding: Any, deadline: float) -> dict[str, Any]:
    """Minimize FINDING until DEADLINE (epoch seconds), then write it; a finding whose
    minimization the deadline cut short is still written, and says so."""
    from .minimize import minimize_schedule, shrink_module

    facets = set(finding.facets)
    before = {"module_bytes": len(wasm),
              "suspensions": len(finding.schedule.crossings) if finding.schedule else 0}
    cut = False
    if finding.schedule is None:
        schedule = Schedule("none", ())
    elif time.time() < deadline:
        schedule = minimize_schedule(judge, finding, deadline=deadline)
    else:
        schedule = finding.schedule
    spec = "none" if not schedule.crossings else f"{schedule.label};spread:8"
    if finding.schedule is not None and not schedule.label.startswith("at:"):
        spec = "at:" + ",".join(map(str, schedule.crossings))
    module, text = wasm, None
    if options.shrink_attempts > 0 and time.time() >= deadline:
        cut = True
    elif plan.generator == "smith" and options.shrink_attempts > 0:
        module = shrink_module(wasm, _check_args(plan, spec), facets, attempts=options.shrink_attempts,
                               timeout=max(0.0, deadline - time.time()))
    elif plan.generator == "structured" and options.shrink_attempts > 0:
        from resumefuzz.fuzz import structured

        def interesting(program: Any) -> bool:
            if time.time() >= deadline:
                return False  # out of budget: Hypothesis ends its shrink with the best example so far
            found = _verify(program.wasm(), plan, spec)
            return found is not None and found.status == DIVERGENT and bool(facets & set(found.facets))

        shrunk = structured.shrink(plan.seed, plan.profile == "simd", interesting)
        if shrunk is not None:
            module, text = shrunk.wasm(), shrunk.wat()
    cut = cut or time.time() >= deadline
    # The recorded case must replay: re-judge exactly what is written.
    verdict = _verify(module, plan, spec)
    if verdict is None or verdict.status != DIVERGENT:
        module = wasm
        verdict = _verify(module, plan, spec) or _verify(module, plan, CAMPAIGN_SCHEDULE)
        spec = spec if verdict is not None and verdict.status == DIVERGENT else CAMPAIGN_SCHEDULE
    after = {"module_bytes": len(module), "suspensions": len(schedule.crossings)}
    files: dict[str, bytes | str] = {
        "module.wasm": module,
        "schedule.json": json.dumps({"spec": spec, "crossings": list(schedule.crossings),
                                     "original": finding.schedule and list(finding.schedule.crossings)}, indent=2),
        "engine.json": json.dumps({"engine": plan.engine, "yield_points": plan.yield_points,
                                   "wasmtime_opt": plan.wasmtime_opt}, indent=2),
        "case.json": json.dumps({**asdict(plan), **record, "facets": sorted(facets), "before": before,
                                 "after": after, "minimization": _MINIMIZATION[cut]}, indent=2),
        "report.txt": (verdict.report if verdict else "replay did not reproduce; see case.json\n")
        + (f"note: {_MINIMIZATION[True]}\n" if cut else ""),
        "replay": _replay_script(plan, spec),
    }
    if smith_input is not None:
        files["smith-input.bin"] = smith_input
    try:
        from . import wasmtools

        files["module.wat"] = text if text is not None and module is not wasm else wasmtools.print_text(module)
    except Exception:  # noqa: BLE001 - printing is a convenience
        pass
    signature = _signature(sorted(facets), plan.engine, module)
    written = write_finding(options.out, signature, files)
    return {"signature": signature, "written": written, "facets": sorted(facets), "before": before, "after": after,
            "minimization_cut": cut}


_MINIMIZATION = {False: "complete",
                 True: "cut short: the campaign's time budget ran out (module and schedule may be larger than needed)"}


def _verify(module: bytes, plan: CasePlan, spec: str) -> Verdict | None:
    from .checker import judge as judge_module
    from .engines import get_engine

    try:
        prep = prepare(module, get_engine(plan.engine), YieldPoints.parse(plan.yield_points),
                       wasmtime_opt=plan.wasmtime_opt)
        return judge_module(prep, seed=plan.seed, schedule=spec, source="module.wasm")
    except Unsupported:
        return None


def _replay_script(plan: CasePlan, spec: str) -> str:
    args = " ".join(shlex.quote(a) for a in _check_args(plan, spec))
    python = shlex.quote(sys.executable)
    return ("#!/bin/sh\n# Reproduce this finding (exit 1 = still divergent), with the interpreter that found it.\n"
            f'cd "$(dirname "$0")" && exec {python} -m resumefuzz check module.wasm {args} "$@"\n')


def _signature(facets: list[str], engine: str, module: bytes) -> str:
    from . import wasmtools

    try:
        shape = re.sub(r"\$\S+|-?\b\d[\w.+:-]*|\"[^\"]*\"|\(;\d+;\)", "", wasmtools.print_text(module))
    except Exception:  # noqa: BLE001
        shape = module.hex()
    digest = hashlib.sha256(f"{engine}\n{shape}".encode()).hexdigest()[:12]
    return f"{'+'.join(facets)}-{digest}"


def write_finding(out: Path, signature: str, files: dict[str, bytes | str]) -> bool:
    """Atomically create OUT/findings/SIGNATURE/ with FILES; False if it already exists."""
    root = out / "findings"
    final = root / signature
    if final.exists():
        return False
    tmp = root / f".tmp-{signature}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, content in files.items():
        write_atomic(tmp / name, content)
    if "replay" in files:
        (tmp / "replay").chmod(0o755)
    try:
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    return True


# ---------------------------------------------------------------------------
# workers

#: after the time budget, a case still being judged gets this long to finish before it is cut
CUT_GRACE = 2.0
#: ... and a finding being minimized this long past the budget to be written (minimization itself
#: stops at the budget; re-judging what is written and writing it take the rest)
WRITE_GRACE = 20.0


def _worker_main(conn: multiprocessing.connection.Connection, options: Options) -> None:
    # A process group of its own: the parent kills the worker with everything it started (node,
    # wasm-tools shrink and its predicates), a Ctrl-C on the terminal reaches only the parent,
    # and the worker dies with the parent however the parent ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setpgrp()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    from .process import die_with_parent

    die_with_parent(signal.SIGTERM)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, deadline = message
        plan = CasePlan.make(options, index)
        try:
            result = run_case(plan, options, deadline=deadline,
                              notify=lambda facets: conn.send(("minimizing", index, facets)))
        except Exception as exc:  # noqa: BLE001 - a harness error must not end the campaign
            result = {"status": "error", "why": f"case {index}: {type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc(limit=12)}
        try:
            conn.send(("done", index, result))
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, options: Options) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=_worker_main, args=(child, options), daemon=True)
        # SIGINT stays blocked in the child until it has left the terminal's process group
        # (a signal mask survives exec): a Ctrl-C during start-up must not reach it.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        child.close()
        self.index: int | None = None
        self.deadline = 0.0
        self.facets: list[str] | None = None  # set while the worker minimizes a finding

    def send(self, index: int, timeout: float, deadline: float) -> None:
        self.index, self.deadline, self.facets = index, time.monotonic() + timeout, None
        self.conn.send((index, deadline))

    def kill(self) -> None:
        """Kill the worker and its whole process group (everything it started)."""
        if self.proc.pid is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.kill()
        self.proc.join(5)

    def rss_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0.0
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else 0.0


class _Lock:
    """One campaign per output directory: a second one refuses (stats.json has one writer)."""

    def __init__(self, out: Path) -> None:
        import fcntl

        self.path = out / ".lock"
        self.handle = open(self.path, "a+")  # noqa: SIM115 - held for the campaign's lifetime
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "?"
            self.handle.close()
            raise BadInput(f"--out {out}: another campaign (pid {holder}) is using this directory; "
                           "give each campaign its own --out") from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"{os.getpid()}\n")
        self.handle.flush()

    def release(self) -> None:
        self.handle.close()


class Campaign:
    def __init__(self, options: Options) -> None:
        if options.generator not in GENERATORS:
            raise BadInput(f"--generator: unknown generator {options.generator!r} (choose from {', '.join(GENERATORS)})")
        if options.time_limit is None and options.cases is None:
            raise BadInput("give --time DURATION or --cases N")
        if not 1 <= options.jobs <= limits.MAX_JOBS:
            raise BadInput(f"--jobs must be between 1 and {limits.MAX_JOBS} on this machine "
                           f"({os.cpu_count()} cores), not {options.jobs}")
        if options.shrink_attempts < 0:
            raise BadInput(f"--shrink-attempts must be 0 or more, not {options.shrink_attempts}")
        if not 0 <= options.max_unjudged <= 1:
            raise BadInput(f"--max-unjudged must be a share between 0 and 1, not {options.max_unjudged}")
        self.options = options
        self.stats = Stats()
        self.errors: list[str] = []
        self.detected: tuple[float, int] | None = None  # (seconds, cases) at the first detection
        self.signatures: set[str] = set()

    def _known(self) -> set[str]:
        known = self.options.out / "findings"
        return {p.name for p in known.iterdir() if not p.name.startswith(".")} if known.is_dir() else set()

    def run(self) -> Stats:
        """Run the campaign; Ctrl-C / SIGTERM stop it within a second or two, with stats written."""
        options, stats = self.options, self.stats
        options.out.mkdir(parents=True, exist_ok=True)
        lock = _Lock(options.out)
        self.signatures = self._known()
        end = None if options.time_limit is None else stats.started + options.time_limit
        workers: list[_Worker] = []
        next_index = 0
        display = _Display(options.progress)
        last_stats = 0.0
        previous_term = signal.getsignal(signal.SIGTERM)
        if threading_main():
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            while len(workers) < options.jobs and (end is None or time.time() < end):
                workers.append(_Worker(options))
            while True:
                now = time.time()
                stats.elapsed = now - stats.started
                out_of_time = (end is not None and now >= end) or (options.stop_on_finding and bool(stats.diverged))
                deadline = end if end is not None else now + options.minimize_timeout
                for worker in workers:
                    if worker.index is None and not out_of_time and (options.cases is None or next_index < options.cases):
                        worker.send(next_index, options.case_timeout, deadline)
                        next_index += 1
                busy = [w for w in workers if w.index is not None]
                if not busy:
                    break
                for conn in multiprocessing.connection.wait([w.conn for w in busy], timeout=0.25):
                    worker = next(w for w in busy if w.conn is conn)
                    self._receive(worker)
                for i, worker in enumerate(workers):
                    if worker.index is None:
                        continue
                    if not worker.proc.is_alive():
                        self._lost(worker, "crash", f"worker died (exit code {worker.proc.exitcode})")
                    elif end is not None and worker.facets is None and time.time() > end + CUT_GRACE:
                        self._cut(worker)
                    elif end is not None and worker.facets is not None and time.time() > end + WRITE_GRACE:
                        self._unminimized(worker)
                    elif time.monotonic() > worker.deadline:
                        self._lost(worker, "hang", f"case exceeded the {options.case_timeout:.0f}s wall-clock limit")
                    elif worker.rss_mb() > options.memory_limit_mb:
                        self._lost(worker, "memory", f"worker exceeded {options.memory_limit_mb} MB resident memory")
                    else:
                        continue
                    workers[i] = _Worker(options)
                display.update(stats)
                if time.monotonic() - last_stats > 5:
                    self._write_stats()
                    last_stats = time.monotonic()
        except KeyboardInterrupt:
            stats.interrupted = True
        finally:
            if threading_main():
                signal.signal(signal.SIGTERM, previous_term)
            # Idle workers leave on request (clean exit, temp files removed); busy ones are killed whole.
            for worker in workers:
                try:
                    if worker.index is None:
                        worker.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            for worker in workers:
                if worker.index is None:
                    worker.proc.join(2)
                if worker.proc.is_alive():
                    worker.kill()
            stats.elapsed = time.time() - stats.started
            display.close(stats)
            self._write_stats()
            lock.release()
        return stats

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            return  # the liveness check reports the crash
        if message[0] == "minimizing":  # a divergence was just detected; minimization follows
            worker.deadline = time.monotonic() + self.options.minimize_timeout + WRITE_GRACE
            worker.facets = list(message[2])
            if self.detected is None:
                self.detected = (time.time() - self.stats.started, self.stats.cases + 1)
            return
        _, index, result = message
        worker.index, worker.facets = None, None
        self._count({**result, "index": index})

    def _count(self, result: dict[str, Any]) -> None:
        stats = self.stats
        stats.cases += 1
        status = result["status"]
        stats.schedules += result.get("schedules", 0)
        stats.suspensions += result.get("suspensions", 0)
        stats.cases_suspended += result.get("suspensions", 0) > 0
        stats.stack_suspensions += result.get("stack", 0)
        stats.deep_suspensions += result.get("deep", 0)
        stats.grown_suspensions += result.get("grown", 0)
        for kind, count in result.get("allowances", {}).items():
            stats.allowances[kind] = stats.allowances.get(kind, 0) + count
        if status == "error":
            stats.errors += 1
            self.errors.append(result["why"] + "\n" + result.get("traceback", ""))
            print(f"resumefuzz: harness error in a case: {result['why']}", file=sys.stderr)
            return
        if status == "transform_hang":
            assert result.get("index") is not None
            self._write_lost(CasePlan.make(self.options, result["index"]), "hang", result["why"])
            return
        if status == "engine_error":
            stats.engine_errors += 1
            _tally(stats.engine_error_reasons, result.get("why", ""))
            return
        setattr(stats, status, getattr(stats, status) + 1)
        if status == "unsupported":
            _tally(stats.unsupported_reasons, result.get("why", ""))
        finding = result.get("finding")
        if finding:
            stats.minimization_cut += bool(finding.get("minimization_cut"))
            new = self._announce(finding["signature"], finding["written"],
                                 f"{', '.join(finding['facets'])}: module {finding['before']['module_bytes']}→"
                                 f"{finding['after']['module_bytes']} bytes, suspensions "
                                 f"{finding['before']['suspensions']}→{finding['after']['suspensions']}")
            if stats.first_finding is None:
                seconds, cases = self.detected or (time.time() - stats.started, stats.cases)
                stats.first_finding = {"seconds": seconds, "cases": cases,
                                       "minimized_after": time.time() - stats.started,
                                       "signature": finding["signature"], "facets": finding["facets"],
                                       "module_bytes": finding["after"]["module_bytes"],
                                       "suspensions": finding["after"]["suspensions"], "new": new}

    def _cut(self, worker: _Worker) -> None:
        """The budget ended while WORKER was still judging its case: stop it, judge nothing."""
        worker.kill()
        worker.index = None
        self.stats.cut += 1

    def _unminimized(self, worker: _Worker) -> None:
        """WORKER found a divergence but did not write it in time: write it unminimized ourselves."""
        assert worker.index is not None and worker.facets is not None
        plan = CasePlan.make(self.options, worker.index)
        facets = worker.facets
        worker.kill()
        worker.index = None
        self.stats.cases += 1
        self.stats.divergent += 1
        self.stats.minimization_cut += 1
        wasm, record, smith_input = generate(plan)
        files: dict[str, bytes | str] = {
            "module.wasm": wasm,
            "case.json": json.dumps({**asdict(plan), **record, "facets": facets,
                                     "minimization": "not run: the time budget ended before it finished"}, indent=2),
            "report.txt": f"resumefuzz fuzz: DIVERGENT: {', '.join(facets)} (unminimized: the time budget ended "
                          f"during minimization)\ncase: {json.dumps(asdict(plan))}\n",
            "replay": _replay_script(plan, plan.schedule),
        }
        if smith_input is not None:
            files["smith-input.bin"] = smith_input
        signature = _signature(facets, plan.engine, wasm)
        self._announce(signature, write_finding(self.options.out, signature, files), "unminimized")

    def _lost(self, worker: _Worker, kind: str, why: str) -> None:
        assert worker.index is not None
        plan = CasePlan.make(self.options, worker.index)
        worker.kill()
        worker.index = None
        self.stats.cases += 1
        self._write_lost(plan, kind, why)

    def _write_lost(self, plan: CasePlan, kind: str, why: str) -> None:
        """A crash, hang or memory blow-up of the system under test: a finding of its own kind."""
        counter = {"crash": "crashes", "hang": "hangs", "memory": "memory"}[kind]
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        wasm, record, smith_input = generate(plan)
        files: dict[str, bytes | str] = {
            "module.wasm": wasm,
            "case.json": json.dumps({**asdict(plan), **record, "kind": kind}, indent=2),
            "report.txt": f"resumefuzz fuzz: {kind.upper()}: {why}\ncase: {json.dumps(asdict(plan))}\n",
            "replay": _replay_script(plan, plan.schedule),
        }
        if smith_input is not None:
            files["smith-input.bin"] = smith_input
        signature = f"{kind}-{hashlib.sha256(wasm).hexdigest()[:12]}"
        self._announce(signature, write_finding(self.options.out, signature, files), why)

    def _announce(self, signature: str, written: bool, detail: str) -> bool:
        """Record a divergence's finding; True if it is new (False: OUT already held this signature)."""
        if not written or signature in self.signatures:
            self.stats.duplicates += 1
            if signature not in self.stats.known:
                self.stats.known.append(signature)
            print(f"\nKNOWN   {self.options.out / 'findings' / signature}  ({detail})", file=sys.stderr, flush=True)
            return False
        self.signatures.add(signature)
        self.stats.findings.append(signature)
        print(f"\nFINDING {self.options.out / 'findings' / signature}  ({detail})", file=sys.stderr, flush=True)
        return True

    def _write_stats(self) -> None:
        options = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.options).items()}
        code, reason = gate(self.stats, self.options)
        write_atomic(self.options.out / "stats.json", json.dumps(
            {**self.stats.to_json(), "options": options, "exit_code": code, "verdict": reason,
             "errors": self.errors[:20]}, indent=2) + "\n")


def _tally(reasons: dict[str, int], why: str) -> None:
    reason = re.sub(r"\(at [^)]*\)|\d+", "N", why)[:100]
    reasons[reason] = reasons.get(reason, 0) + 1


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class _Display:
    """Live progress: a rich status line on a terminal, a log line every 10 s otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.live = None
        self.last = 0.0
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=False)
            self.live.start()

    def update(self, stats: Stats) -> None:
        if not self.enabled:
            return
        if self.live is not None:
            self.live.update(stats.line())
        elif time.monotonic() - self.last >= 10:
            print(stats.line(), file=sys.stderr, flush=True)
            self.last = time.monotonic()

    def close(self, stats: Stats) -> None:
        if self.live is not None:
            self.live.update(stats.line())
            self.live.stop()


def summary(stats: Stats, out: Path, options: Options | None = None) -> str:
    lines = [
        f"resumefuzz fuzz: {stats.cases} case(s) in {stats.elapsed:.1f}s "
        f"({stats.cases / max(stats.elapsed, 1e-9):.1f} modules/s, {stats.schedules / max(stats.elapsed, 1e-9):.1f} schedules/s)"
        + (" — interrupted" if stats.interrupted else ""),
        f"  equal {stats.equal} · divergent {stats.divergent} · inconclusive {stats.inconclusive} · "
        f"unsupported {stats.unsupported} · engine errors {stats.engine_errors} · harness errors {stats.errors} · "
        f"crashes {stats.crashes} · hangs {stats.hangs} · memory {stats.memory}"
        + (f" · cut at the deadline {stats.cut}" if stats.cut else ""),
        f"  suspensions {stats.suspensions} in {stats.cases_suspended} case(s): {stats.stack_suspensions} with values "
        f"on the operand stack, {stats.deep_suspensions} at call depth > 3, {stats.grown_suspensions} after memory.grow",
        "  transform policy allowances (A vs B, optimizing engines): "
        + (", ".join(f"{k} {v}" for k, v in sorted(stats.allowances.items())) or "none"),
        f"  findings {len(stats.findings)} new, {len(stats.known)} already recorded (divergent cases: {stats.diverged})"
        + (f"; {stats.minimization_cut} not fully minimized (budget)" if stats.minimization_cut else ""),
        f"  stats: {out / 'stats.json'}",
    ]
    lines += [f"  finding: {out / 'findings' / s}" for s in stats.findings]
    lines += [f"  known:   {out / 'findings' / s}" for s in stats.known]
    if options is not None:
        code, reason = gate(stats, options)
        lines.append(f"  verdict: exit {code}" + (f": {reason}" if reason else ": clean"))
    return "\n".join(lines)
