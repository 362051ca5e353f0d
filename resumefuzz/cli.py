"""Command line: `resumefuzz check | fuzz | corpus | replay | smoke | selftest | inspect | report`.

Exit codes: 0 every facet equal · 1 divergence · 2 bad input or usage ·
3 the module uses something the engine/harness cannot handle · 4 inconclusive
(a fuel/stack/resume-buffer budget ran out; not a divergence) · 5 engine defect
(the engine rejects a module that is valid: its parser or validator is wrong) ·
6 harness bug (a WASI program's straight run under the harness's WASI host disagrees
with wasmtime's WASI).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import limits
from . import schedule as schedule_mod
from . import snapshot, wasmtools, yieldpoints
from .errors import BadInput, ResumefuzzError
from .preparation import WASMTIME_OPT_LEVELS

if TYPE_CHECKING:  # pragma: no cover
    from .wasi import WasiInputs

EXIT_BAD_INPUT = 2
DEFAULT_CORPUS = Path("corpus")
SMOKE_TAIL = 5.0  # seconds reserved for cutting in-flight cases and writing findings when a smoke budget ends
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


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be a share between 0 and 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    """The liveness gate: a campaign that exercised too little exits 3 (see campaign.gate)."""
    parser.add_argument("--max-unjudged", type=_share, default=0.5,
                        help="exit 3 if more than this share of cases was not judged (unsupported, engine or "
                             "harness error) (default 0.5)")
    parser.add_argument("--min-suspensions", type=_count, default=1,
                        help="exit 3 if the campaign suspended fewer times than this (default 1)")


def _add_transform_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transform-timeout", type=_duration, default=limits.TRANSFORM_TIMEOUT, metavar="DURATION",
                        help="wall-clock limit of an external transform command (asyncify-compatible:CMD); "
                             "when it runs out the command's whole process group is killed "
                             f"(default {limits.TRANSFORM_TIMEOUT:g}s)")


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
    check.add_argument("--yield-points", default=None,
                       help=f"yield point SPEC (default: {yieldpoints.DEFAULT}; {yieldpoints.WASI_DEFAULT} for a WASI program)")
    check.add_argument("--out", type=Path, help="keep the report, verdict.json, modules and snapshots here")
    check.add_argument("--wasmtime-opt", default="speed", choices=WASMTIME_OPT_LEVELS,
                       help="Cranelift optimization level (default: speed)")
    check.add_argument("--quiet", action="store_true", help="print only the headline")
    check.add_argument("--signal", default="schedule", choices=("schedule", "thread"),
                       help="how run C is suspended: at the crossings --schedule names (default), or whenever a "
                            "control thread raises the flag at seeded random delays (thread: one run; needs "
                            "--yield-points flag, the default then; its replay line names the crossings it hit)")
    check.add_argument("--restore-in", default=None, metavar="PLACE",
                       help="where interrupted runs restore each snapshot: here (default), process (a fresh "
                            "interpreter per hop, compiling the prepared module), process:artifact (loading "
                            "wasmtime's serialized artifact instead)")
    check.add_argument("--restore-config", default=None, metavar="SPEC",
                       help="wasmtime settings of the restoring side: opt=none|speed|speed_and_size, "
                            "interrupt=fuel|epoch, stack=SIZE, parallel=on|off, simd=on|off (comma-separated; "
                            "keys not given stay as the suspending side's), or random (drawn from --seed)")
    wasi = check.add_argument_group("WASI programs", "inputs of a WASI command module (one importing "
                                    "wasi_snapshot_preview1 and exporting _start); ignored for other modules")
    wasi.add_argument("--arg", action="append", default=[], metavar="ARG",
                      help="a command-line argument (repeatable; argv[0] is the module's file name)")
    wasi.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                      help="an environment variable (repeatable)")
    wasi.add_argument("--stdin", type=Path, metavar="FILE", help="what the program reads from stdin (default: nothing)")
    wasi.add_argument("--dir", type=Path, metavar="HOST_DIR",
                      help="copy HOST_DIR's files into the in-memory preopened directory '.' (default: empty)")
    wasi.add_argument("--wasi", type=Path, metavar="FILE",
                      help="all WASI inputs from FILE (the wasi.json `check --out` writes); excludes the four above")
    check.add_argument("--all-versions", action="store_true",
                       help="judge MODULE on every installed Binaryen release (the engine's version option; "
                            "everything else as given) and print one row per release; exit 1 if any diverges, "
                            "else the most severe release's status (with --out: one folder per release)")
    _add_transform_timeout(check)

    fuzz = sub.add_parser(
        "fuzz", help="run a fuzz campaign: generated programs x schedules x engine configurations",
        description="Generate programs, judge each under several schedules and engine configurations, "
                    "minimize and record findings under OUT/findings/<signature>/. "
                    "Exit 0 clean; 1 any case diverged (new or already recorded in OUT); 2 bad usage; 3 the campaign "
                    "exercised too little (see --max-unjudged, --min-suspensions); 130 interrupted.")
    from .fuzz import generator_names

    fuzz.add_argument("--generator", default="mixed",
                      help=f"{' | '.join(generator_names())} (default: mixed)")
    fuzz.add_argument("--profile", default="all",
                      help="feature profile the generator accepts, e.g. core | simd | tables | multi-memory, or "
                           "all: each case draws one of the generator's profiles from its seed, recorded with "
                           "the case (default: all)")
    engines = fuzz.add_mutually_exclusive_group()
    engines.add_argument("--engine", default="asyncify",
                         help="engine spec (default: asyncify); given by bare name, each case draws its options "
                              "from the engine's option space (recorded in the case)")
    engines.add_argument("--engines", metavar="SPEC,SPEC,...",
                         help="several engines: each case runs one, drawn by the case seed (and its options "
                              "drawn as for --engine); key=value items continue the spec before them")
    budget = fuzz.add_mutually_exclusive_group()
    budget.add_argument("--time", type=_duration, help="stop dealing cases after DURATION (e.g. 60s, 5m, 1h)")
    budget.add_argument("--cases", type=_positive, help="run exactly N cases")
    fuzz.add_argument("--jobs", type=_positive, default=1, help="worker processes (default: 1)")
    fuzz.add_argument("--cluster", metavar="ADDRESS",
                      help="judge the cases on Dask distributed: the scheduler's address (tcp://HOST:8786; "
                           "`dask scheduler` and `dask worker` on the machines), or local (a local cluster of "
                           "--jobs worker processes, to try it out); see README: Campaigns across machines")
    fuzz.add_argument("--seed", type=_seed, default=0, help="campaign seed (cases are deterministic in it)")
    fuzz.add_argument("--out", type=Path, default=Path("out/fuzz"), help="output directory (default: out/fuzz)")
    fuzz.add_argument("--case-timeout", type=_duration, default=60.0, help="wall-clock limit per case (default 60s)")
    _add_transform_timeout(fuzz)
    fuzz.add_argument("--shrink-attempts", type=_count, default=40, help="wasm-tools shrink attempts per finding")
    fuzz.add_argument("--no-progress", action="store_true", help="no live progress display")
    fuzz.add_argument("--stop-on-finding", action="store_true", help="end the campaign at the first divergence")
    _add_gate_arguments(fuzz)
    fuzz.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                      help="engine defects this corpus expects are known: each costs one classification, never "
                           f"a minimization or a finding folder (default: {DEFAULT_CORPUS}, if present)")
    _add_mode_arguments(fuzz)
    fuzz.add_argument("--minimize-time", type=_duration, default=600.0,
                      help="minimization budget per finding when no --time is given (default 10m); "
                           "with --time, minimization gets what is left of the budget")

    corpus = sub.add_parser("corpus", help="manage the regression corpus")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", required=True, parser_class=_Parser)
    add = corpus_sub.add_parser("add", help="take a (minimized) finding into the corpus (deduplicated by content)")
    add.add_argument("finding", type=Path, help="a finding directory written by `resumefuzz fuzz`")
    add.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                     help=f"corpus root; the case is written to ROOT/cases/ (default: {DEFAULT_CORPUS})")
    add.add_argument("--name", help="case name (default: finding-<facets>-<hash>)")
    add.add_argument("--note", help="one line: what the case guards")
    corpus_check = corpus_sub.add_parser("check", help="validate every corpus entry; report malformed ones by path")
    corpus_check.add_argument("paths", type=Path, nargs="*", default=[DEFAULT_CORPUS])

    replay = sub.add_parser("replay", help="replay the corpus: one line per case, exit 1 on any regression",
                            description="Judge every corpus case and compare with its expected verdict. "
                                        "Exit 0 all as expected; 1 a regression (wins over everything else); "
                                        "2 a malformed entry, a case that could not be judged, or bad usage. "
                                        "The summary counts every entry once: passed, regressed, error or malformed.")
    replay.add_argument("paths", type=Path, nargs="*", default=[DEFAULT_CORPUS], help=f"cases or folders (default: {DEFAULT_CORPUS})")
    replay.add_argument("--junit", type=Path, help="write JUnit XML here")
    replay.add_argument("--json", type=Path, help="write a JSON report here")
    replay.add_argument("--with-faults", action="store_true", help="also demand that each case catches its `catches` faults")
    replay.add_argument("--quiet", action="store_true", help="print only regressions and the summary")
    replay.add_argument("--restore-in", default=None, metavar="PLACE",
                        help="restore every case's snapshots there (as check --restore-in) unless the case "
                             "requires its own")
    replay.add_argument("--restore-config", default=None, metavar="SPEC",
                        help="restore under these wasmtime settings (as check --restore-config; random draws per "
                             "case seed) unless the case requires its own")
    replay.add_argument("--signal", default=None, choices=("schedule", "thread"),
                        help="thread: judge every case that requires no signal and expects equal with a control "
                             "thread raising the flag (its yield points plus flag) instead of its schedule; a case "
                             "requiring a signal (sidecar 'signal') always gets its own")
    replay.add_argument("--example-db", metavar="URL",
                        help="then replay the structured findings saved in Hypothesis' example database (the "
                             "transparent property's failing examples, from pytest or fuzz/structured_fuzzer.py on "
                             "any machine): the local directory ($RESUMEFUZZ_HYPOTHESIS_DB) and the shared Redis "
                             "one at URL (redis://HOST:PORT/DB, read only; '' for the local directory alone)")

    smoke = sub.add_parser("smoke", help="the per-change check: replay the corpus, then a short campaign, within a budget",
                           description="Replay the corpus, then fuzz for the rest of the budget. "
                                       "Exit 0 clean, 1 a regression or any divergence, 2 bad usage or malformed corpus, "
                                       "3 the campaign exercised too little.")
    smoke.add_argument("--time", type=_duration, default=60.0, help="total budget (default 60s)")
    smoke.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    smoke.add_argument("--jobs", type=_positive, default=2)
    smoke.add_argument("--seed", type=_seed, default=0)
    smoke.add_argument("--out", type=Path, default=Path("out/smoke"))
    _add_gate_arguments(smoke)
    _add_mode_arguments(smoke)

    selftest = sub.add_parser(
        "selftest", help="measure the harness: a campaign against each fault-injecting engine",
        description="Plant each fault into the engine (faulty:FAULT@ENGINE) and run a campaign until its first "
                    "finding (or the budget), then the engine itself for the same budget, and print a table. Exit 0 "
                    "when every fault is found and the engine itself reports nothing, 1 otherwise.")
    selftest.add_argument("--engine", default="asyncify",
                          help="engine spec to plant the faults into and to run clean (default: asyncify); given by "
                               "bare name, each case draws its options as in fuzz")
    selftest.add_argument("--budget", type=_duration, default=60.0, help="per campaign (default 60s)")
    selftest.add_argument("--faults", help="comma-separated subset (default: all)")
    selftest.add_argument("--json", type=Path, help="write the table as JSON here")
    selftest.add_argument("--jobs", type=_positive, default=2)
    selftest.add_argument("--seed", type=_seed, default=0)
    selftest.add_argument("--out", type=Path, default=Path("out/selftest"))
    _add_mode_arguments(selftest)  # every campaign (a fault that needs another mode to act gets it as well)

    report = sub.add_parser("report", help="one self-contained HTML page of campaign output folders",
                            description="Read each OUT (stats.json, timeline.json, findings/) and write one HTML "
                                        "page: throughput, liveness and findings over time, reasons cases were not "
                                        "judged, the configuration space covered and the findings. Several folders "
                                        "(machines, nights) merge into one page. Exit 0 written; 2 bad input.")
    report.add_argument("outs", type=Path, nargs="+", metavar="OUT", help="a campaign's --out folder")
    report.add_argument("--html", type=Path, help="the page to write (default: the first OUT/report.html)")

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


def prepare_out_file(path: Path, flag: str) -> None:
    """Check up front that PATH can be written (not a directory; its folder created and writable)."""
    if path.is_dir():
        raise BadInput(f"{flag} {path}: is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BadInput(f"{flag} {path}: cannot write there ({exc.strerror})") from None


def _check(args: argparse.Namespace) -> int:
    from .checker import check
    from .engines import get_engine

    engine = get_engine(args.engine)
    if hasattr(engine, "transform_timeout"):  # engines that run an external command
        engine.transform_timeout = args.transform_timeout
    schedule_mod.validate(args.schedule)
    if args.yield_points is not None:
        yieldpoints.YieldPoints.parse(args.yield_points)
    _check_restore_flags(args)
    wasm = wasmtools.load_module(args.module)
    if args.yield_points is None:
        args.yield_points = yieldpoints.FLAG if args.signal == "thread" else yieldpoints.default_for(wasm)
    if args.signal == "thread":
        from .checker import check_signal

        if args.schedule != schedule_mod.DEFAULT:
            raise BadInput("--signal thread: the control thread decides where run C suspends: drop --schedule")
        check_signal(args.signal, yieldpoints.YieldPoints.parse(args.yield_points))
        if args.all_versions:
            raise BadInput("--all-versions judges schedules: drop --signal thread")
    if args.out is not None:
        prepare_out_dir(args.out)
    wasi, replay_args = wasi_inputs(args)
    if args.all_versions:
        if replay_args:  # inputs given by flags
            raise BadInput("--all-versions judges with the default WASI inputs: drop --arg, --env, --stdin, --dir, --wasi")
        return _check_all_versions(args, wasm)
    verdict = check(wasm, engine, seed=args.seed, schedule=args.schedule, yield_points=args.yield_points,
                    out=args.out, source=str(args.module), wasmtime_opt=args.wasmtime_opt, wasi=wasi,
                    replay_args=replay_args, restore_in=args.restore_in, restore_config=args.restore_config,
                    signal=args.signal)
    print(verdict.report.splitlines()[0] if args.quiet else verdict.report, end="\n" if args.quiet else "")
    if args.out is not None:
        _write_divergence_page(args, wasm, engine, verdict)
    if args.out is not None and not args.quiet:
        print(f"written: {args.out}/report.txt, report.html, verdict.json, snapshots/")
    return verdict.exit_code


def _write_divergence_page(args: argparse.Namespace, wasm: bytes, engine: Any, verdict: Any) -> None:
    """OUT/report.html: the verdict as a page; for a divergence, beside the straight runs A and B repeated
    (deterministic) so each side's memories and globals can be shown."""
    from . import divergence_page
    from .files import write_atomic

    references, note = {}, ""
    if verdict.findings:
        try:
            references = divergence_page.straight_runs(wasm, engine, seed=args.seed, yield_points=args.yield_points,
                                                       wasmtime_opt=args.wasmtime_opt, wasi=verdict.wasi)
        except ResumefuzzError as exc:
            note = f"the straight runs could not be repeated for this page ({exc})"
    write_atomic(args.out / "report.html", divergence_page.page(verdict, references, note=note))


