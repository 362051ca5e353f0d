"""Campaigns on Dask distributed (issue 16): ``resumefuzz fuzz --cluster``, against real clusters on
loopback (a ``LocalCluster``, or ``dask scheduler`` and ``dask worker`` processes), never a mock.

The fast suite runs one local-cluster campaign with a planted fault (exact case count, per-worker
breakdown, a finding that replays here) and a bad address; the nightly suite kills a worker process
mid-campaign and compares everything with the same campaign run locally."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

CLI = str(Path(sys.executable).with_name("resumefuzz"))
DASK = str(Path(sys.executable).with_name("dask"))
#: a small campaign with a planted fault (the engine drops an output event across a suspension) in some
#: of its cases (each case draws its engine from its seed: of cases 0-2 of seed 3, case 1)
FAULTY = ("--generator", "smith", "--profile", "core", "--engines", "asyncify,faulty:drop-output",
          "--shrink-attempts", "0", "--seed", "3")


def _fuzz(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "fuzz", "--no-progress", *args], capture_output=True, text=True, timeout=timeout)


def _stats(out: Path) -> dict[str, Any]:
    return json.loads((out / "stats.json").read_text())


def _signatures(out: Path) -> set[str]:
    return {p.name for p in (out / "findings").iterdir() if not p.name.startswith(".")}


def _replays(finding: Path) -> int:
    return subprocess.run(["./replay"], cwd=finding, capture_output=True, timeout=300).returncode


def test_a_local_cluster_judges_exactly_its_cases_and_its_findings_replay_here(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _fuzz("--cluster", "local", "--jobs", "2", "--cases", "3", *FAULTY, "--out", str(out))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    stats = _stats(out)
    assert stats["cases"] == 3 and stats["errors"] == [] and stats["options"]["cluster"] == "local"
    workers = stats["workers"]  # the per-worker breakdown adds up to the campaign
    assert workers and sum(w["cases"] for w in workers.values()) == 3
    assert all(address.startswith("tcp://127.0.0.1:") and w["seconds"] > 0 for address, w in workers.items())
    assert "Dask workers" in proc.stdout
    findings = sorted(_signatures(out))
    assert findings == sorted(stats["findings"] + stats["defect_findings"])  # each written once, by the client
    findings = [name for name in findings if name in stats["findings"]]
    assert findings and all(name.startswith("output-") for name in findings)  # the planted fault's facet
    assert _replays(out / "findings" / findings[0]) == 1  # written here by the client, replays here

    bad = _fuzz("--cluster", "no-such-scheduler::", "--cases", "1", "--out", str(tmp_path / "bad"), timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--cluster" in bad.stderr, bad.stderr
    assert not (tmp_path / "bad" / "stats.json").exists()


@pytest.mark.nightly  # 10 s: the connect timeout
def test_a_cluster_address_nobody_answers_on_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    proc = _fuzz("--cluster", f"tcp://127.0.0.1:{port}", "--cases", "1", "--out", str(tmp_path), timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"--cluster tcp://127.0.0.1:{port}" in proc.stderr and time.monotonic() - started < 60


@contextmanager
def _dask_cluster(tmp_path: Path, workers: int) -> Iterator[tuple[str, Any]]:
    """`dask scheduler` and WORKERS `dask worker` processes (one thread each, with a nanny) on loopback,
    as the README's recipe starts them; (address, a client of the test's own to watch them)."""
    from distributed import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    commands = [[DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]]
    commands += [[DASK, "worker", address, "--nthreads", "1", "--memory-limit", "0", "--no-dashboard",
                  "--local-directory", str(tmp_path / f"worker{i}")] for i in range(workers)]
    procs = []
    try:
        for i, command in enumerate(commands):
            with open(logs / f"{i}.log", "w") as log:
                procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
            if i == 0:
                time.sleep(1)
        client = Client(address, timeout=60)
        try:
            client.wait_for_workers(workers, timeout=120)
            yield address, client
        finally:
            client.close()
    finally:
        for proc in procs:  # each started in a process group of its own: the nanny, its worker, the runners
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


#: what must come out the same, case for case, wherever the cases ran
SAME = ("cases", "equal", "divergent", "inconclusive", "unsupported", "engine_errors", "errors", "crashes", "hangs",
        "schedules", "suspensions", "stack_suspensions", "binaryen_suspensions", "profile_cases")


@pytest.mark.nightly  # ~2-4 min: the same campaign here and on a cluster that loses a worker
def test_a_worker_killed_mid_campaign_loses_no_case_and_no_finding(tmp_path: Path) -> None:
    args = ("--cases", "12", "--generator", "smith", "--profile", "core", "--engines", "asyncify,faulty:drop-output",
            "--shrink-attempts", "0", "--seed", "5")
    here = tmp_path / "here"
    local = _fuzz(*args, "--jobs", "2", "--out", str(here), timeout=900)
    assert local.returncode == 1, local.stdout[-2000:] + local.stderr[-2000:]
    out = tmp_path / "cluster"
    with _dask_cluster(tmp_path, 2) as (address, client):
        proc = subprocess.Popen([CLI, "fuzz", "--no-progress", "--cluster", address, *args, "--out", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill, for real, a worker process while it judges one of the campaign's blocks (some cases done).
        victim = None
        deadline = time.monotonic() + 600
        while victim is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            done = _stats(out)["cases"] if (out / "stats.json").exists() else 0
            busy = [a for a, keys in client.processing().items() if any("resumefuzz-" in str(k) for k in keys)]
            if done >= 1 and busy:
                victim = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(victim, signal.SIGKILL)
        assert victim is not None, "the campaign ended before a worker could be killed mid-block"
        stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 1, stdout[-3000:] + stderr[-3000:]
    stats, reference = _stats(out), _stats(here)
    assert {k: stats[k] for k in SAME} == {k: reference[k] for k in SAME}  # no case lost, none counted twice
    assert stats["errors"] == [] and sum(w["cases"] for w in stats["workers"].values()) == 12
    assert _signatures(out) == _signatures(here)  # no finding lost
    assert sorted(stats["findings"] + stats["defect_findings"]) == sorted(_signatures(out))
    assert _replays(out / "findings" / sorted(stats["findings"])[0]) == 1  # a divergence, replayed here


@pytest.mark.nightly  # ~40 s
def test_a_timed_cluster_campaign_ends_on_time_and_an_interrupt_stops_it(tmp_path: Path) -> None:
    started = time.monotonic()
    timed = _fuzz("--cluster", "local", "--jobs", "2", "--time", "20s", "--generator", "smith", "--profile", "core",
                  "--shrink-attempts", "0", "--out", str(tmp_path / "timed"))
    assert timed.returncode in (0, 3), timed.stdout[-2000:] + timed.stderr[-2000:]
    assert time.monotonic() - started < 20 + 60 and _stats(tmp_path / "timed")["cases"] > 0
    proc = subprocess.Popen([CLI, "fuzz", "--no-progress", "--cluster", "local", "--jobs", "2", "--time", "10m",
                             "--out", str(tmp_path / "stopped")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(25)
    proc.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - stopped < 30, stdout[-2000:] + stderr[-2000:]
    assert _stats(tmp_path / "stopped")["interrupted"] is True
