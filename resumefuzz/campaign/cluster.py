"""The cluster: a campaign's cases judged on Dask distributed (``resumefuzz fuzz --cluster ADDRESS``).

Dask schedules, nothing here does: the scheduler and workers are Dask's own
(``dask scheduler``, ``dask worker``; ``--cluster local`` starts a
``LocalCluster`` of ``--jobs`` worker processes).  The client (``resumefuzz
fuzz``) submits **blocks** of case numbers of the campaign seed as Dask tasks
and keeps a few per worker thread in flight.

* Each Dask worker runs its cases with the same :class:`~.pool.WorkerPool` as a
  local campaign, kept resident by a :class:`CaseRunners` worker plugin: one
  case-runner process per task thread, whose Binaryen worker (node) and
  prepared-module caches live from block to block.  Crashes, hangs (the
  per-case wall-clock limit) and memory blow-ups are detected there as
  locally, and reported to the client as lost cases.
* A block's result is the list of what became of each of its cases, with the
  files of every finding its runner wrote (into the Dask worker's scratch
  space).  The client replays that list into the :class:`~.pool.Campaign`:
  findings written atomically under OUT, deduplicated campaign-wide by
  signature; a lost case written there as a ``crash-``/``hang-``/``memory-``
  finding; stats counted once per case number (a block Dask re-runs after a
  worker died is counted once: results come once per task, and case numbers
  already counted are skipped).
* A Dask worker dying mid-block has the block re-run elsewhere (Dask's
  ``distributed.scheduler.allowed-failures``); a block that keeps killing
  workers ends in ``KilledWorker``, its cases are re-submitted one by one.
  Dask blames every task a dead worker held, the one that killed it and the
  ones queued beside it, so a single case ending in ``KilledWorker`` is only a
  suspect: it runs again **alone** (nothing else of the campaign in flight),
  and a case that keeps killing the workers it runs on alone is a ``crash-``
  finding (``Campaign.case_lost``, as a local campaign's runner killed by its
  case).  Stats list each Dask worker that died holding the campaign's blocks
  (``"died": true`` in its ``workers`` entry).
* Stops: ``--time`` is an epoch deadline every block honours (machines' clocks
  are assumed NTP-synchronized); ``--stop-on-finding``, Ctrl-C and SIGTERM set
  a Dask ``Event`` the runners poll, so busy cases are cut within seconds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from ..errors import BadInput, ResumefuzzError, SetupError
from .case import ERROR, CaseResult
from .findings import write_finding
from .plan import Options
from .pool import CUT_GRACE, WRITE_GRACE, Campaign, WorkerPool, _Worker

#: case numbers per Dask task (smaller near the end of a --cases campaign, so every worker gets some)
BLOCK = 8
#: blocks in flight per Dask worker thread (one running, one waiting: a worker never waits on the client)
IN_FLIGHT = 2
#: seconds to reach the scheduler before --cluster is a bad address
CONNECT_TIMEOUT = 10.0
#: seconds between a runner's looks at the campaign's stop event
STOP_POLL = 1.0
#: a timed campaign's client stops waiting for blocks this long after the budget ended (past the grace
#: every runner gives a case being minimized)
CLIENT_GRACE = 30.0
#: seconds between the client's looks at how many worker threads the cluster has
CAPACITY_POLL = 5.0
#: seconds without a Dask worker (all died, none restarted or joined) before the client says it is waiting
NO_WORKERS = 30.0
LOCAL = "local"


@dataclass
class CaseEvent:
    """What became of one case on a Dask worker: a :class:`~.pool.CaseSink` call, replayed by the client."""

    call: str  # a CaseSink method name
    index: int
    args: tuple[Any, ...]
    files: dict[str, bytes] | None = None  # the finding directory a judged case's runner wrote


@dataclass
class Block:
    """A Dask task's result: its cases' events, and which worker judged them."""

    address: str
    host: str
    python: str  # the worker's interpreter (the replay scripts it wrote name it)
    seconds: float
    events: list[CaseEvent] = field(default_factory=list)


class _Recorder:
    """A CaseSink that records each call (and the files of the finding a judged case wrote under OUT)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.events: list[CaseEvent] = []

    def case_minimizing(self, index: int, facets: list[str]) -> None:
        self.events.append(CaseEvent("case_minimizing", index, (facets,)))

    def case_done(self, index: int, result: CaseResult) -> None:
        files = None
        if result.finding is not None:
            folder = self.out / "findings" / result.finding.signature
            if folder.is_dir():
                files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        self.events.append(CaseEvent("case_done", index, (result,), files))

    def case_lost(self, index: int, kind: str, why: str) -> None:
        self.events.append(CaseEvent("case_lost", index, (kind, why)))

    def case_cut(self, index: int) -> None:
        self.events.append(CaseEvent("case_cut", index, ()))

    def case_unminimized(self, index: int, facets: list[str]) -> None:
        self.events.append(CaseEvent("case_unminimized", index, (facets,)))