def _add_mode_arguments(parser: argparse.ArgumentParser) -> None:
    """How a campaign's runs C are suspended and where they restore (as `check`'s flags)."""
    parser.add_argument("--signal", default="schedule", choices=("schedule", "thread"),
                        help="suspend runs C at their drawn schedule's crossings (default), or whenever a control "
                             "thread raises the flag (thread: every case in yield-point mode flag; a finding "
                             "records the crossings it hit and replays with --schedule at:...)")
    parser.add_argument("--restore-in", default=None, metavar="PLACE",
                        help="where runs C restore each snapshot: here (default), process, process:artifact "
                             "(see check --restore-in)")
    parser.add_argument("--restore-config", default=None, metavar="SPEC",
                        help="wasmtime settings of the restoring side (see check --restore-config); random draws "
                             "one per case from its seed (recorded in findings)")


def _check_restore(restore_in: str | None, restore_config: str | None, seed: int = 0) -> None:
    """--restore-in and --restore-config are bad input (exit 2) before any work when malformed."""
    from .hop import PLACES, RestoreConfig

    if restore_in is not None and restore_in not in PLACES:
        raise BadInput(f"--restore-in {restore_in!r}: one of {', '.join(PLACES)}")
    if restore_config is not None:
        RestoreConfig.parse(restore_config, seed)


