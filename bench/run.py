"""resumefuzz benchmarks: throughput, where the time goes, and the floor.

    make bench            # or: .venv/bin/python bench/run.py [--seconds S] [--profile-cases N] [--json FILE]

Every number is measured in this run; ratios compare against a baseline
measured in the same run (plain wasmtime for the floor, a bytes copy for the
snapshot codec), never against constants.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import wasmtime

from resumefuzz import checker, runner
from resumefuzz import snapshot as codec
from resumefuzz.abi import HOST_IMPORTS, HOST_MODULE
from resumefuzz.campaign import Campaign, CasePlan, Options, run_case
from resumefuzz.campaign import case as campaign_case
from resumefuzz.engines import get_engine
from resumefuzz.preparation import prepare
from resumefuzz.state import PAGE_SIZE, HostImage, MemoryImage, Snapshot
from resumefuzz.yieldpoints import YieldPoints

STAGES = ("generate", "prepare: instrument", "prepare: yield points", "prepare: Asyncify", "compile",
          "run A", "run B", "runs C", "snapshot encode", "snapshot decode", "oracle")
HARNESS_STAGES = STAGES[1:]  # everything but generation (the floor is handed the same modules)


class Clock:
    """Exclusive time per stage: entering a nested stage pauses the enclosing one."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._stack: list[list[Any]] = []  # [stage, started]

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        now = time.perf_counter()
        if self._stack:
            outer = self._stack[-1]
            self.spent[outer[0]] += now - outer[1]
        self._stack.append([name, now])
        try:
            yield
        finally:
            now = time.perf_counter()
            inner = self._stack.pop()
            self.spent[inner[0]] += now - inner[1]
            if self._stack:
                self._stack[-1][1] = now

    def wrap(self, name: Any, function: Any) -> Any:
        """FUNCTION timed under NAME (a callable NAME picks the stage from the call's arguments)."""
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name(*args, **kwargs) if callable(name) else name):
                return function(*args, **kwargs)
        return timed


def throughput(seconds: float, jobs: int, out: Path) -> dict[str, float]:
    """A default campaign (smith, core profile) of SECONDS with JOBS workers, start-up included."""
    shutil.rmtree(out / f"jobs{jobs}", ignore_errors=True)
    stats = Campaign(Options(generator="smith", profile="core", time_limit=seconds, jobs=jobs, seed=1,
                             out=out / f"jobs{jobs}", progress=False, shrink_attempts=0)).run()
    return {"jobs": jobs, "cases": stats.cases, "seconds": stats.elapsed,
            "modules_per_s": stats.cases / stats.elapsed, "pairs_per_s": stats.schedules / stats.elapsed}


def cluster_throughput(seconds: float, workers: int, out: Path, local: list[dict[str, Any]]) -> dict[str, Any]:
    """The throughput campaign on Dask distributed (``--cluster local``: a LocalCluster of WORKERS processes,
    one thread each, on this machine), against the local pool's row of as many workers in this run: the
    cost of going distributed.  The budget starts once the cluster is up (as on a cluster already running);
    the case runners' start-up is in it, as the local pool's is."""
    shutil.rmtree(out / f"cluster{workers}", ignore_errors=True)
    stats = Campaign(Options(generator="smith", profile="core", time_limit=seconds, jobs=workers, seed=1,
                             out=out / f"cluster{workers}", progress=False, shrink_attempts=0, cluster="local")).run()
    row: dict[str, Any] = {"workers": workers, "cases": stats.cases, "seconds": stats.elapsed,
                           "modules_per_s": stats.cases / stats.elapsed, "pairs_per_s": stats.schedules / stats.elapsed,
                           "dask_workers": len(stats.workers)}
    base = next(t for t in local if t["jobs"] == workers)
    row["modules_over_local"] = row["modules_per_s"] / base["modules_per_s"] if base["modules_per_s"] else None
    row["pairs_over_local"] = row["pairs_per_s"] / base["pairs_per_s"] if base["pairs_per_s"] else None
    return row


