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
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .checker import DIVERGENT, INCONCLUSIVE, Judge, Verdict, write_atomic
from .errors import BadInput, Unsupported
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
    crashes: int = 0
    hangs: int = 0
    memory: int = 0
    duplicates: int = 0
    schedules: int = 0
    suspensions: int = 0
    # liveness: what the suspensions looked like
    cases_suspended: int = 0  # cases with at least one suspension
    stack_suspensions: int = 0  # suspensions at a site with values on the operand stack
    deep_suspensions: int = 0  # suspensions at program call depth > 3
    grown_suspensions: int = 0  # suspensions after a memory.grow
    findings: list[str] = field(default_factory=list)
    unsupported_reasons: dict[str, int] = field(default_factory=dict)
    first_finding: dict[str, Any] | None = None  # seconds, cases, signature, facets, reproducer size
    started: float = field(default_factory=time.time)
    elapsed: float = 0.0

    def line(self) -> str:
        rate = lambda n: n / max(self.elapsed, 1e-9)  # noqa: E731
        return (f"{self.elapsed:6.1f}s  cases {self.cases} ({rate(self.cases):.1f}/s)  schedules {self.schedules} "
                f"({rate(self.schedules):.1f}/s)  suspensions {self.suspensions}  findings {len(self.findings)}  "
                f"inconclusive {self.inconclusive}  unsupported {self.unsupported}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["modules_per_second"] = self.cases / max(self.elapsed, 1e-9)
        data["schedules_per_second"] = self.schedules / max(self.elapsed, 1e-9)
        return data


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


def run_case(plan: CasePlan, options: Options, notify: Any = None) -> dict[str, Any]:
    from .engines import get_engine

    wasm, record, smith_input = generate(plan)
    engine = get_engine(plan.engine)
    try:
        prep = prepare(wasm, engine, YieldPoints.parse(plan.yield_points), wasmtime_opt=plan.wasmtime_opt)
        judge = Judge(prep, plan.seed)
    except Unsupported as exc:
        return {"status": "unsupported", "why": str(exc)}
    result: dict[str, Any] = {"status": "equal", "crossings": judge.crossings, "schedules": 0, "suspensions": 0,
                              "stack": 0, "deep": 0, "grown": 0}
    if judge.inconclusive:
        return {**result, "status": INCONCLUSIVE}
    finding = judge.transform()
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
        notify()  # minimization may take longer than a case
    result["status"] = DIVERGENT
    result["finding"] = _record_finding(plan, options, wasm, record, smith_input, judge, finding)
    return result


def _check_args(plan: CasePlan, schedule: str) -> list[str]:
    return ["--engine", plan.engine, "--seed", str(plan.seed), "--schedule", schedule,
            "--yield-points", plan.yield_points, "--wasmtime-opt", plan.wasmtime_opt]


def _record_finding(plan: CasePlan, options: Options, wasm: bytes, record: dict[str, Any],
                    smith_input: bytes | None, judge: Judge, finding: Any) -> dict[str, Any]:
    from .minimize import minimize_schedule, shrink_module

    facets = set(finding.facets)
    before = {"module_bytes": len(wasm),
              "suspensions": len(finding.schedule.crossings) if finding.schedule else 0}
    schedule = minimize_schedule(judge, finding) if finding.schedule is not None else Schedule("none", ())
    spec = "none" if not schedule.crossings else f"{schedule.label};spread:8"
    module, text = wasm, None
    if plan.generator == "smith" and options.shrink_attempts > 0:
        module = shrink_module(wasm, _check_args(plan, spec), facets, attempts=options.shrink_attempts)
    elif plan.generator == "structured" and options.shrink_attempts > 0:
        from resumefuzz.fuzz import structured

        def interesting(program: Any) -> bool:
            found = _verify(program.wasm(), plan, spec)
            return found is not None and found.status == DIVERGENT and bool(facets & set(found.facets))

        shrunk = structured.shrink(plan.seed, plan.profile == "simd", interesting)
        if shrunk is not None:
            module, text = shrunk.wasm(), shrunk.wat()
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
                                 "after": after}, indent=2),
        "report.txt": verdict.report if verdict else "replay did not reproduce; see case.json\n",
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
    return {"signature": signature, "written": written, "facets": sorted(facets), "before": before, "after": after}


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
    return ("#!/bin/sh\n# Reproduce this finding (exit 1 = still divergent).\n"
            f'cd "$(dirname "$0")" && exec resumefuzz check module.wasm {args} "$@"\n')


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


def _worker_main(conn: multiprocessing.connection.Connection, options: Options) -> None:
    while True:
        try:
            index = conn.recv()
        except EOFError:
            return
        if index is None:
            return
        plan = CasePlan.make(options, index)
        try:
            result = run_case(plan, options, notify=lambda: conn.send(("minimizing", index)))
        except Exception as exc:  # noqa: BLE001 - a harness error must not end the campaign
            result = {"status": "error", "why": f"case {index}: {type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc(limit=12)}
        conn.send(("done", index, result))


class _Worker:
    def __init__(self, options: Options) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=_worker_main, args=(child, options), daemon=True)
        self.proc.start()
        child.close()
        self.index: int | None = None
        self.deadline = 0.0

    def send(self, index: int, timeout: float) -> None:
        self.index, self.deadline = index, time.monotonic() + timeout
        self.conn.send(index)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)

    def rss_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0.0
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else 0.0