def _mode_options(args: argparse.Namespace) -> dict[str, Any]:
    """Options fields of `_add_mode_arguments`' flags, checked (bad input, exit 2, before any work)."""
    _check_restore(args.restore_in, args.restore_config, args.seed)
    return {"signal": args.signal, "restore_in": args.restore_in, "restore_config": args.restore_config}


def _check_restore_flags(args: argparse.Namespace) -> None:
    """--restore-in and --restore-config are bad input (exit 2) before any work when malformed."""
    _mode_options(args)
    if args.all_versions and (args.restore_in is not None or args.restore_config is not None):
        raise BadInput("--all-versions restores in this process: drop --restore-in and --restore-config")


def wasi_inputs(args: argparse.Namespace) -> "tuple[WasiInputs | None, tuple[str, ...]]":
    """The WASI inputs `check`'s flags give (argv[0] is the module's file name), and those flags for
    the replay line.

    Every bad value is one-line bad input (exit 2); sizes are checked against limits.WASI_* before
    any file is read."""
    import json

    from .wasi import WasiInputs

    given = bool(args.arg or args.env or args.stdin is not None or args.dir is not None)
    if args.wasi is not None:
        if given:
            raise BadInput("--wasi gives every WASI input: it cannot be combined with --arg, --env, --stdin or --dir")
        text = _read_bounded(args.wasi, "--wasi", 2 * (limits.WASI_MAX_TREE_BYTES + limits.WASI_MAX_STDIN_BYTES))
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadInput(f"--wasi {args.wasi}: not JSON ({exc})") from None
        return WasiInputs.from_json(data), ("--wasi", str(args.wasi))
    if not given:
        return WasiInputs((args.module.name,)), ()
    env = []
    for item in args.env:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise BadInput(f"--env {item!r}: expected NAME=VALUE")
        env.append((name, value))
    stdin = _read_bounded(args.stdin, "--stdin", limits.WASI_MAX_STDIN_BYTES) if args.stdin is not None else b""
    files = _read_tree(args.dir) if args.dir is not None else ()
    replay: list[str] = []
    for item in args.arg:
        replay += ["--arg", item]
    for item in args.env:
        replay += ["--env", item]
    if args.stdin is not None:
        replay += ["--stdin", str(args.stdin)]
    if args.dir is not None:
        replay += ["--dir", str(args.dir)]
    return WasiInputs((args.module.name, *args.arg), tuple(env), stdin, files), tuple(replay)