class _StopFlag:
    """The campaign's stop event (a Dask ``Event``), looked at once per STOP_POLL seconds."""

    def __init__(self, name: str) -> None:
        from distributed import Event

        self.event = Event(name)
        self.checked = float("-inf")
        self.set = False

    def __call__(self) -> bool:
        if not self.set and time.monotonic() - self.checked >= STOP_POLL:
            self.checked = time.monotonic()
            try:
                self.set = self.event.is_set()
            except Exception:  # noqa: BLE001 - the scheduler is going away: stop
                self.set = True
        return self.set


class CaseRunners(WorkerPlugin):
    """A campaign's case runners in one Dask worker: a resident :class:`~.pool.WorkerPool` per task
    thread, findings written into the worker's scratch space (and shipped to the client)."""

    def __init__(self, name: str, options: Options) -> None:
        self.name = name
        self.options = options

    def setup(self, worker: Any) -> None:
        self.address = worker.address
        self.out = Path(tempfile.mkdtemp(prefix="resumefuzz-", dir=worker.local_directory))
        self.local = replace(self.options, out=self.out, jobs=1, cluster=None, progress=False)
        # Runner processes die with the thread that started them (Linux's parent-death signal follows
        # the thread): one long-lived thread starts them all, not the task threads.
        self.spawner = ThreadPoolExecutor(1, thread_name_prefix="resumefuzz-spawn")
        self.lock = threading.Lock()
        self.idle: list[WorkerPool] = []
        self.active: set[WorkerPool] = set()  # pools judging a block now
        self.closed = False

    def teardown(self, worker: Any) -> None:
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
            active, last = list(self.active), not self.active
        for pool in idle:
            pool.close()
        for pool in active:  # the client left mid-block (interrupted): nobody wants these cases any more
            for runner in list(pool.workers):
                try:
                    os.killpg(runner.proc.pid, signal.SIGKILL)  # the block's own thread reaps it, and stops
                except (ProcessLookupError, PermissionError, TypeError):
                    pass
        if last:  # else the last block still running shuts it down
            self.spawner.shutdown(wait=False)
        shutil.rmtree(self.out, ignore_errors=True)

    def judge(self, indices: list[int], end: float | None, stop: str) -> Block:
        if multiprocessing.current_process().daemon:
            raise SetupError(f"the Dask worker {self.address} is a daemon process and cannot start case runners: "
                             "start it with DASK_DISTRIBUTED__WORKER__DAEMON=False (README: Campaigns across machines)")
        started = time.time()
        recorder = _Recorder(self.out)
        with self.lock:
            if self.closed:
                raise SetupError(f"the campaign's case runners on {self.address} were torn down")
            pool = self.idle.pop() if self.idle else WorkerPool(self.local, 1, recorder, self._spawn)
            self.active.add(pool)
        pool.sink = recorder
        numbers, flag, finished = iter(indices), _StopFlag(stop), False
        try:
            pool.run(lambda: next(numbers, None), end, lambda: self.closed or flag())
            finished = True
        finally:
            with self.lock:
                self.active.discard(pool)
                keep = finished and not self.closed
                if keep:
                    self.idle.append(pool)  # resident: its runner and caches serve the next block
                last = self.closed and not self.active
            if not keep:
                pool.close()
            if last:
                self.spawner.shutdown(wait=False)
        return Block(self.address, socket.gethostname(), sys.executable, time.time() - started, recorder.events)

    def _spawn(self) -> _Worker:
        return self.spawner.submit(_Worker, self.local).result()


def judge_block(name: str, indices: list[int], end: float | None, stop: str) -> Block:
    """The Dask task: judge case numbers INDICES on this worker's resident runners (plugin NAME)."""
    from distributed import get_worker

    worker = get_worker()
    runners = worker.plugins.get(name)
    if not isinstance(runners, CaseRunners):
        raise SetupError(f"the Dask worker {worker.address} has no case runners for this campaign")
    return runners.judge(indices, end, stop)