@contextmanager
def _instrumented(clock: Clock) -> Iterator[None]:
    """Time the campaign's own code paths in place (the work measured is exactly a campaign case's)."""
    from resumefuzz import preparation
    from resumefuzz.engines.asyncify import AsyncifyEngine

    def run_label(runtime: Any, seed: int, label: str, **kwargs: Any) -> str:
        return "run A" if label == "A" else "run B" if label == "B" else "runs C"

    patches = [
        (campaign_case, "generate", clock.wrap("generate", campaign_case.generate)),
        (preparation, "observe", clock.wrap("prepare: instrument", preparation.observe)),
        (preparation, "expose", clock.wrap("prepare: instrument", preparation.expose)),
        (preparation, "inject", clock.wrap("prepare: yield points", preparation.inject)),
        (AsyncifyEngine, "transform", clock.wrap("prepare: Asyncify", AsyncifyEngine.transform)),
        (preparation, "Runtime", clock.wrap("compile", preparation.Runtime)),
        (checker, "run", clock.wrap(run_label, checker.run)),
        (runner, "snapshot_codec", _TimedCodec(clock)),
        (checker, "compare", clock.wrap("oracle", checker.compare)),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def stages_and_floor(cases: int) -> dict[str, Any]:
    """Per-stage time of campaign cases on the default profile, and the plain-wasmtime floor.

    Steady state: the cases run once untimed first, as a campaign's worker is
    warm after its first seconds (node's JIT has tiered binaryen.js up).
    """
    clock = Clock()
    options = Options(generator="smith", profile="core", seed=1, shrink_attempts=0)
    pairs = 0
    floor = 0.0
    sizes, run_ratio = [], []
    done: list[CasePlan] = []
    for index in range(cases):  # warm-up pass, untimed: the resident Binaryen worker's JIT tiers up
        run_case(CasePlan.make(options, index), options)
    with _instrumented(clock):
        for index in range(cases):
            plan = CasePlan.make(options, index)
            result = run_case(plan, options)
            if result.status in ("equal", "divergent", "inconclusive"):  # prepared: the floor can run it
                done.append(plan)
                pairs += result.schedules
    for plan in done:  # outside the stage clock: the floor and the instrumentation ratios
        wasm = campaign_case.generate(plan).wasm
        prep = prepare(wasm, get_engine(plan.engine), YieldPoints.parse(plan.yield_points))
        floor += _floor(wasm)
        sizes.append(len(prep.suspendable) / len(wasm))
        prep.runtimes()  # compiled before the runs are timed
        runner.run(prep.runtimes()[0], plan.seed, "A")  # first instantiation reads the initial image
        runner.run(prep.runtimes()[1], plan.seed, "B")
        a = _timed(lambda: runner.run(prep.runtimes()[0], plan.seed, "A"))
        b = _timed(lambda: runner.run(prep.runtimes()[1], plan.seed, "B"))
        if a > 0:
            run_ratio.append(b / a)
    prepared = len(done)
    total = sum(clock.spent[s] for s in STAGES)
    harness = sum(clock.spent[s] for s in HARNESS_STAGES)
    per_pair = harness / pairs if pairs else None
    per_module_floor = floor / prepared if prepared else None
    return {
        "cases": cases, "prepared": prepared, "pairs": pairs,
        "stages": {s: {"seconds": clock.spent[s], "share": clock.spent[s] / total} for s in STAGES},
        "floor_seconds": floor, "harness_seconds": harness,
        "floor_per_module_ms": per_module_floor and per_module_floor * 1e3,
        "harness_per_pair_ms": per_pair and per_pair * 1e3,
        "harness_per_pair_over_floor": per_pair / per_module_floor if per_pair and per_module_floor else None,
        "instrumented_size_ratio": sum(sizes) / len(sizes) if sizes else None,
        "instrumented_run_time_ratio": sum(run_ratio) / len(run_ratio) if run_ratio else None,
    }


#: the stages of a compiled program's case, besides STAGES: making the C program and compiling it
CSMITH_STAGES = ("generate: csmith", "generate: compile C")


def csmith_campaign(seconds: float, cases: int, out: Path) -> dict[str, Any]:
    """Compiled programs (``--generator csmith``): a campaign of SECONDS with 2 workers (pairs/s), and
    where CASES cases' time goes, C generation and compilation included.

    The timed cases are not the warm-up's (cases CASES..2*CASES-1), so their C programs are
    compiled for real (zig's own wasi-libc stays built; the case cache is not hit).
    """
    from resumefuzz import compiler
    from resumefuzz.fuzz import csmith

    shutil.rmtree(out / "csmith", ignore_errors=True)
    stats = Campaign(Options(generator="csmith", profile="c", time_limit=seconds, jobs=2, seed=1,
                             out=out / "csmith", progress=False, shrink_attempts=0)).run()
    clock = Clock()
    options = Options(generator="csmith", profile="c", seed=1, shrink_attempts=0)
    for index in range(cases):  # warm-up, untimed
        run_case(CasePlan.make(options, index), options)
    pairs = 0
    patches = [(csmith, "run_csmith", clock.wrap("generate: csmith", csmith.run_csmith)),
               (compiler, "compile_c", clock.wrap("generate: compile C", compiler.compile_c))]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        with _instrumented(clock):
            for index in range(cases, 2 * cases):
                pairs += run_case(CasePlan.make(options, index), options).schedules
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    stages = (*CSMITH_STAGES, *STAGES)
    total = sum(clock.spent[s] for s in stages) or 1e-9
    return {"jobs": 2, "cases": stats.cases, "seconds": stats.elapsed, "modules_per_s": stats.cases / stats.elapsed,
            "pairs_per_s": stats.schedules / stats.elapsed, "suspensions": stats.suspensions,
            "profiled_cases": cases, "profiled_pairs": pairs,
            "stages": {s: {"seconds": clock.spent[s], "share": clock.spent[s] / total} for s in stages}}


#: a long-running loop that asks the host for input now and then (a control thread's raises land after
#: host calls): the module of the thread-mode and restore-cost rows
MODES_LOOP = """
(module
  (import "host" "in_i32" (func $in (result i32)))
  (memory 1)
  (global $acc (mut i32) (i32.const 7))
  (func (export "run") (result i32)
    (local $i i32)
    (loop $l
      (global.set $acc (i32.add (i32.mul (global.get $acc) (i32.const 31)) (local.get $i)))
      (if (i32.eqz (i32.and (local.get $i) (i32.const 15)))
        (then (global.set $acc (i32.xor (global.get $acc) (call $in)))))
      (i32.store (i32.and (local.get $i) (i32.const 0xfffc)) (global.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 200000))))
    (global.get $acc)))
"""


def modes(suspensions: int = 20) -> dict[str, Any]:
    """Issue 15's figures on MODES_LOOP: suspensions per second of a run a control thread suspends
    (``--signal thread``), and the cost of one restore in another process against one in this process
    (the same module and schedule of SUSPENSIONS suspensions, each run minus the straight run B)."""
    from resumefuzz import wasmtools
    from resumefuzz.checker import Judge
    from resumefuzz.hop import restoring
    from resumefuzz.schedule import Schedule

    engine = get_engine("asyncify")
    prep = prepare(wasmtools.parse(MODES_LOOP), engine, YieldPoints.parse("flag"))
    judge = Judge(prep, 1)
    start = time.perf_counter()
    _, c = judge.thread_run()
    thread_seconds = time.perf_counter() - start
    crossings = judge.crossings
    schedule = Schedule("bench", tuple(crossings * (i + 1) // (suspensions + 1) for i in range(suspensions)))
    def best(plan: Schedule, repeats: int = 3) -> tuple[float, Any]:
        """The fastest of REPEATS interrupted runs under PLAN (noise on a loaded machine only adds time)."""
        times, run = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            _, run = judge.interrupted(plan)
            times.append(time.perf_counter() - start)
        return min(times), run

    timed: dict[str, float] = {}
    for place in ("here", "process"):
        judge.restore = restoring(prep, place, None, 1) if place == "process" else None
        # the same interrupted run with no suspension is the baseline each restore's cost is measured over
        baseline, _ = best(Schedule("bench-none", ()))
        seconds, run = best(schedule)
        timed[place] = max(seconds - baseline, 1e-6) / max(len(run.suspensions), 1)
        if judge.restore is not None:
            judge.restore.close()
    return {"thread_suspensions": len(c.suspensions), "thread_signals": c.signals or 0,
            "thread_seconds": thread_seconds, "thread_suspensions_per_s": len(c.suspensions) / thread_seconds,
            "straight_run_seconds": judge.b.seconds, "restores": suspensions,
            "restore_here_ms": timed["here"] * 1e3, "restore_process_ms": timed["process"] * 1e3,
            "process_over_here": timed["process"] / timed["here"] if timed["here"] > 0 else None}


class _TimedCodec:
    def __init__(self, clock: Clock) -> None:
        self.encode = clock.wrap("snapshot encode", codec.encode)
        self.decode = clock.wrap("snapshot decode", codec.decode)


def _timed(function: Any) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


_ENGINE: wasmtime.Engine | None = None


def _floor(wasm: bytes) -> float:
    """Plain wasmtime: compile + instantiate + call every export with zero arguments, no harness.

    One Engine for all modules (as any embedder keeps one), fuel metering on
    (as the harness runs), trivial host functions.
    """
    global _ENGINE
    if _ENGINE is None:
        config = wasmtime.Config()
        config.consume_fuel = True
        _ENGINE = wasmtime.Engine(config)
    engine = _ENGINE
    start = time.perf_counter()
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)
    types = {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64(), "f32": wasmtime.ValType.f32(),
             "f64": wasmtime.ValType.f64()}
    for name, sig in HOST_IMPORTS.items():
        linker.define_func(HOST_MODULE, name, wasmtime.FuncType([types[t] for t in sig.params],
                                                                [types[t] for t in sig.results]),
                           (lambda *a: 0) if sig.results else (lambda *a: None))
    store = wasmtime.Store(engine)
    store.set_fuel(200_000_000)
    try:
        instance = linker.instantiate(store, module)
        for export in module.exports:
            func = instance.exports(store)[export.name]
            if isinstance(func, wasmtime.Func):
                zeros = [0.0 if str(p) in ("f32", "f64") else 0 for p in func.type(store).params]
                try:
                    func(store, *zeros)
                except (wasmtime.Trap, wasmtime.WasmtimeError):
                    break
    except (wasmtime.Trap, wasmtime.WasmtimeError):
        pass
    return time.perf_counter() - start


def snapshot_codec() -> list[dict[str, Any]]:
    rows = []
    for pages in (1, 16, 256):
        size = pages * PAGE_SIZE
        for kind in ("mostly zero", "random"):
            data = bytearray(size)
            if kind == "random":
                data[:] = os.urandom(size)
            else:
                for page in range(0, pages, 8):
                    data[page * PAGE_SIZE + 17] = 1
            snap = Snapshot(b"\0" * 32, "bench", "{}", HostImage((), 0, 0, ()), (),
                            (MemoryImage(0, pages, None, bytes(data)),), (), b"")
            rounds = max(2, 256 // pages)  # calls per batch
            codec_time = _best(lambda: codec.decode(codec.encode(snap)), rounds)
            copy_time = _best(lambda: bytes(bytearray(data)), rounds)
            encoded = codec.encode(snap)
            nonzero = size - bytes(data).count(0)
            rows.append({"pages": pages, "memory": kind, "codec_MB_per_s": size / codec_time / 1e6,
                         "copy_MB_per_s": size / copy_time / 1e6, "codec_over_copy": codec_time / copy_time,
                         "snapshot_bytes": len(encoded), "nonzero_bytes": nonzero})
    return rows


def _repeat(function: Any, calls: int) -> None:
    for _ in range(calls):
        function()  # each result dropped at once, as a run drops each snapshot


def _best(function: Any, calls: int) -> float:
    """Seconds per call: best of 5 batches of CALLS calls, the cyclic GC paused (timeit's method)."""
    gc.collect()
    gc.disable()
    try:
        return min(_timed(lambda: _repeat(function, calls)) for _ in range(5)) / calls
    finally:
        gc.enable()


TARGETS = {"pairs_per_s_2_workers": 200.0, "harness_per_pair_over_floor": 2.0, "codec_MB_per_s_mostly_zero": 1000.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each throughput campaign (default 30)")
    parser.add_argument("--profile-cases", type=int, default=30, help="cases timed stage by stage (default 30)")
    parser.add_argument("--csmith-seconds", type=float, default=30.0,
                        help="length of the compiled-programs (csmith) campaign (default 30)")
    parser.add_argument("--csmith-cases", type=int, default=6, help="csmith cases timed stage by stage (default 6)")
    parser.add_argument("--cluster-seconds", type=float, default=None,
                        help="length of each Dask cluster campaign (default: --seconds)")
    parser.add_argument("--json", type=Path, default=Path("out/bench.json"))
    args = parser.parse_args()
    out = Path("out/bench")
    results: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                               "date": time.strftime("%Y-%m-%d")}
    results["throughput"] = [throughput(args.seconds, jobs, out) for jobs in (1, 2)]
    cluster_seconds = args.seconds if args.cluster_seconds is None else args.cluster_seconds
    results["cluster"] = [cluster_throughput(cluster_seconds, workers, out, results["throughput"]) for workers in (1, 2)]
    results["profile"] = stages_and_floor(args.profile_cases)
    results["csmith"] = csmith_campaign(args.csmith_seconds, args.csmith_cases, out)
    results["modes"] = modes()
    results["snapshot"] = snapshot_codec()
    results["targets"] = targets(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nwritten: {args.json}")
    return 0


def targets(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met (reported, not asserted)."""
    two = next(t for t in r["throughput"] if t["jobs"] == 2)
    codec_zero = min(s["codec_MB_per_s"] for s in r["snapshot"] if s["memory"] == "mostly zero")
    measured = {"pairs_per_s_2_workers": two["pairs_per_s"],
                "harness_per_pair_over_floor": r["profile"]["harness_per_pair_over_floor"],
                "codec_MB_per_s_mostly_zero": codec_zero}
    out = {}
    for name, goal in TARGETS.items():
        value = measured[name]
        met = value is not None and (value <= goal if name.endswith("over_floor") else value >= goal)
        out[name] = {"target": goal, "measured": value, "met": met}
    return out


def render(r: dict[str, Any]) -> str:
    two_workers = next(t for t in r["throughput"] if t["jobs"] == 2)
    lines = [f"resumefuzz bench — {r['date']}, {r['machine']}", "",
             "| workers | cases | modules/s | (module, schedule) pairs/s |", "|---|---|---|---|"]
    lines += [f"| {t['jobs']} | {t['cases']} | {t['modules_per_s']:.2f} | {t['pairs_per_s']:.1f} |" for t in r["throughput"]]
    ratio = lambda x: "n/a" if x is None else f"{x:.2f}x"  # noqa: E731
    lines += ["", "the same campaign on Dask distributed (--cluster local: a LocalCluster on this machine), against the "
              "local pool with as many workers:", "",
              "| Dask workers | cases | modules/s | pairs/s | modules/s vs local pool | pairs/s vs local pool |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {c['workers']} | {c['cases']} | {c['modules_per_s']:.2f} | {c['pairs_per_s']:.1f} | "
              f"{ratio(c['modules_over_local'])} | {ratio(c['pairs_over_local'])} |" for c in r["cluster"]]
    p = r["profile"]
    lines += ["", f"stages of {p['cases']} campaign cases ({p['prepared']} prepared, {p['pairs']} pairs):", "",
              "| stage | seconds | share |", "|---|---|---|"]
    lines += [f"| {s} | {v['seconds']:.2f} | {v['share']:.0%} |" for s, v in p["stages"].items()]
    if p["harness_per_pair_over_floor"]:
        lines += ["", f"floor, plain wasmtime compile + instantiate + run: {p['floor_per_module_ms']:.2f} ms per module; "
                  f"harness, all stages but generation: {p['harness_per_pair_ms']:.2f} ms per (module, schedule) pair "
                  f"= {p['harness_per_pair_over_floor']:.1f}x the floor"]
    c = r["csmith"]
    lines += ["", f"compiled programs (--generator csmith, {c['jobs']} workers, {c['seconds']:.0f} s): {c['cases']} cases, "
              f"{c['modules_per_s']:.2f} modules/s, {c['pairs_per_s']:.1f} pairs/s, {c['suspensions']} suspensions "
              f"(against the smith row above: {c['pairs_per_s'] / max(two_workers['pairs_per_s'], 1e-9):.2f}x its pairs/s); "
              f"stages of {c['profiled_cases']} cases ({c['profiled_pairs']} pairs):", "",
              "| stage | seconds | share |", "|---|---|---|"]
    lines += [f"| {s} | {v['seconds']:.2f} | {v['share']:.0%} |" for s, v in c["stages"].items()]
    m = r["modes"]
    lines += ["", f"control thread (--signal thread, a {m['straight_run_seconds'] * 1e3:.0f} ms loop): "
              f"{m['thread_suspensions']} suspensions of {m['thread_signals']} raises in {m['thread_seconds']:.2f} s = "
              f"{m['thread_suspensions_per_s']:.0f} suspensions/s; one restore (suspend, snapshot, restore, resume; "
              f"{m['restores']} in a run): {m['restore_here_ms']:.1f} ms in this process, {m['restore_process_ms']:.1f} ms "
              f"in another (--restore-in process) = "
              + (f"{m['process_over_here']:.0f}x" if m["process_over_here"] else "n/a")]
    lines += [f"instrumented module size: {p['instrumented_size_ratio']:.1f}x the original; instrumented run time "
              f"(B/A): {p['instrumented_run_time_ratio']:.1f}x", "",
              "| memory | pages | codec MB/s | bytes copy MB/s | codec/copy time | snapshot bytes | non-zero bytes |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {s['memory']} | {s['pages']} | {s['codec_MB_per_s']:.0f} | {s['copy_MB_per_s']:.0f} | "
              f"{s['codec_over_copy']:.1f}x | {s['snapshot_bytes']} | {s['nonzero_bytes']} |" for s in r["snapshot"]]
    lines += ["", "| target | goal | measured | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {t['target']:g} | {t['measured']:.1f} | {'yes' if t['met'] else 'NO'} |"
              for name, t in r["targets"].items() if t["measured"] is not None]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