def _read_bounded(path: Path, flag: str, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise BadInput(f"{flag} {path}: not a regular file")
        if size > limit:
            raise BadInput(f"{flag} {path}: {size} bytes, more than {limit}")
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{flag} {path}: cannot read ({exc.strerror})") from None


def _read_tree(root: Path) -> tuple[tuple[str, bytes], ...]:
    """The regular files under ROOT (relative '/'-separated paths), within limits.WASI_MAX_FILES and
    WASI_MAX_TREE_BYTES (checked from their sizes before any is read).  Empty directories are not kept."""
    if not root.is_dir():
        raise BadInput(f"--dir {root}: not a directory")
    found: list[tuple[str, Path]] = []
    total = 0
    try:
        for folder, dirs, names in os.walk(root, onerror=_walk_error):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                relative = path.relative_to(root).as_posix()
                if path.is_symlink() or not path.is_file():
                    raise BadInput(f"--dir {root}: {relative} is not a regular file (only files and directories "
                                   f"are copied)")
                total += path.stat().st_size
                found.append((relative, path))
                if len(found) > limits.WASI_MAX_FILES:
                    raise BadInput(f"--dir {root}: more than {limits.WASI_MAX_FILES} files")
                if total > limits.WASI_MAX_TREE_BYTES:
                    raise BadInput(f"--dir {root}: more than {limits.WASI_MAX_TREE_BYTES} bytes")
            for name in dirs:
                if (Path(folder) / name).is_symlink():
                    raise BadInput(f"--dir {root}: {(Path(folder) / name).relative_to(root).as_posix()} is a "
                                   f"symbolic link (only files and directories are copied)")
        return tuple((relative, path.read_bytes()) for relative, path in found)
    except OSError as exc:
        raise BadInput(f"--dir {root}: cannot read {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:  # a name that is not valid text
        raise BadInput(f"--dir {root}: {exc}") from None


def _walk_error(exc: OSError) -> None:
    raise exc


def _check_all_versions(args: argparse.Namespace, wasm: bytes) -> int:
    from . import versions
    from .report import versions_table

    specs = versions.release_specs(args.engine)
    if specs is None:
        raise BadInput(f"--all-versions: engine {args.engine} has no Binaryen releases to choose from "
                       "(no version option)")
    # with --out, each release's full report, verdict and snapshots go to OUT/binaryen-NNN/
    outcomes = versions.rejudge(args.engine, wasm, seed=args.seed, schedule=args.schedule,
                                yield_points=args.yield_points, wasmtime_opt=args.wasmtime_opt, out=args.out,
                                source=str(args.module))
    print(f"resumefuzz check --all-versions: {args.module} --engine {args.engine} --seed {args.seed} "
          f"--schedule {args.schedule} --yield-points {args.yield_points}")
    print(versions_table(outcomes, versions.DIVERGENT), end="")
    for version, outcome in outcomes.items():
        if outcome.status != versions.EQUAL and not args.quiet:
            print(f"replay {version}: resumefuzz check {args.module} --engine {outcome.spec} --seed {args.seed} "
                  f"--schedule {args.schedule} --yield-points {args.yield_points} --wasmtime-opt {args.wasmtime_opt}")
    if args.out is not None:
        print(f"written: {args.out}/binaryen-NNN/ (one report per release)")
    return versions.exit_code(outcomes)


def _fuzz(args: argparse.Namespace) -> int:
    from .campaign import Campaign, Options, gate, parse_engines, summary
    from .corpus import known_defects

    if args.time is None and args.cases is None:
        args.time = 60.0
    extra = {"transform_timeout": args.transform_timeout} if getattr(args, "transform_timeout", None) else {}
    engines = parse_engines(args.engines) if args.engines is not None else (args.engine,)
    options = Options(generator=args.generator, profile=args.profile, engines=engines, time_limit=args.time,
                      cases=args.cases, jobs=args.jobs, seed=args.seed, out=args.out,
                      case_timeout=args.case_timeout, shrink_attempts=args.shrink_attempts,
                      progress=not args.no_progress, max_unjudged=args.max_unjudged,
                      min_suspensions=args.min_suspensions, minimize_timeout=args.minimize_time,
                      stop_on_finding=args.stop_on_finding, known_defects=known_defects(args.corpus),
                      cluster=args.cluster,
                      **_mode_options(args), **extra)
    campaign = Campaign(options)  # checks generator, profile and engines before anything is written
    prepare_out_dir(args.out)
    stats = campaign.run()
    print(summary(stats, args.out, options))
    code, reason = gate(stats, options)
    if reason is not None and code != 1:
        print(f"resumefuzz: {reason}", file=sys.stderr)
    return code


def _corpus(args: argparse.Namespace) -> int:
    from . import corpus

    if args.corpus_command == "add":
        sidecar, added = corpus.add_finding(args.finding, args.corpus, name=args.name, note=args.note)
        print(f"{'added' if added else 'already in the corpus (same module)'}: {sidecar}")
        return 0
    cases, errors = corpus.discover(args.paths)
    entries = len(cases) + len(errors)
    errors += corpus.validate_modules(cases)
    for message in errors:
        print(f"malformed: {message}", file=sys.stderr)
    print(f"{entries} case(s) checked, {len(errors)} malformed")
    return EXIT_BAD_INPUT if errors else 0


def _replay_corpus(paths: list[Path], *, with_faults: bool = False, quiet: bool = False,
                   junit: Path | None = None, json_out: Path | None = None, restore_in: str | None = None,
                   restore_config: str | None = None, signal: str | None = None) -> int:
    from . import corpus

    _check_restore(restore_in, restore_config)

    # report files are checked before any case runs: a bad path must not cost a whole replay
    for path, flag in ((junit, "--junit"), (json_out, "--json")):
        if path is not None:
            prepare_out_file(path, flag)
    cases, errors = corpus.discover(paths)
    cases, invalid = corpus.well_formed(cases)  # a module that does not load is a malformed entry
    errors += invalid
    for message in errors:
        print(f"MALFORMED   {message}")

    def show(result: "corpus.Result") -> None:
        if not quiet or result.outcome != "pass":
            print(f"{result.outcome.upper():<11} {result.name:<44} {result.detail} ({result.seconds:.1f}s)", flush=True)

    results = corpus.replay(cases, with_faults=with_faults, progress=show, restore_in=restore_in,
                            restore_config=restore_config, signal=signal)
    print(corpus.summary(results, errors))
    try:
        if junit is not None:
            corpus.write_junit(junit, results, errors)
        if json_out is not None:
            corpus.write_json(json_out, results, errors)
    except OSError as exc:
        raise BadInput(f"cannot write the replay report: {exc.strerror}: {exc.filename}") from None
    return corpus.exit_code(results, errors)  # 1 regression > 2 malformed or error > 0


def _replay(args: argparse.Namespace) -> int:
    database = None
    if args.example_db is not None:  # a bad URL or a dead server is found before any case runs
        from .fuzz import settings as hypothesis_settings

        database = hypothesis_settings.example_database(args.example_db, read_only_shared=True)
    code = _replay_corpus(args.paths, with_faults=args.with_faults, quiet=args.quiet,
                          junit=args.junit, json_out=args.json, restore_in=args.restore_in,
                          restore_config=args.restore_config, signal=args.signal)
    if database is None:
        return code
    saved, failure = hypothesis_settings.replay_examples(database)
    if failure is not None:
        print(f"REGRESSED   example database: a saved structured example of {saved} fails\n{failure}")
        return 1
    print(f"example database: {saved} saved structured example(s), none fails")
    return code


def _smoke(args: argparse.Namespace) -> int:
    import time as time_

    from .campaign import Campaign, Options, gate, summary
    from .corpus import known_defects

    started = time_.monotonic()
    modes = _mode_options(args)
    prepare_out_dir(args.out)
    print(f"== replaying {args.corpus}")
    code = _replay_corpus([args.corpus], quiet=True, junit=args.out / "corpus.junit.xml",
                          restore_in=args.restore_in, restore_config=args.restore_config, signal=args.signal)
    # the campaign stops dealing cases at its limit and cuts unfinished ones shortly after: keep a tail
    remaining = max(5.0, args.time - (time_.monotonic() - started) - SMOKE_TAIL)
    print(f"== fuzzing for {remaining:.0f}s")
    options = Options(generator="mixed", time_limit=remaining, jobs=args.jobs, seed=args.seed, out=args.out,
                      progress=False, shrink_attempts=10, max_unjudged=args.max_unjudged,
                      min_suspensions=args.min_suspensions, known_defects=known_defects(args.corpus), **modes)
    stats = Campaign(options).run()
    print(summary(stats, args.out, options))
    fuzz_code, reason = gate(stats, options)
    if reason is not None and fuzz_code != 1:
        print(f"resumefuzz: {reason}", file=sys.stderr)
    if code == 1 or fuzz_code == 1:
        return 1
    return code or fuzz_code


def _selftest(args: argparse.Namespace) -> int:
    from . import selftest
    from .engines.faults import FAULTS

    faults = [f.strip() for f in args.faults.split(",")] if args.faults else list(FAULTS)
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise BadInput(f"--faults: unknown fault {unknown[0]!r} (faults: {', '.join(FAULTS)})")
    modes = _mode_options(args)
    planned = selftest.plan(faults, args.engine)
    prepare_out_dir(args.out)
    rows = selftest.run(planned, budget=args.budget, jobs=args.jobs, seed=args.seed, out=args.out, modes=modes)
    print(selftest.table(rows))
    if args.json is not None:
        selftest.write_json(args.json, rows, args.budget)
    return 0 if all(r.ok for r in rows) else 1


def _report(args: argparse.Namespace) -> int:
    from .dashboard import write_report

    if args.html is not None:
        prepare_out_file(args.html, "--html")
    path, sources = write_report(args.outs, args.html)
    runs = sum(len(s.runs) for s in sources)
    findings = len({f.signature for s in sources for f in s.findings})
    print(f"written: {path} ({len(sources)} folder(s), {runs} run(s), {findings} finding(s))")
    return 0


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
    print(f"snapshot v{snapshot.FORMAT_VERSION}, {len(data)} bytes, module sha256 {snap.module_sha256.hex()}")
    print(f"engine: {snap.engine_config}")
    print(f"host: {len(snap.host.outputs)} output(s), input position {snap.host.input_position}, "
          f"call {snap.host.call_position}, {len(snap.host.completed)} completed call(s)")
    for g in snap.globals:
        print(f"global {g.index}: {'mut ' if g.mutable else ''}{g.value}")
    for m in snap.memories:
        print(f"memory {m.index}: {m.pages} page(s), max {m.maximum}, {snapshot.nonzero_pages(m)} non-zero page(s)")
    for t in snap.tables:
        print(f"table {t.index}: {t.type}, {len(t.entries)} slot(s): {list(t.entries)[:16]}")
    if snap.host.wasi is not None:
        for line in snap.host.wasi.summary():
            print(line)
    print(f"resume data: {snap.resume.hex()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {"check": _check, "fuzz": _fuzz, "corpus": _corpus, "replay": _replay, "smoke": _smoke,
                    "selftest": _selftest, "inspect": _inspect, "report": _report}
        return commands[args.command](args)
    except (ResumefuzzError, snapshot.SnapshotError) as exc:
        code = getattr(exc, "exit_code", EXIT_BAD_INPUT)
        print(f"resumefuzz: {getattr(exc, 'label', 'error')}: {exc}", file=sys.stderr)
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