class Campaign:
    def __init__(self, options: Options) -> None:
        if options.generator not in GENERATORS:
            raise BadInput(f"--generator: unknown generator {options.generator!r} (choose from {', '.join(GENERATORS)})")
        if options.time_limit is None and options.cases is None:
            raise BadInput("give --time DURATION or --cases N")
        if options.jobs < 1:
            raise BadInput("--jobs must be at least 1")
        self.options = options
        self.stats = Stats()
        self.errors: list[str] = []
        self.detected: tuple[float, int] | None = None  # (seconds, cases) at the first detection
        known = options.out / "findings"
        self.signatures = {p.name for p in known.iterdir() if not p.name.startswith(".")} if known.is_dir() else set()

    def run(self) -> Stats:
        options, stats = self.options, self.stats
        options.out.mkdir(parents=True, exist_ok=True)
        workers = [_Worker(options) for _ in range(options.jobs)]
        next_index = 0
        display = _Display(options.progress)
        last_stats = 0.0
        try:
            while True:
                stats.elapsed = time.time() - stats.started
                out_of_time = (options.time_limit is not None and stats.elapsed >= options.time_limit) or (
                    options.stop_on_finding and bool(stats.findings))
                for worker in workers:
                    if worker.index is None and not out_of_time and (options.cases is None or next_index < options.cases):
                        worker.send(next_index, options.case_timeout)
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
        finally:
            for worker in workers:
                try:
                    worker.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
                worker.proc.join(2)
                if worker.proc.is_alive():
                    worker.kill()
            stats.elapsed = time.time() - stats.started
            display.close(stats)
            self._write_stats()
        return stats

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            return  # the liveness check reports the crash
        if message[0] == "minimizing":  # a divergence was just detected; minimization follows
            worker.deadline = time.monotonic() + self.options.minimize_timeout
            if self.detected is None:
                self.detected = (time.time() - self.stats.started, self.stats.cases + 1)
            return
        _, index, result = message
        worker.index = None
        self._count(result)

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
        if status == "error":
            self.errors.append(result["why"] + "\n" + result.get("traceback", ""))
            print(f"resumefuzz: harness error in a case: {result['why']}", file=sys.stderr)
            return
        setattr(stats, status, getattr(stats, status) + 1)
        if status == "unsupported":
            reason = re.sub(r"\(at [^)]*\)|\d+", "N", result.get("why", ""))[:100]
            stats.unsupported_reasons[reason] = stats.unsupported_reasons.get(reason, 0) + 1
        finding = result.get("finding")
        if finding:
            if stats.first_finding is None:
                seconds, cases = self.detected or (time.time() - stats.started, stats.cases)
                stats.first_finding = {"seconds": seconds, "cases": cases,
                                       "minimized_after": time.time() - stats.started,
                                       "signature": finding["signature"], "facets": finding["facets"],
                                       "module_bytes": finding["after"]["module_bytes"],
                                       "suspensions": finding["after"]["suspensions"]}
            self._announce(finding["signature"], finding["written"],
                           f"{', '.join(finding['facets'])}: module {finding['before']['module_bytes']}→"
                           f"{finding['after']['module_bytes']} bytes, suspensions "
                           f"{finding['before']['suspensions']}→{finding['after']['suspensions']}")

    def _lost(self, worker: _Worker, kind: str, why: str) -> None:
        assert worker.index is not None
        plan = CasePlan.make(self.options, worker.index)
        worker.kill()
        worker.index = None
        self.stats.cases += 1
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

    def _announce(self, signature: str, written: bool, detail: str) -> None:
        if not written or signature in self.signatures:
            self.stats.duplicates += 1
            return
        self.signatures.add(signature)
        self.stats.findings.append(signature)
        print(f"\nFINDING {self.options.out / 'findings' / signature}  ({detail})", file=sys.stderr, flush=True)

    def _write_stats(self) -> None:
        write_atomic(self.options.out / "stats.json", json.dumps(
            {**self.stats.to_json(), "options": {k: str(v) for k, v in asdict(self.options).items()},
             "errors": self.errors[:20]}, indent=2) + "\n")


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


def summary(stats: Stats, out: Path) -> str:
    lines = [
        f"resumefuzz fuzz: {stats.cases} case(s) in {stats.elapsed:.1f}s "
        f"({stats.cases / max(stats.elapsed, 1e-9):.1f} modules/s, {stats.schedules / max(stats.elapsed, 1e-9):.1f} schedules/s)",
        f"  equal {stats.equal} · divergent {stats.divergent} · inconclusive {stats.inconclusive} · "
        f"unsupported {stats.unsupported} · crashes {stats.crashes} · hangs {stats.hangs} · memory {stats.memory}",
        f"  suspensions {stats.suspensions} in {stats.cases_suspended} case(s): {stats.stack_suspensions} with values "
        f"on the operand stack, {stats.deep_suspensions} at call depth > 3, {stats.grown_suspensions} after memory.grow",
        f"  findings {len(stats.findings)} (duplicates {stats.duplicates})",
        f"  stats: {out / 'stats.json'}",
    ]
    lines += [f"  finding: {out / 'findings' / s}" for s in stats.findings]
    return "\n".join(lines)
