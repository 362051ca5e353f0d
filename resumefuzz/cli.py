"""Command line: `resumefuzz check`, `resumefuzz fuzz`, `resumefuzz inspect`.

Exit codes: 0 every facet equal · 1 divergence · 2 bad input or usage ·
3 the module uses something the engine/harness cannot handle · 4 inconclusive
(a fuel/stack/resume-buffer budget ran out; not a divergence).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from pathlib import Path

from . import schedule as schedule_mod
from . import snapshot, wasmtools, yieldpoints
from .errors import BadInput, ResumefuzzError
from .preparation import WASMTIME_OPT_LEVELS

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError("must be in [0, 2**64)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 60s, 5m, 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="resumefuzz", description=__doc__.split("\n")[0] if __doc__ else None,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser(
        "check", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="judge one module: straight vs interrupted runs",
        description="Run MODULE straight (A: original, B: instrumented) and interrupted (C: suspended, "
                    "snapshotted, restored into a fresh instance, resumed) and demand bit-for-bit equality.\n\n"
                    "Schedules (--schedule):\n" + (schedule_mod.__doc__ or "").split("::", 1)[-1]
                    + "\nYield points (--yield-points):\n" + (yieldpoints.__doc__ or "").split("Spec:", 1)[-1]
                    + "\n" + (__doc__ or "").split("\n\n", 1)[-1],
    )
    check.add_argument("module", type=Path, help="MODULE.wasm or MODULE.wat")
    check.add_argument("--engine", default="asyncify", help="engine NAME[:key=value,...] (default: asyncify)")
    check.add_argument("--seed", type=_seed, default=0, help="seed for inputs, arguments, random schedules")
    check.add_argument("--schedule", default=schedule_mod.DEFAULT, help="schedule SPEC (default: auto)")
    check.add_argument("--yield-points", default=yieldpoints.DEFAULT, help="yield point SPEC (default: all)")
    check.add_argument("--out", type=Path, help="keep the report, verdict.json, modules and snapshots here")
    check.add_argument("--wasmtime-opt", default="speed", choices=WASMTIME_OPT_LEVELS,
                       help="Cranelift optimization level (default: speed)")
    check.add_argument("--quiet", action="store_true", help="print only the headline")

    fuzz = sub.add_parser(
        "fuzz", help="run a fuzz campaign: generated programs x schedules x engine configurations",
        description="Generate programs, judge each under several schedules and engine configurations, "
                    "minimize and record findings under OUT/findings/<signature>/. "
                    "Exit 0 with no findings, 1 with findings, 2 on bad usage.")
    fuzz.add_argument("--generator", default="mixed", help="smith | structured | mixed (default: mixed)")
    fuzz.add_argument("--profile", default="core", help="feature profile: core | simd (default: core)")
    fuzz.add_argument("--engine", default="asyncify",
                      help="engine spec; plain `asyncify` also fuzzes its configuration (default)")
    budget = fuzz.add_mutually_exclusive_group()
    budget.add_argument("--time", type=_duration, help="stop dealing cases after DURATION (e.g. 60s, 5m, 1h)")
    budget.add_argument("--cases", type=_positive, help="run exactly N cases")
    fuzz.add_argument("--jobs", type=_positive, default=1, help="worker processes (default: 1)")
    fuzz.add_argument("--seed", type=_seed, default=0, help="campaign seed (cases are deterministic in it)")
    fuzz.add_argument("--out", type=Path, default=Path("out/fuzz"), help="output directory (default: out/fuzz)")
    fuzz.add_argument("--case-timeout", type=_duration, default=60.0, help="wall-clock limit per case (default 60s)")
    fuzz.add_argument("--shrink-attempts", type=int, default=40, help="wasm-tools shrink attempts per finding")
    fuzz.add_argument("--no-progress", action="store_true", help="no live progress display")

    inspect = sub.add_parser("inspect", help="decode and summarize a snapshot file")
    inspect.add_argument("snapshot", type=Path)
    inspect.add_argument("--module", type=Path, help="check the snapshot belongs to this (prepared) module")
    return parser


def prepare_out_dir(out: Path) -> None:
    """Create OUT (a usable directory) up front; a bad path is bad input, found before any work."""
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".resumefuzz-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BadInput(f"--out {out}: cannot write there ({exc.strerror})") from None


def _check(args: argparse.Namespace) -> int:
    from .checker import check
    from .engines import get_engine

    engine = get_engine(args.engine)
    schedule_mod.validate(args.schedule)
    yieldpoints.YieldPoints.parse(args.yield_points)
    wasm = wasmtools.load_module(args.module)
    if args.out is not None:
        prepare_out_dir(args.out)
    verdict = check(wasm, engine, seed=args.seed, schedule=args.schedule, yield_points=args.yield_points,
                    out=args.out, source=str(args.module), wasmtime_opt=args.wasmtime_opt)
    print(verdict.report.splitlines()[0] if args.quiet else verdict.report, end="\n" if args.quiet else "")
    if args.out is not None and not args.quiet:
        print(f"written: {args.out}/report.txt, verdict.json, snapshots/")
    return verdict.exit_code


def _fuzz(args: argparse.Namespace) -> int:
    from .campaign import Campaign, Options, summary
    from .engines import get_engine

    get_engine(args.engine)  # validate early
    if args.time is None and args.cases is None:
        args.time = 60.0
    options = Options(generator=args.generator, profile=args.profile, engine=args.engine, time_limit=args.time,
                      cases=args.cases, jobs=args.jobs, seed=args.seed, out=args.out,
                      case_timeout=args.case_timeout, shrink_attempts=args.shrink_attempts,
                      progress=not args.no_progress)
    if args.generator in ("smith", "mixed"):
        from resumefuzz.fuzz import smith

        smith.profile_path(args.profile)
    prepare_out_dir(args.out)
    stats = Campaign(options).run()
    print(summary(stats, args.out))
    return 1 if stats.findings else 0


def _inspect(args: argparse.Namespace) -> int:
    try:
        data = args.snapshot.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {args.snapshot}: {exc.strerror}") from None
    expected = None
    if args.module is not None:
        try:
            expected = hashlib.sha256(args.module.read_bytes()).digest()
        except OSError as exc:
            raise BadInput(f"cannot read {args.module}: {exc.strerror}") from None
    snap = snapshot.decode(data, module_sha256=expected)
    print(f"snapshot v1, {len(data)} bytes, module sha256 {snap.module_sha256.hex()}")
    print(f"engine: {snap.engine_config}")
    print(f"host: {len(snap.host.outputs)} output(s), input position {snap.host.input_position}, "
          f"call {snap.host.call_position}, {len(snap.host.completed)} completed call(s)")
    for g in snap.globals:
        print(f"global {g.index}: {'mut ' if g.mutable else ''}{g.value}")
    for m in snap.memories:
        nonzero = sum(1 for p in range(m.pages) if m.data[p * 65536:(p + 1) * 65536].count(0) != 65536)
        print(f"memory {m.index}: {m.pages} page(s), max {m.maximum}, {nonzero} non-zero page(s)")
    for t in snap.tables:
        print(f"table {t.index}: {t.type}, {len(t.entries)} slot(s): {list(t.entries)[:16]}")
    print(f"resume data: {snap.resume.hex()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"check": _check, "fuzz": _fuzz, "inspect": _inspect}[args.command](args)
    except (ResumefuzzError, snapshot.SnapshotError) as exc:
        code = getattr(exc, "exit_code", EXIT_BAD_INPUT)
        print(f"resumefuzz: {'unsupported' if code == 3 else 'error'}: {exc}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in resumefuzz itself: one line unless debugging
        if os.environ.get("RESUMEFUZZ_DEBUG"):
            raise
        print(f"resumefuzz: internal error: {type(exc).__name__}: {exc} (set RESUMEFUZZ_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
