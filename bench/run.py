"""resumefuzz benchmarks: throughput, where the time goes, and the floor.

    make bench            # or: .venv/bin/python bench/run.py [--cases N] [--json FILE]

Every number is measured in this run; ratios compare against a baseline
measured in the same run (plain wasmtime for the floor, a bytes copy for the
snapshot codec), never against constants.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import wasmtime

from resumefuzz import checker, runner
from resumefuzz import snapshot as codec
from resumefuzz.campaign import Campaign, CasePlan, Options
from resumefuzz.checker import Judge
from resumefuzz.engines import get_engine
from resumefuzz.errors import Unsupported
from resumefuzz.fuzz import smith
from resumefuzz.preparation import prepare
from resumefuzz.schedule import expand
from resumefuzz.snapshot import PAGE_SIZE, HostImage, MemoryImage, Snapshot
from resumefuzz.yieldpoints import YieldPoints

STAGES = ("generate", "prepare", "compile", "run A", "run B", "runs C", "snapshot encode", "snapshot decode", "oracle")


class Clock:
    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.spent[name] += time.perf_counter() - start

    def wrap(self, name: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)
        return timed


def throughput(cases: int, jobs: int, out: Path) -> dict[str, float]:
    stats = Campaign(Options(generator="smith", profile="core", cases=cases, jobs=jobs, seed=1,
                             out=out / f"jobs{jobs}", progress=False, shrink_attempts=0)).run()
    return {"jobs": jobs, "cases": stats.cases, "seconds": stats.elapsed,
            "modules_per_s": stats.cases / stats.elapsed, "pairs_per_s": stats.schedules / stats.elapsed}


def stages_and_floor(cases: int) -> dict[str, Any]:
    """Per-stage time of the campaign's work on the default profile, and the plain-wasmtime floor."""
    clock = Clock()
    runner.snapshot_codec = _TimedCodec(clock)  # snapshot encode/decode inside runs C
    checker.compare = clock.wrap("oracle", checker.compare)
    floor = 0.0
    harness = 0.0
    sizes, run_ratio = [], []
    options = Options(generator="smith", profile="core", seed=1)
    for index in range(cases):
        plan = CasePlan.make(options, index)
        started = time.perf_counter()
        with clock.stage("generate"):
            wasm = smith.generate_from_seed(plan.profile, plan.seed).wasm
        try:
            with clock.stage("prepare"):
                prep = prepare(wasm, get_engine(plan.engine), YieldPoints.parse(plan.yield_points))
        except Unsupported:
            continue
        with clock.stage("compile"):
            prep.runtimes()
        before = dict(clock.spent)
        judge = Judge(prep, plan.seed)  # runs A and B
        straight = sum(clock.spent.values()) - sum(before.values())
        a_time = _timed(lambda: runner.run(prep.runtimes()[0], plan.seed, "A"))
        b_time = _timed(lambda: runner.run(prep.runtimes()[1], plan.seed, "B"))
        clock.spent["run A"] += a_time
        clock.spent["run B"] += b_time
        with clock.stage("runs C"):
            for sched in expand(plan.schedule, judge.crossings, plan.seed):
                judge.interrupted(sched)
        harness += time.perf_counter() - started - straight  # A/B are counted once, via the timed reruns
        floor += _floor(wasm)
        sizes.append(len(prep.suspendable) / len(wasm))
        if a_time > 0:
            run_ratio.append(b_time / a_time)
    # inner stages were also counted inside "runs C": report them separately
    for inner in ("snapshot encode", "snapshot decode", "oracle"):
        clock.spent["runs C"] -= clock.spent[inner]
    total = sum(clock.spent[s] for s in STAGES)
    return {
        "stages": {s: {"seconds": clock.spent[s], "share": clock.spent[s] / total} for s in STAGES},
        "floor_seconds": floor, "harness_seconds": harness, "harness_over_floor": harness / floor if floor else None,
        "instrumented_size_ratio": sum(sizes) / len(sizes) if sizes else None,
        "instrumented_run_time_ratio": sum(run_ratio) / len(run_ratio) if run_ratio else None,
    }


