"""Campaigns on Dask distributed (issue 16): ``resumefuzz fuzz --cluster``, against real clusters on
loopback (a ``LocalCluster``, or ``dask scheduler`` and ``dask worker`` processes), never a mock.

The fast suite runs one local-cluster campaign with a planted fault (exact case count, per-worker
breakdown, a finding that replays here) and a bad address; the nightly suite kills a worker process
mid-campaign and compares everything with the same campaign run locally, and runs a case that kills
every Dask worker it runs on (a plug-in engine, ``tests/plugins/killer_engine.py``) through Dask's
re-runs, ``KilledWorker`` and the re-runs alone to its ``crash-`` finding, as a local campaign finds it."""

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


def _no_errors(stats: dict[str, Any]) -> bool:
    """No harness error (``errors`` their count, ``error_messages`` theirs and the campaign's messages)."""
    return stats["errors"] == 0 and stats["error_messages"] == []


def test_a_local_cluster_judges_exactly_its_cases_and_its_findings_replay_here(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _fuzz("--cluster", "local", "--jobs", "2", "--cases", "3", *FAULTY, "--out", str(out))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    stats = _stats(out)
    assert stats["cases"] == 3 and _no_errors(stats) and stats["options"]["cluster"] == "local"
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
    assert _no_errors(stats) and sum(w["cases"] for w in stats["workers"].values()) == 12
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


PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
#: the killer case's campaign: 6 cases, the test plug-in engine (a drawn `kill` option makes a case kill the Dask
#: worker hosting it) and the same with an output event dropped (a finding that must not be lost)
KILLER_CASES = 6
KILLER_ENGINES = "killer,faulty:drop-output@killer"
#: the campaign's wall-clock cap (it takes ~15-30 s; a cluster whose nanny failed to restart a worker waits forever)
KILLER_TIMEOUT = 300


@pytest.fixture
def killer_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The killer engine installed as a plug-in (an entry point in a dist-info), here and for the processes the
    test starts: the PYTHONPATH they need."""
    site = tmp_path / "site"
    info = site / "killer_engine-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: killer-engine\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[resumefuzz.engines]\nkiller = killer_engine:KillerEngine\n")
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.syspath_prepend(str(site))
    yield os.pathsep.join((str(site), str(PLUGINS)))
    sys.modules.pop("killer_engine", None)


def _killer_seed() -> tuple[int, int]:
    """(seed, case): the first campaign seed whose 6 cases hold exactly one killer, in the first block of a
    one-worker cluster with a case before it (judged, then lost with the worker), and a planted divergence."""
    from resumefuzz.campaign import CasePlan, Options

    first_block = KILLER_CASES // 2  # BLOCK sizing: cases // (IN_FLIGHT * 1 thread)
    for seed in range(100):
        options = Options(generator="smith", profile="core", engines=tuple(KILLER_ENGINES.split(",")), seed=seed,
                          cases=KILLER_CASES)
        engines = [CasePlan.make(options, i).engine for i in range(KILLER_CASES)]
        killers = [i for i, spec in enumerate(engines) if "kill=true" in spec]
        if len(killers) == 1 and 0 < killers[0] < first_block and \
                any(spec.startswith("faulty:") for i, spec in enumerate(engines) if i not in killers):
            return seed, killers[0]
    raise AssertionError("no seed of 0-99 plans one killer case")


def _fuzz_capped(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    """Run ``resumefuzz fuzz ARGS``: (exit code, stderr, seconds); past KILLER_TIMEOUT, a failure showing its stderr
    and the process tree it left (the whole session is killed)."""
    started = time.monotonic()
    with subprocess.Popen([CLI, "fuzz", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          start_new_session=True) as proc:
        try:
            _, stderr = proc.communicate(timeout=KILLER_TIMEOUT)
        except subprocess.TimeoutExpired:
            tree = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "-s", str(proc.pid)],
                                  capture_output=True, text=True).stdout
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
            pytest.fail(f"the campaign ran past {KILLER_TIMEOUT}s:\n{tree}\n{stderr[-4000:]}")
    return proc.returncode, stderr, time.monotonic() - started


@pytest.mark.nightly  # ~1 min: a local campaign, then cluster campaigns losing 3 and 6 Dask workers
def test_a_case_that_kills_its_dask_worker_is_a_crash_finding_as_locally(killer_site: str, tmp_path: Path) -> None:
    seed, killer = _killer_seed()
    args = ["--cases", str(KILLER_CASES), "--generator", "smith", "--profile", "core", "--engines", KILLER_ENGINES,
            "--shrink-attempts", "0", "--seed", str(seed), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": killer_site}
    # Locally the case kills its runner (the campaign's own process is out of its reach): a crash finding.
    here = tmp_path / "here"
    code, stderr, seconds = _fuzz_capped([*args, "--jobs", "2", "--out", str(here)], env)
    assert code == 1, stderr[-3000:]
    reference = _stats(here)
    assert reference["crashes"] == 1 and _no_errors(reference)
    crashes = [name for name in _signatures(here) if name.startswith("crash-")]
    assert len(crashes) == 1
    assert "worker died (exit code -9)" in (here / "findings" / crashes[0] / "report.txt").read_text()
    print(f"\nkiller case {killer} of seed {seed}; local: {seconds:.1f}s")
    # On a one-worker local cluster the case SIGKILLs the Dask worker judging it, every time it runs: Dask re-runs
    # its block and the block queued beside it (allowed-failures times), KilledWorker, their cases again one by one,
    # the single cases a dead worker held again alone, and the killer, alone, is a crash finding.
    for allowed in (0, 1):
        out = tmp_path / f"cluster-{allowed}"
        code, stderr, seconds = _fuzz_capped([*args, "--cluster", "local", "--jobs", "1", "--out", str(out)],
                                             {**env, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed)})
        assert code == 1 and "Traceback" not in stderr, stderr[-3000:]
        stats = _stats(out)
        workers = stats["workers"]
        print(f"allowed-failures {allowed}: {seconds:.1f}s, cases {stats['cases']}, crashes {stats['crashes']}, "
              f"findings {len(stats['findings'])}, Dask workers {len(workers)} "
              f"({sum(bool(w.get('died')) for w in workers.values())} died)")
        # every case counted once, and what became of each is what became of it locally: one crash, the rest judged
        assert {k: stats[k] for k in SAME} == {k: reference[k] for k in SAME}
        assert stats["cases"] == KILLER_CASES and stats["crashes"] == 1 and _no_errors(stats) and stats["cut"] == 0
        assert stats["exit_code"] == 1
        # the same findings, the planted divergence's among them, each written once by the client
        assert _signatures(out) == _signatures(here)
        assert sorted(stats["findings"] + stats["defect_findings"]) == sorted(_signatures(out))
        crash = out / "findings" / crashes[0]
        case = json.loads((crash / "case.json").read_text())
        assert case["index"] == killer and "kill=true" in case["engine"] and case["kind"] == "crash"
        assert "killed every Dask worker it ran on alone" in (crash / "report.txt").read_text()
        # stats say what happened: the workers that judged the other cases, and the workers the killer took down
        # (in its block, its single run and its run alone, each 1 + allowed-failures times)
        assert sum(w["cases"] for w in workers.values()) == KILLER_CASES - 1  # the killer is the client's crash
        assert sum(bool(w.get("died")) for w in workers.values()) == 3 * (1 + allowed), workers
        if allowed == 0:  # the block queued behind the killer's on its worker was blamed too: judged alone, no crash
            assert any(f"case {i} was on Dask workers that died: it runs again alone" in stderr
                       for i in range(KILLER_CASES) if i != killer), stderr[-3000:]
    # the replays: the crash kills the process judging it again (here: check, under a shell); the divergence diverges
    replay = subprocess.run(["sh", "-c", "./replay; exit $?"], cwd=crash, capture_output=True, timeout=300, env=env)
    assert replay.returncode == 128 + signal.SIGKILL, replay.stderr[-2000:]
    divergences = [name for name in stats["findings"] if name.startswith("output-")]
    assert divergences
    replay = subprocess.run(["./replay"], cwd=out / "findings" / divergences[0], capture_output=True, timeout=300,
                            env=env)  # the plug-in installed
    assert replay.returncode == 1, replay.stderr[-2000:]