class Cluster:
    """The client side: a connection to the Dask scheduler (or a LocalCluster it started)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.address = options.cluster or LOCAL
        self.client: Any = None
        self.local: Any = None
        self.config: Any = None
        self.threads = 0
        self.threads_checked = float("-inf")

    def __enter__(self) -> "Cluster":
        import dask
        from distributed import Client, LocalCluster

        try:
            if self.address == LOCAL:
                # The workers start case-runner processes: they must not be daemon processes (the nanny
                # reads this whenever it starts or restarts a worker, so it holds for the whole campaign).
                self.config = dask.config.set({"distributed.worker.daemon": False})
                self.local = LocalCluster(n_workers=self.options.jobs, threads_per_worker=1, processes=True,
                                          dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR)
                self.client = Client(self.local, timeout=CONNECT_TIMEOUT)
            else:
                self.client = Client(self.address, timeout=CONNECT_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - refused, timed out, malformed, or not a Dask scheduler
            self.close()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if self.address == LOCAL:
                raise BadInput(f"--cluster {LOCAL}: could not start a local Dask cluster ({reason})") from None
            raise BadInput(f"--cluster {self.address}: no Dask scheduler reachable there ({reason})") from None
        except BaseException:  # Ctrl-C while connecting
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for part in (self.client, self.local):
            if part is not None:
                try:
                    part.close()
                except Exception:  # noqa: BLE001 - closing what may already be gone
                    pass
        self.client = self.local = None
        if self.config is not None:
            self.config.__exit__(None, None, None)
            self.config = None

    def capacity(self) -> int:
        """Worker threads in the cluster now (looked up at most every CAPACITY_POLL seconds)."""
        if time.monotonic() - self.threads_checked >= CAPACITY_POLL:
            self.threads_checked = time.monotonic()
            try:
                self.threads = sum(self.client.nthreads().values())
            except Exception:  # noqa: BLE001 - keep the last count
                pass
        return self.threads

    def deal(self, campaign: Campaign, end: float | None) -> None:
        """Judge CAMPAIGN's cases on the cluster, replaying what becomes of each into CAMPAIGN."""
        from distributed import Event, KilledWorker, as_completed

        options, client = campaign.options, self.client
        name = f"resumefuzz-{uuid.uuid4().hex[:12]}"
        # What OUT already holds is known: a runner classifies such an engine defect once, never minimizes it.
        known = tuple(sorted(set(options.known_defects) | campaign.signatures))
        client.register_plugin(CaseRunners(name, replace(options, known_defects=known)), name=name)
        stop = Event(f"{name}-stop", client=client)
        completed = as_completed()
        pending: dict[Any, list[int]] = {}
        counted: set[int] = set()  # case numbers counted (one count each, however often Dask ran them)
        suspects: list[int] = []  # single cases a dead worker held: each runs again alone
        alone: set[Any] = set()  # the future of the suspect running alone (nothing else in flight)
        next_index = 0
        stopped = False
        empty_since: float | None = None  # when the cluster was last seen without a worker

        def submit(indices: list[int]) -> Any:
            future = client.submit(judge_block, name, indices, end, stop.name, pure=False,
                                   key=f"{name}-cases-{indices[0]}-{indices[-1]}-{uuid.uuid4().hex[:6]}")
            pending[future] = indices
            completed.add(future)
            return future

        died: list[str] = []  # Dask workers that died holding this campaign's blocks (the scheduler's events)

        def removed(event: tuple[float, dict[str, Any]]) -> None:
            message = event[1]
            if message.get("action") == "remove-worker" and not message.get("expected") and \
                    any(str(key).startswith(name) for key in message.get("processing-tasks", ())):
                died.append(message["worker"])

        client.subscribe_topic("all", removed)
        if not self.capacity():
            print(f"resumefuzz: waiting for Dask workers to join {self.address}", file=sys.stderr, flush=True)
            empty_since = float("inf")  # said
        try:
            while True:
                now = time.time()
                if not stopped and campaign.stopping():
                    stop.set()  # --stop-on-finding: the runners cut their cases
                    stopped = True
                dealing = not stopped and (end is None or now < end)
                if suspects and not pending and dealing:  # the cluster drained: the next suspect runs alone
                    alone.add(submit([suspects.pop(0)]))
                dealing = dealing and not suspects and not alone
                capacity = self.capacity()
                threads = max(capacity, 1)
                if capacity:
                    empty_since = None
                elif empty_since is None:
                    empty_since = time.monotonic()
                elif pending and time.monotonic() - empty_since >= NO_WORKERS:
                    empty_since = float("inf")  # said once per time the cluster empties
                    print(f"resumefuzz: no Dask worker in {self.address} for {NO_WORKERS:.0f}s: waiting for workers "
                          "to join (or restart)", file=sys.stderr, flush=True)
                while dealing and len(pending) < IN_FLIGHT * threads and \
                        (options.cases is None or next_index < options.cases):
                    size = BLOCK
                    if options.cases is not None:
                        size = max(1, min(BLOCK, (options.cases - next_index) // (IN_FLIGHT * threads)))
                    submit(list(range(next_index, next_index + size)))
                    next_index += size
                if not pending:
                    for index in suspects:  # the campaign stopped, or its budget ended: never run alone
                        counted.add(index)
                        campaign.case_cut(index)
                    break
                if end is not None and now > end + max(CUT_GRACE, WRITE_GRACE) + CLIENT_GRACE:
                    for index in ({i for indices in pending.values() for i in indices} - counted) | set(suspects):
                        counted.add(index)  # a vanished worker's blocks, and suspects: given up, not judged
                        campaign.case_cut(index)
                    client.cancel(list(pending))
                    pending.clear()
                    break
                for future in completed.next_batch(block=False) if completed.has_ready() else ():
                    indices = pending.pop(future)
                    was_alone = future in alone
                    alone.discard(future)
                    try:
                        block = future.result()
                    except KilledWorker as exc:
                        self._killer(campaign, indices, counted, submit, suspects, was_alone, exc.allowed_failures)
                    except ResumefuzzError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a harness error must not end the campaign
                        for index in indices:
                            if index not in counted:
                                counted.add(index)
                                campaign.case_done(index, CaseResult(
                                    ERROR, f"case {index}: the Dask task failed: {type(exc).__name__}: {exc}"))
                    else:
                        self._replay(campaign, block, counted)
                campaign.tick()
                time.sleep(0.1)
            if options.cases is not None and not stopped and not campaign.stats.interrupted:
                missing = sorted(set(range(min(next_index, options.cases))) - counted)
                if missing:  # cannot happen: every block's cases come back, once
                    campaign.errors.append(f"cases never counted: {missing[:20]}")
                    print(f"resumefuzz: harness error: {len(missing)} case(s) never counted", file=sys.stderr)
        finally:
            if pending:  # interrupted: the runners cut their cases, nothing more is run
                try:
                    stop.set()
                    client.cancel(list(pending))
                except Exception:  # noqa: BLE001 - the scheduler may be gone
                    pass
            try:
                client.unsubscribe_topic("all")
            except Exception:  # noqa: BLE001 - the scheduler may be gone
                pass
            for address in died:
                campaign.stats.workers.setdefault(address, {"machine": _machine(address), "cases": 0, "blocks": 0,
                                                            "seconds": 0.0, "cases_per_second": 0.0})["died"] = True
            try:
                client.unregister_worker_plugin(name)  # each worker's runners leave, its scratch files go
            except Exception:  # noqa: BLE001 - the scheduler may be gone
                pass

    def _killer(self, campaign: Campaign, indices: list[int], counted: set[int], submit: Any,
                suspects: list[int], alone: bool, allowed: int) -> None:
        """The Dask workers that ran INDICES all died (KilledWorker).  Dask blames every task a dead worker held,
        so a block's cases run again one by one; a single case is a suspect that runs again ALONE; a case that
        killed the workers it ran on alone is a crash."""
        todo = [i for i in indices if i not in counted]
        if len(indices) > 1:
            for index in todo:
                submit([index])
        elif not alone:
            suspects.extend(todo)
            for index in todo:
                print(f"resumefuzz: case {index} was on Dask workers that died: it runs again alone",
                      file=sys.stderr, flush=True)
        else:
            for index in todo:
                counted.add(index)
                campaign.case_lost(index, "crash", f"the case killed every Dask worker it ran on alone ({allowed + 1}; "
                                                   f"distributed.scheduler.allowed-failures is {allowed})")

    def _replay(self, campaign: Campaign, block: Block, counted: set[int]) -> None:
        """Count BLOCK's cases into CAMPAIGN (each case number once), writing the findings it brought."""
        cases = 0
        for event in block.events:
            if event.index in counted:
                continue
            if event.call == "case_done":
                result = event.args[0]
                if result.finding is not None:  # written here, if new here; the runner's copy does not count
                    written = bool(event.files) and write_finding(
                        campaign.options.out, result.finding.signature, _here(event.files or {}, block.python))
                    result.finding = replace(result.finding, written=written)
            getattr(campaign, event.call)(event.index, *event.args)
            if event.call != "case_minimizing":
                counted.add(event.index)
                cases += 1
        worker = campaign.stats.workers.setdefault(block.address, {"machine": block.host, "cases": 0, "blocks": 0,
                                                                   "seconds": 0.0})
        worker["cases"] += cases
        worker["blocks"] += 1
        worker["seconds"] += block.seconds
        worker["cases_per_second"] = worker["cases"] / max(worker["seconds"], 1e-9)


def _machine(address: str) -> str:
    """The host part of a Dask address (``tcp://HOST:PORT``)."""
    return address.partition("://")[2].rpartition(":")[0] or address


def _here(files: dict[str, bytes], python: str) -> dict[str, bytes]:
    """A finding's FILES as a worker wrote them, its replay script naming this machine's interpreter."""
    replay = files.get("replay")
    if replay is not None and python != sys.executable:
        files = {**files, "replay": replay.replace(shlex.quote(python).encode(), shlex.quote(sys.executable).encode())}
    return files