class _TimedCodec:
    def __init__(self, clock: Clock) -> None:
        self.encode = clock.wrap("snapshot encode", codec.encode)
        self.decode = clock.wrap("snapshot decode", codec.decode)


def _timed(function: Any) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _floor(wasm: bytes) -> float:
    """Plain wasmtime: compile + instantiate + call every export, no harness at all."""
    start = time.perf_counter()
    config = wasmtime.Config()
    config.consume_fuel = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)
    i32, i64, f32, f64 = (wasmtime.ValType.i32(), wasmtime.ValType.i64(), wasmtime.ValType.f32(),
                          wasmtime.ValType.f64())
    for name, params, results in (("out_i32", [i32], []), ("out_i64", [i64], []), ("out_f32", [f32], []),
                                  ("out_f64", [f64], []), ("in_i32", [], [i32]), ("in_i64", [], [i64])):
        linker.define_func("host", name, wasmtime.FuncType(params, results),
                           (lambda *a: 0) if results else (lambda *a: None))
    store = wasmtime.Store(engine)
    store.set_fuel(200_000_000)
    try:
        instance = linker.instantiate(store, module)
        for export in module.exports:
            func = instance.exports(store)[export.name]
            if isinstance(func, wasmtime.Func):
                zeros = [0.0 if p in (f32, f64) or str(p) in ("f32", "f64") else 0 for p in func.type(store).params]
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
            rounds = max(3, 64 // pages)
            codec_time = _best(lambda: codec.decode(codec.encode(snap)), rounds)
            copy_time = _best(lambda: bytes(bytearray(data)), rounds)
            encoded = codec.encode(snap)
            nonzero = size - bytes(data).count(0)
            rows.append({"pages": pages, "memory": kind, "codec_MB_per_s": size / codec_time / 1e6,
                         "copy_MB_per_s": size / copy_time / 1e6, "codec_over_copy": codec_time / copy_time,
                         "snapshot_bytes": len(encoded), "nonzero_bytes": nonzero})
    return rows


def _best(function: Any, rounds: int) -> float:
    return min(_timed(function) for _ in range(rounds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=40, help="cases per throughput run (default 40)")
    parser.add_argument("--json", type=Path, default=Path("out/bench.json"))
    args = parser.parse_args()
    out = Path("out/bench")
    results: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                               "date": time.strftime("%Y-%m-%d")}
    results["throughput"] = [throughput(args.cases, jobs, out) for jobs in (1, 2)]
    results["profile"] = stages_and_floor(max(8, args.cases // 2))
    results["snapshot"] = snapshot_codec()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nwritten: {args.json}")
    return 0


def render(r: dict[str, Any]) -> str:
    lines = [f"resumefuzz bench — {r['date']}, {r['machine']}", "",
             "| workers | cases | modules/s | (module, schedule) pairs/s |", "|---|---|---|---|"]
    lines += [f"| {t['jobs']} | {t['cases']} | {t['modules_per_s']:.2f} | {t['pairs_per_s']:.1f} |" for t in r["throughput"]]
    p = r["profile"]
    lines += ["", "| stage | seconds | share |", "|---|---|---|"]
    lines += [f"| {s} | {v['seconds']:.2f} | {v['share']:.0%} |" for s, v in p["stages"].items()]
    ratio = p["harness_over_floor"]
    lines += ["", f"floor (plain wasmtime compile+instantiate+run): {p['floor_seconds']:.2f}s; harness: "
              f"{p['harness_seconds']:.2f}s; harness per case / floor per case: {ratio:.1f}x" if ratio else "",
              f"instrumented module size: {p['instrumented_size_ratio']:.1f}x the original; instrumented run time "
              f"(B/A): {p['instrumented_run_time_ratio']:.1f}x", "",
              "| memory | pages | codec MB/s | bytes copy MB/s | codec/copy time | snapshot bytes | non-zero bytes |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {s['memory']} | {s['pages']} | {s['codec_MB_per_s']:.0f} | {s['copy_MB_per_s']:.0f} | "
              f"{s['codec_over_copy']:.1f}x | {s['snapshot_bytes']} | {s['nonzero_bytes']} |" for s in r["snapshot"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
