"""The worker pool: the parent deals case numbers to worker processes and never runs wasm itself.

A crash, hang (wall-clock limit per case) or memory blow-up of the system
under test kills only a worker: it becomes a finding and the worker is
replaced.  One campaign per output directory (a lock); the time budget
bounds judging and minimization; Ctrl-C / SIGTERM stop it within seconds;
workers die with the parent however it ends.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Protocol

from .. import limits
from ..errors import BadInput
from ..files import write_atomic
from .case import ENGINE_DEFECT, ERROR, TRANSFORM_HANG, CaseResult, run_case
from .findings import unjudged_finding
from .plan import CasePlan, Options, check_profile
from .stats import Stats, Display, gate
from . import timeline


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
    from ..process import die_with_parent

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
            result = CaseResult(ERROR, f"case {index}: {type(exc).__name__}: {exc}",
                                traceback=traceback.format_exc(limit=12))
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


class CaseSink(Protocol):
    """What becomes of the cases a :class:`WorkerPool` deals: the campaign (here, or the client of a
    Dask cluster, to which each Dask worker's pool reports them: ``cluster.py``)."""

    def case_minimizing(self, index: int, facets: list[str]) -> None: ...  # a divergence, being minimized
    def case_done(self, index: int, result: CaseResult) -> None: ...  # judged (or not) by a worker
    def case_lost(self, index: int, kind: str, why: str) -> None: ...  # crash, hang or memory blow-up
    def case_cut(self, index: int) -> None: ...  # stopped unfinished: the budget ended, or the campaign stops
    def case_unminimized(self, index: int, facets: list[str]) -> None: ...  # divergent, not written in time


class WorkerPool:
    """JOBS worker processes, each judging one case at a time: deals case numbers to idle workers,
    collects what they report, and turns a worker that dies, overruns the wall-clock limit or grows
    past the memory limit into a lost case (the worker is replaced).  The local campaign runs one;
    so does each Dask worker of a cluster campaign, kept resident between blocks of cases."""

    def __init__(self, options: Options, jobs: int, sink: CaseSink,
                 spawn: Callable[[], _Worker] | None = None) -> None:
        self.options, self.jobs, self.sink = options, jobs, sink
        self.spawn = spawn if spawn is not None else (lambda: _Worker(options))
        self.workers: list[_Worker] = []

    def run(self, deal: Callable[[], int | None], end: float | None, stopping: Callable[[], bool],
            tick: Callable[[], None] = lambda: None) -> None:
        """Deal the case numbers DEAL gives (None: no more) until END (epoch seconds) passes or STOPPING()
        holds, and return once no case is in progress; TICK after every poll."""
        options = self.options
        for worker in [w for w in self.workers if not w.proc.is_alive()]:  # died while idle: not a case's doing
            worker.kill()
            self.workers.remove(worker)
        while len(self.workers) < self.jobs and (end is None or time.time() < end) and not stopping():
            self.workers.append(self.spawn())
        while True:
            now = time.time()
            stop = (end is not None and now >= end) or stopping()
            deadline = end if end is not None else now + options.minimize_timeout
            for worker in self.workers:
                if worker.index is None and not stop:
                    index = deal()
                    if index is None:
                        break
                    try:
                        worker.send(index, options.case_timeout, deadline)
                    except (BrokenPipeError, OSError):
                        pass  # died before it got its case: the liveness check below reports the crash
            busy = [w for w in self.workers if w.index is not None]
            if not busy:
                return
            for conn in multiprocessing.connection.wait([w.conn for w in busy], timeout=0.25):
                self._receive(next(w for w in busy if w.conn is conn))
            for i, worker in enumerate(self.workers):
                if worker.index is None:
                    continue
                if not worker.proc.is_alive():
                    self._lost(worker, "crash", f"worker died (exit code {worker.proc.exitcode})")
                elif worker.facets is None and ((end is not None and time.time() > end + CUT_GRACE) or stopping()):
                    self._cut(worker)  # the budget ended, or the campaign stops (--stop-on-finding has its finding)
                elif end is not None and worker.facets is not None and time.time() > end + WRITE_GRACE:
                    self._unminimized(worker)
                elif time.monotonic() > worker.deadline:
                    self._lost(worker, "hang", f"case exceeded the {options.case_timeout:.0f}s wall-clock limit")
                elif worker.rss_mb() > options.memory_limit_mb:
                    self._lost(worker, "memory", f"worker exceeded {options.memory_limit_mb} MB resident memory")
                else:
                    continue
                if not stop:  # a replacement only while cases are still dealt
                    self.workers[i] = self.spawn()
            tick()

    def close(self) -> None:
        """Idle workers leave on request (clean exit, temp files removed); busy ones are killed whole."""
        for worker in self.workers:
            try:
                if worker.index is None:
                    worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self.workers:
            if worker.index is None:
                worker.proc.join(2)
            if worker.proc.is_alive():
                worker.kill()
        self.workers = []

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            return  # the liveness check reports the crash
        if message[0] == "minimizing":  # a divergence was just detected; minimization follows
            worker.deadline = time.monotonic() + self.options.minimize_timeout + WRITE_GRACE
            worker.facets = list(message[2])
            self.sink.case_minimizing(message[1], worker.facets)
            return
        _, index, result = message
        worker.index, worker.facets = None, None
        self.sink.case_done(index, result)

    def _cut(self, worker: _Worker) -> None:
        """The budget ended (or the campaign stops) while WORKER was still judging its case: stop it, judge nothing."""
        index = worker.index
        assert index is not None
        worker.kill()
        worker.index = None
        self.sink.case_cut(index)

    def _unminimized(self, worker: _Worker) -> None:
        """WORKER found a divergence but did not write it in time: it is written unminimized instead."""
        index, facets = worker.index, worker.facets
        assert index is not None and facets is not None
        worker.kill()
        worker.index = None
        self.sink.case_unminimized(index, facets)

    def _lost(self, worker: _Worker, kind: str, why: str) -> None:
        index = worker.index
        assert index is not None
        worker.kill()
        worker.index = None
        self.sink.case_lost(index, kind, why)


class OutputLock:
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
        from ..engines import get_engine

        check_profile(options)  # a profile of the generator, or "all"
        if not options.engines:
            raise BadInput("--engines: give at least one engine spec")
        for spec in options.engines:
            get_engine(spec)
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
        """Run the campaign (on the Dask cluster ``Options.cluster`` names, if any: ``cluster.py``);
        Ctrl-C / SIGTERM stop it within a second or two, with stats written."""
        if self.options.cluster is None:
            return self._run(self._deal)
        from .cluster import Cluster

        with Cluster(self.options) as cluster:  # connects first: a bad address is a one-line error
            self.stats.started = time.time()  # the budget starts on a cluster reached (a LocalCluster up)
            return self._run(lambda end: cluster.deal(self, end))

    def _run(self, deal: Callable[[float | None], None]) -> Stats:
        """The campaign around DEAL(end), which judges its cases: the output lock, interrupts, progress, stats."""
        options, stats = self.options, self.stats
        options.out.mkdir(parents=True, exist_ok=True)
        lock = OutputLock(options.out)
        self.signatures = self._known()
        end = None if options.time_limit is None else stats.started + options.time_limit
        self.display = Display(options.progress)
        self.last_stats = 0.0
        previous_term = signal.getsignal(signal.SIGTERM)
        if threading_main():
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            deal(end)
        except KeyboardInterrupt:
            stats.interrupted = True
        finally:
            if threading_main():
                signal.signal(signal.SIGTERM, previous_term)
            stats.elapsed = time.time() - stats.started
            self.display.close(stats)
            self._write_stats()
            lock.release()
        return stats

    def _deal(self, end: float | None) -> None:
        """Judge the cases here: case numbers 0, 1, 2, ... dealt to --jobs worker processes."""
        numbers = iter(range(self.options.cases)) if self.options.cases is not None else itertools.count()
        pool = WorkerPool(self.options, self.options.jobs, self)
        try:
            pool.run(lambda: next(numbers, None), end, self.stopping, self.tick)
        finally:
            pool.close()

    def stopping(self) -> bool:
        """Whether the campaign stops dealing cases before its budget ends (--stop-on-finding has its finding)."""
        return self.options.stop_on_finding and bool(self.stats.diverged)

    def tick(self) -> None:
        """Show progress; write stats.json every few seconds."""
        self.stats.elapsed = time.time() - self.stats.started
        self.display.update(self.stats)
        if time.monotonic() - self.last_stats > 5:
            self._write_stats()
            self.last_stats = time.monotonic()

    # -- CaseSink: what became of each case --------------------------------------------------------

    def case_minimizing(self, index: int, facets: list[str]) -> None:
        if self.detected is None:
            self.detected = (time.time() - self.stats.started, self.stats.cases + 1)

    def case_done(self, index: int, result: CaseResult) -> None:
        stats = self.stats
        if result.status == TRANSFORM_HANG:
            self._write_lost(CasePlan.make(self.options, index), "hang", result.why)
            return
        stats.add(result)
        if result.status == ERROR:
            self.errors.append(result.why + "\n" + result.traceback)
            print(f"resumefuzz: harness error in a case: {result.why}", file=sys.stderr)
        finding = result.finding
        if result.status == ENGINE_DEFECT and finding is not None:
            self._announce_defect(finding.signature, finding.written, result)
            return
        if finding is not None:
            new = self._announce(finding.signature, finding.written,
                                 f"{', '.join(finding.facets)}: module {finding.before.module_bytes}→"
                                 f"{finding.after.module_bytes} bytes, suspensions "
                                 f"{finding.before.suspensions}→{finding.after.suspensions}")
            if stats.first_finding is None:
                seconds, cases = self.detected or (time.time() - stats.started, stats.cases)
                stats.first_finding = {"seconds": seconds, "cases": cases,
                                       "minimized_after": time.time() - stats.started,
                                       "signature": finding.signature, "facets": finding.facets,
                                       "module_bytes": finding.after.module_bytes,
                                       "suspensions": finding.after.suspensions, "new": new}

    def case_cut(self, index: int) -> None:
        self.stats.cut += 1

    def case_unminimized(self, index: int, facets: list[str]) -> None:
        """Write the divergence of case INDEX unminimized ourselves (its worker did not write it in time)."""
        plan = CasePlan.make(self.options, index)
        self.stats.cases += 1
        self.stats.divergent += 1
        self.stats.minimization_cut += 1
        headline = f"DIVERGENT: {', '.join(facets)} (unminimized: the time budget ended during minimization)"
        self._announce(*unjudged_finding(self.options.out, plan, headline, facets=facets), "unminimized")

    def case_lost(self, index: int, kind: str, why: str) -> None:
        self._write_lost(CasePlan.make(self.options, index), kind, why)

    def _write_lost(self, plan: CasePlan, kind: str, why: str) -> None:
        """A crash, hang or memory blow-up of the system under test: a finding of its own kind."""
        self.stats.lost(kind)
        self._announce(*unjudged_finding(self.options.out, plan, f"{kind.upper()}: {why}", kind=kind), why)

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

    def _announce_defect(self, signature: str, written: bool, result: CaseResult) -> None:
        """Record an engine-rejects-valid finding (apart from divergences: it does not make exit 1)."""
        stats, path = self.stats, self.options.out / "findings" / signature
        detail = f"{result.defect_engine}: {result.defect_class}"
        if not written or signature in self.signatures:
            if signature not in stats.defect_known and signature not in stats.defect_findings:
                stats.defect_known.append(signature)
                print(f"\nKNOWN ENGINE DEFECT {path}  ({detail})", file=sys.stderr, flush=True)
            return
        self.signatures.add(signature)
        stats.defect_findings.append(signature)
        print(f"\nENGINE DEFECT {path}  ({detail})", file=sys.stderr, flush=True)

    def _write_stats(self) -> None:
        options = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.options).items()}
        code, reason = gate(self.stats, self.options)
        # "errors" stays the count of harness errors (Stats.errors); their messages (and the campaign's own,
        # e.g. cases never counted) are "error_messages", the first 20
        data = {**self.stats.to_json(), "options": options, "exit_code": code, "verdict": reason,
                "error_messages": self.errors[:20]}
        write_atomic(self.options.out / "stats.json", json.dumps(data, indent=2) + "\n")
        timeline.record(self.options.out, data)  # OUT/timeline.json: the same counters over time (bounded)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


