"""The regression corpus: cases a person can read and a tool can run.

A case is ``NAME.wat`` (or ``NAME.wasm``) plus the sidecar ``NAME.json``
(format in corpus/README.md).  ``replay`` judges every case and compares the
verdict with the one the sidecar expects; an expected divergence (a known,
unfixed engine bug) must still diverge on the same facets, so a silent fix
is noticed, like a strict xfail.

A case may be a WASI program: its sidecar may name a C source (``source``,
built with ``cflags`` through :func:`resumefuzz.compiler.compile_c` and its
cache) instead of a module beside it, and may give the program's inputs
(``wasi``: :meth:`WasiInputs.to_json`'s form, with the preopened directory's
files and stdin optionally read from corpus files, ``files_from`` and
``stdin_from``).  A module kept beside the sidecar may name the C program it
was compiled from (``compiled_from``: kept for reading, never compiled).
Every path a sidecar names is relative to it and must stay inside the corpus
root (the folder holding its ``cases`` folder).

A case may require how its runs C are suspended and restored: ``restore_in``,
``restore_config`` (as ``check --restore-in/--restore-config``) and ``signal``
(``schedule`` or ``thread``; ``thread`` needs yield points polling the flag).
A ``signal: thread`` case is judged with a control thread raising the flag
(``check --signal thread``) and, unless its schedule is ``none``, once more
under its schedule: a finding of a thread run records the crossings where it
really suspended (``at:...``), which reproduce it deterministically.  Its
``catches`` must be caught whatever the thread's timing.  ``replay --signal
thread`` judges every case that requires no signal and expects ``equal`` with
a control thread instead of its schedule, its yield points polling the flag
(``YIELD,flag``); other cases as they are recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import compiler, limits, wasmtools
from .checker import DIVERGENT, EQUAL, SIGNALS, THREAD, WASI_FILE, Verdict, check
from .files import write_atomic
from .engines import get_engine
from .errors import BadInput, EngineDefect, ResumefuzzError, Unsupported
from .oracles import ALL_FACETS as FACETS
from .preparation import WASMTIME_OPT_LEVELS
from .schedule import validate as validate_schedule
from .wasi import WasiInputs
from .hop import PLACES, RestoreConfig
from .yieldpoints import YieldPoints

VERDICTS = ("equal", "divergent", "unsupported", "engine-defect")
_REQUIRED = {"guards": str, "origin": str, "seed": int, "engine": str, "yield_points": str,
             "wasmtime_opt": str, "schedule": str, "expect": dict}
_OPTIONAL = {"catches": list, "affected_versions": (str, list), "source": str, "cflags": list,
             "compiled_from": str, "wasi": dict, "restore_in": str, "restore_config": str, "signal": str}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
WAT_LIMIT = 16 * 1024  # findings whose text is larger are kept as .wasm
_VERSION_ITEM = re.compile(r"^\s*(\d{1,4})\s*(?:[-\u2013]\s*(\d{1,4})\s*)?$", re.ASCII)  # "130" or "121-132" / "121–132"
#: the largest C source a case may name (Csmith's programs are 2-30 KB)
SOURCE_LIMIT = 256 * 1024
#: the compiler flags a sidecar's ``cflags`` may hold (besides one optimization level): macros,
#: warnings, code-generation switches and the shadow stack's size -- nothing naming a file or a
#: plugin, no other linker option
_CFLAG = re.compile(r"^-(?:w|W(?:no-)?[a-z][a-z0-9-]*|[DU][A-Za-z_][A-Za-z0-9_]*(?:=[A-Za-z0-9_.+-]*)?"
                    r"|f(?:no-)?[a-z][a-z0-9-]*|m(?:no-)?[a-z][a-z0-9-]*|Wl,-z,stack-size=[1-9][0-9]{0,8})$", re.ASCII)
MAX_CFLAGS = 16
_WASI_KEYS = ("args", "env", "stdin", "files", "files_from", "stdin_from")


class CorpusError(BadInput):
    """A malformed corpus entry (the message starts with its path)."""


@dataclass(frozen=True)
class Expectation:
    verdict: str
    facets: tuple[str, ...] = ()  # for "divergent": facets it must still show
    message: str = ""  # for "unsupported" / "engine-defect": text the refusal must contain
    issue: str = ""  # optional pointer to the engine bug
    note: str = ""  # for "equal": text one of the verdict's notes must contain (an allowance that must apply)


@dataclass(frozen=True)
class Case:
    name: str
    module: Path
    sidecar: Path
    guards: str
    origin: str
    seed: int
    engine: str
    yield_points: str
    wasmtime_opt: str
    schedule: str
    expect: Expectation
    catches: tuple[str, ...] = ()
    # informational: the engine releases (Binaryen npm majors) in which the case was measured to show
    # its expected verdict, as inclusive (first, last) ranges; () when the sidecar records none
    affected_versions: tuple[tuple[int, int], ...] = ()
    # a WASI program's inputs (None: the checker's default, WasiInputs(), for a WASI module)
    wasi: WasiInputs | None = None
    # when MODULE is a C source (``source``): the optimization level and the other flags it is built with
    opt_level: str = "-O2"
    cflags: tuple[str, ...] = ()
    # informational: the C program the module beside the sidecar was compiled from (``compiled_from``)
    compiled_from: Path | None = None
    # the restore mode the case requires (``check --restore-in``/``--restore-config``; None: replay's)
    restore_in: str | None = None
    restore_config: str | None = None
    # how the case's runs C must be suspended (checker.SIGNALS; None: replay's --signal, else its schedule)
    signal: str | None = None

    @property
    def compiled(self) -> bool:
        """The case names a C source (built on demand) instead of a module beside its sidecar."""
        return self.module.suffix == ".c"

    def wasm(self) -> bytes:
        """The module judged: the one beside the sidecar, or its C source built (from the
        compiler's cache); BadInput when it does not load, CompileError when zig rejects it."""
        if not self.compiled:
            return wasmtools.load_module(self.module)
        try:
            source = self.module.read_bytes()
        except OSError as exc:
            raise BadInput(f"{self.module}: cannot read ({exc.strerror})") from None
        try:
            return compiler.compile_c(source, self.opt_level, self.cflags).wasm
        except compiler.CompileError as exc:
            raise compiler.CompileError(f"{self.module}: {exc}") from None

    def affects(self, version: str | int) -> bool | None:
        """Whether release VERSION (e.g. "125") is among the recorded affected ones; None if none are recorded."""
        if not self.affected_versions:
            return None
        return any(lo <= int(version) <= hi for lo, hi in self.affected_versions)


def parse_versions(raw: Any) -> tuple[tuple[int, int], ...]:
    """``affected_versions``: a string of comma-separated items or a list of item strings, each a
    release ("130") or an inclusive range ("121-132" or "121–132"); ValueError says what is wrong."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ValueError("must be a non-empty string or list of strings")
    ranges = []
    for item in items:
        match = _VERSION_ITEM.match(item)
        if not match:
            raise ValueError(f"{item.strip()!r} is not a release (130) or a range (121-132)")
        lo, hi = int(match.group(1)), int(match.group(2) or match.group(1))
        if lo > hi:
            raise ValueError(f"{item.strip()!r}: the range ends before it starts")
        ranges.append((lo, hi))
    return tuple(sorted(set(ranges)))


def format_versions(ranges: tuple[tuple[int, int], ...]) -> str:
    """The ranges as text, e.g. "119–125, 130" (empty when none are recorded)."""
    return ", ".join(str(lo) if lo == hi else f"{lo}\u2013{hi}" for lo, hi in ranges)


@dataclass
class Result:
    name: str
    path: str
    outcome: str  # "pass" | "regression" | "error"
    detail: str
    seconds: float
    facets: list[str] = field(default_factory=list)


def load_case(sidecar: Path) -> Case:
    """Parse and validate one sidecar; CorpusError names the path and the problem."""
    def bad(why: str) -> CorpusError:
        return CorpusError(f"{sidecar}: {why}")

    try:
        data = json.loads(sidecar.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise bad(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise bad("the sidecar must be a JSON object")
    unknown = set(data) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise bad(f"unknown key {sorted(unknown)[0]!r}")
    for key, kind in _REQUIRED.items():
        if key not in data:
            raise bad(f"missing key {key!r}")
        if not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
            raise bad(f"{key!r} must be a {kind.__name__}")
    for key in ("source", "cflags", "compiled_from", "wasi"):  # the WASI program's keys
        kind = _OPTIONAL[key]
        if key in data and not isinstance(data[key], kind):
            raise bad(f"{key!r} must be a {kind.__name__}")  # type: ignore[union-attr]
    try:
        affected = parse_versions(data["affected_versions"]) if "affected_versions" in data else ()
    except ValueError as exc:
        raise bad(f"'affected_versions' {exc}") from None
    name = sidecar.stem
    if not _NAME.match(name):
        raise bad("case names use lowercase letters, digits and dashes")
    modules = [p for p in (sidecar.with_suffix(".wat"), sidecar.with_suffix(".wasm")) if p.is_file()]
    opt, cflags, compiled_from = "-O2", (), None
    if "source" in data:
        if modules:
            raise bad(f"names a C 'source' and has a module beside it ({modules[0].name}): keep one "
                      "(a kept module names its program with 'compiled_from')")
        modules = [_corpus_file(sidecar, data["source"], "source", SOURCE_LIMIT, bad, suffix=".c")]
        opt, cflags = _cflags(data.get("cflags", []), bad)
    elif len(modules) != 1:
        raise bad("needs exactly one module beside it (NAME.wat or NAME.wasm) or a C 'source'")
    elif "cflags" in data:
        raise bad("'cflags' is for a C 'source' (the module beside it is judged as it is)")
    if "compiled_from" in data:
        if "source" in data:
            raise bad("'compiled_from' is for a module beside the sidecar; a C 'source' is compiled itself")
        compiled_from = _corpus_file(sidecar, data["compiled_from"], "compiled_from", SOURCE_LIMIT, bad, suffix=".c")
    wasi = _wasi_inputs(sidecar, data["wasi"], bad) if "wasi" in data else None
    try:
        get_engine(data["engine"])
        YieldPoints.parse(data["yield_points"])
        validate_schedule(data["schedule"])
    except BadInput as exc:
        raise bad(str(exc)) from None
    if data.get("restore_in", "here") not in PLACES:
        raise bad(f"'restore_in' must be one of {', '.join(PLACES)}")
    if "signal" in data:
        if data["signal"] not in SIGNALS:
            raise bad(f"'signal' must be one of {', '.join(SIGNALS)}")
        if data["signal"] == THREAD and not YieldPoints.parse(data["yield_points"]).flag:
            raise bad(f"'signal' thread needs yield points that poll the flag ('yield_points' with flag, "
                      f"not {data['yield_points']!r})")
    if "restore_config" in data:
        try:
            RestoreConfig.parse(data["restore_config"], data["seed"])
        except BadInput as exc:
            raise bad(str(exc)) from None
    if data["wasmtime_opt"] not in WASMTIME_OPT_LEVELS:
        raise bad(f"'wasmtime_opt' must be one of {', '.join(WASMTIME_OPT_LEVELS)}")
    if not 0 <= data["seed"] < 2**64:
        raise bad("'seed' must be in [0, 2**64)")
    expect = _expectation(data["expect"], bad)
    catches = tuple(data.get("catches", ()))
    for fault in catches:
        try:
            get_engine(f"faulty:{fault}")
        except BadInput as exc:
            raise bad(f"'catches': {exc}") from None
    return Case(name, modules[0], sidecar, data["guards"], data["origin"], data["seed"], data["engine"],
                data["yield_points"], data["wasmtime_opt"], data["schedule"], expect, catches, affected,
                wasi, opt, cflags, compiled_from, data.get("restore_in"), data.get("restore_config"),
                data.get("signal"))


def corpus_root(sidecar: Path) -> Path:
    """The corpus a sidecar belongs to: the folder holding the nearest ``cases`` folder above it
    (corpus/cases/x.json -> corpus), else the sidecar's own folder.  Paths a sidecar names must
    stay inside it."""
    start = sidecar.absolute().parent
    for folder in (start, *start.parents):
        if folder.name == "cases":
            return folder.parent
    return sidecar.absolute().parent


def _corpus_path(sidecar: Path, raw: Any, key: str, bad: Any) -> Path:
    """The path RAW (relative to SIDECAR) that sidecar key KEY names, checked to stay inside the corpus."""
    if not isinstance(raw, str) or not raw or "\0" in raw or len(raw) > 1024:
        raise bad(f"{key!r} must be a path relative to the sidecar")
    if Path(raw).is_absolute():
        raise bad(f"{key!r} {raw!r}: must be a path relative to the sidecar, not absolute")
    root = corpus_root(sidecar)
    path = sidecar.parent / raw
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise bad(f"{key!r} {raw!r}: cannot resolve ({exc})") from None
    if not inside:
        raise bad(f"{key!r} {raw!r}: outside the corpus ({root})")
    return path


def _corpus_file(sidecar: Path, raw: Any, key: str, limit: int, bad: Any, *, suffix: str = "") -> Path:
    """A regular file inside the corpus of at most LIMIT bytes (see :func:`_corpus_path`)."""
    path = _corpus_path(sidecar, raw, key, bad)
    if suffix and path.suffix != suffix:
        raise bad(f"{key!r} {raw!r}: expected a {suffix} file")
    try:
        if not path.is_file():
            raise bad(f"{key!r} {raw!r}: {'not a regular file' if path.exists() else 'no such file'}")
        size = path.stat().st_size
    except OSError as exc:
        raise bad(f"{key!r} {raw!r}: cannot read ({exc.strerror})") from None
    if size > limit:
        raise bad(f"{key!r} {raw!r}: {size} bytes, more than {limit}")
    return path


def _cflags(raw: Any, bad: Any) -> tuple[str, tuple[str, ...]]:
    """``cflags``: at most one optimization level (default -O2) and flags of the :data:`_CFLAG` kinds."""
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw) or len(raw) > MAX_CFLAGS:
        raise bad(f"'cflags' must be a list of at most {MAX_CFLAGS} strings")
    levels = [f for f in raw if f.startswith("-O")]
    if len(levels) > 1:
        raise bad("'cflags' gives more than one optimization level")
    if levels and levels[0] not in compiler.OPT_LEVELS:
        raise bad(f"'cflags': {levels[0]!r}: the levels are {', '.join(compiler.OPT_LEVELS)}")
    others = tuple(f for f in raw if not f.startswith("-O"))
    for flag in others:
        if not _CFLAG.match(flag):
            raise bad(f"'cflags': {flag!r} is not allowed (a level, -D/-U macros, -w/-W warnings, -f/-m switches, "
                      "-Wl,-z,stack-size=N)")
    return (levels[0] if levels else "-O2"), others


def _wasi_inputs(sidecar: Path, raw: dict[str, Any], bad: Any) -> WasiInputs:
    """``wasi``: WasiInputs.to_json's form (strictly typed), the files of the preopened directory
    optionally from a corpus folder (``files_from``) and stdin from a corpus file (``stdin_from``)."""
    unknown = set(raw) - set(_WASI_KEYS)
    if unknown:
        raise bad(f"'wasi' has unknown key {sorted(unknown)[0]!r}")
    args, env = raw.get("args", ["program"]), raw.get("env", [])
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise bad("'wasi.args' must be a non-empty list of strings (argv[0] first)")
    if not isinstance(env, list) or not all(isinstance(kv, list) and len(kv) == 2 and all(isinstance(x, str) for x in kv)
                                            for kv in env):
        raise bad("'wasi.env' must be a list of [name, value] string pairs")
    if not isinstance(raw.get("stdin", ""), str):
        raise bad("'wasi.stdin' must be base64 text")
    if not isinstance(raw.get("files", {}), dict) or not all(isinstance(v, str) for v in raw.get("files", {}).values()):
        raise bad("'wasi.files' must be an object of path -> base64 text")
    for inline, external in (("files", "files_from"), ("stdin", "stdin_from")):
        if inline in raw and external in raw:
            raise bad(f"'wasi' gives both {inline!r} and {external!r}: keep one")
    try:
        inputs = WasiInputs.from_json({k: raw[k] for k in ("args", "env", "stdin", "files") if k in raw})
        stdin = inputs.stdin
        if "stdin_from" in raw:
            stdin = _corpus_file(sidecar, raw["stdin_from"], "wasi.stdin_from", limits.WASI_MAX_STDIN_BYTES,
                                 bad).read_bytes()
        files = inputs.files
        if "files_from" in raw:
            files = _read_tree(_corpus_path(sidecar, raw["files_from"], "wasi.files_from", bad),
                               raw["files_from"], bad)
        return WasiInputs(inputs.args, inputs.env, stdin, files)
    except CorpusError:
        raise
    except OSError as exc:
        raise bad(f"'wasi': cannot read {exc.filename} ({exc.strerror})") from None
    except BadInput as exc:  # WasiInputs' limits and names
        raise bad(f"'wasi': {exc}") from None


def _read_tree(root: Path, raw: str, bad: Any) -> tuple[tuple[str, bytes], ...]:
    """The regular files under ROOT as '/'-separated relative paths, within limits.WASI_MAX_FILES
    and WASI_MAX_TREE_BYTES (checked from their sizes before any is read); no symbolic links."""
    if not root.is_dir() or root.is_symlink():
        raise bad(f"'wasi.files_from' {raw!r}: not a folder")
    found: list[tuple[str, Path]] = []
    total = 0
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise bad(f"'wasi.files_from' {raw!r}: {relative} is not a regular file or folder")
        if path.is_dir():
            continue
        total += path.stat().st_size
        found.append((relative, path))
        if len(found) > limits.WASI_MAX_FILES or total > limits.WASI_MAX_TREE_BYTES:
            raise bad(f"'wasi.files_from' {raw!r}: more than {limits.WASI_MAX_FILES} files or "
                      f"{limits.WASI_MAX_TREE_BYTES} bytes")
    return tuple((relative, path.read_bytes()) for relative, path in found)


def _expectation(raw: dict[str, Any], bad: Any) -> Expectation:
    if set(raw) - {"verdict", "facets", "message", "issue", "note"}:
        raise bad(f"'expect' has unknown key {sorted(set(raw) - {'verdict', 'facets', 'message', 'issue', 'note'})[0]!r}")
    verdict = raw.get("verdict")
    if verdict not in VERDICTS:
        raise bad(f"'expect.verdict' must be one of {', '.join(VERDICTS)}")
    facets = raw.get("facets", [])
    if not isinstance(facets, list) or any(f not in FACETS for f in facets):
        raise bad(f"'expect.facets' must list facets from {', '.join(FACETS)}")
    if verdict == "divergent" and not facets:
        raise bad("an expected divergence must name its facets")
    return Expectation(verdict, tuple(facets), str(raw.get("message", "")), str(raw.get("issue", "")),
                       str(raw.get("note", "")))


def discover(paths: list[Path]) -> tuple[list[Case], list[str]]:
    """Cases under PATHS (folders are searched recursively); malformed entries as messages."""
    sidecars: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            sidecars += sorted(p for p in path.rglob("*.json") if not p.name.startswith("."))
            for module in sorted([*path.rglob("*.wat"), *path.rglob("*.wasm")]):
                if not module.with_suffix(".json").is_file():
                    errors.append(f"{module}: module without a sidecar ({module.with_suffix('.json').name})")
        elif path.suffix == ".json":
            sidecars.append(path)
        elif path.suffix in (".wat", ".wasm"):
            sidecars.append(path.with_suffix(".json"))
        else:
            errors.append(f"{path}: not a corpus folder, sidecar or module")
    cases = []
    for sidecar in sidecars:
        try:
            cases.append(load_case(sidecar))
        except CorpusError as exc:
            errors.append(str(exc))
    return cases, errors


def validate_modules(cases: list[Case]) -> list[str]:
    """Every module must load and validate."""
    return well_formed(cases)[1]


def well_formed(cases: list[Case]) -> tuple[list[Case], list[str]]:
    """CASES whose module loads and validates (a C source: builds, from the compiler's cache), and
    the others as malformed-entry messages."""
    good, errors = [], []
    for case in cases:
        try:
            wasm = case.wasm()
        except (BadInput, compiler.CompileError) as exc:
            errors.append(str(exc))
            continue
        if wasmtools.is_core_module(wasm):
            good.append(case)
        else:
            errors.append(f"{case.module}: not a core WebAssembly module (a corpus case is one)")
    return good, errors


def _judge(case: Case, engine: str, restore_in: str | None = None, restore_config: str | None = None,
           signal: str | None = None) -> Any:
    """CASE judged by ENGINE; restored as the case requires, else RESTORE_IN and RESTORE_CONFIG; suspended
    as the case requires, else as SIGNAL asks (see the module doc)."""
    def judged(schedule: str, yield_points: str, how: str) -> Verdict:
        return check(case.wasm(), get_engine(engine), seed=case.seed, schedule=schedule, yield_points=yield_points,
                     wasmtime_opt=case.wasmtime_opt, source=str(case.module), wasi=case.wasi,
                     restore_in=case.restore_in or restore_in, restore_config=case.restore_config or restore_config,
                     signal=how)

    if case.signal == THREAD:
        thread = judged(case.schedule, case.yield_points, THREAD)
        return thread if case.schedule == "none" else _worst(thread, judged(case.schedule, case.yield_points,
                                                                            "schedule"))
    if case.signal is None and signal == THREAD and case.expect.verdict == "equal":
        points = YieldPoints.parse(case.yield_points)
        return judged(case.schedule, case.yield_points if points.flag else f"{points},flag", THREAD)
    return judged(case.schedule, case.yield_points, "schedule")


def _worst(first: Verdict, second: Verdict) -> Verdict:
    """Two verdicts of one case as one: divergent if either is (with the findings of both), else the one
    that is not equal, else the first; notes and suspensions of both."""
    from dataclasses import replace

    status = DIVERGENT if DIVERGENT in (first.status, second.status) else \
        first.status if first.status != EQUAL else second.status
    return replace(first, status=status, findings=[*first.findings, *second.findings],
                   notes=[*first.notes, *second.notes], inconclusive=[*first.inconclusive, *second.inconclusive],
                   suspensions=first.suspensions + second.suspensions, schedules=first.schedules + second.schedules,
                   report=first.report + "\n" + second.report)


def replay_case(case: Case, restore_in: str | None = None, restore_config: str | None = None,
                signal: str | None = None) -> Result:
    """Judge CASE and compare the verdict with the one its sidecar expects."""
    expect = case.expect
    started = time.monotonic()

    def result(outcome: str, detail: str, facets: list[str] | None = None) -> Result:
        if case.affected_versions:  # informational, measured (see docs/binaryen/)
            detail += f" [affected releases: {format_versions(case.affected_versions)}]"
        return Result(case.name, str(case.module), outcome, detail, time.monotonic() - started, facets or [])

    try:
        verdict = _judge(case, case.engine, restore_in, restore_config, signal)
    except EngineDefect as exc:  # a valid module the engine refuses: a known engine defect, or a regression
        if expect.verdict == "engine-defect" and expect.message in exc.detail:
            return result("pass", f"engine defect as expected: {exc.detail}")
        return result("regression", f"engine defect: {exc}")
    except Unsupported as exc:
        if expect.verdict == "unsupported" and expect.message in str(exc):
            return result("pass", f"unsupported as expected: {exc}")
        return result("regression", f"unsupported: {exc}")
    except ResumefuzzError as exc:
        return result("error", str(exc))
    facets = verdict.facets
    if expect.verdict == "equal":
        if verdict.status == EQUAL and expect.note and not any(expect.note in n for n in verdict.notes):
            return result("regression", f"equal, but no note contains {expect.note!r} "
                                        "(the allowance this case guards no longer applies)", facets)
        if verdict.status == EQUAL:
            return result("pass", f"equal ({verdict.suspensions} suspensions)", facets)
        why = ", ".join(facets) or "; ".join(verdict.inconclusive)
        return result("regression", f"{verdict.status}: {why}", facets)
    if expect.verdict == "divergent":
        if verdict.status == DIVERGENT and set(expect.facets) <= set(facets):
            return result("pass", f"still diverges on {', '.join(expect.facets)} (known)", facets)
        if verdict.status == EQUAL:
            return result("regression", "no longer diverges: fixed? update the case's expect", facets)
        return result("regression", f"{verdict.status} on {', '.join(facets) or '-'}, "
                                    f"expected {', '.join(expect.facets)}", facets)
    return result("regression", f"expected a refusal, got {verdict.status}", facets)


def catch_case(case: Case, fault: str, restore_in: str | None = None, restore_config: str | None = None) -> Result:
    """CASE must diverge under the planted FAULT (the case detects that bug class), judged as it requires
    (a ``signal: thread`` case with a control thread)."""
    started = time.monotonic()
    try:
        verdict = _judge(case, f"faulty:{fault}", restore_in, restore_config)
        outcome = "pass" if verdict.status == DIVERGENT else "regression"
        detail = f"caught: {', '.join(verdict.facets)}" if outcome == "pass" else f"fault not caught ({verdict.status})"
        facets = verdict.facets
    except ResumefuzzError as exc:
        outcome, detail, facets = "error", str(exc), []
    return Result(f"{case.name} [faulty:{fault}]", str(case.module), outcome, detail,
                  time.monotonic() - started, facets)


def replay(cases: list[Case], *, with_faults: bool = False, progress: Any = None, restore_in: str | None = None,
           restore_config: str | None = None, signal: str | None = None) -> list[Result]:
    """Every case, restored as it requires, else at RESTORE_IN under RESTORE_CONFIG (resumefuzz.hop), and
    suspended as it requires, else as SIGNAL asks (see the module doc)."""
    results = []
    for case in cases:
        for outcome in [replay_case(case, restore_in, restore_config, signal),
                        *(catch_case(case, f, restore_in, restore_config)
                          for f in (case.catches if with_faults else ()))]:
            results.append(outcome)
            if progress:
                progress(outcome)
    return results


def summary(results: list[Result], errors: list[str]) -> str:
    """One line whose counts add up: every result is passed, regressed or an error, every
    malformed entry is counted once as malformed (with --with-faults each fault check is a result)."""
    counts = {k: sum(r.outcome == k for r in results) for k in ("pass", "regression", "error")}
    return (f"{len(results) + len(errors)} case(s): {counts['pass']} passed, {counts['regression']} regressed, "
            f"{counts['error']} error(s), {len(errors)} malformed")


def exit_code(results: list[Result], errors: list[str]) -> int:
    """1 on any regression (it wins: a regression is what replay exists to find); else 2 when an
    entry is malformed or could not be judged (error); else 0."""
    if any(r.outcome == "regression" for r in results):
        return 1
    return 2 if errors or any(r.outcome == "error" for r in results) else 0


def write_junit(path: Path, results: list[Result], errors: list[str]) -> None:
    suite = ET.Element("testsuite", name="resumefuzz-corpus", tests=str(len(results) + len(errors)),
                      failures=str(sum(r.outcome == "regression" for r in results)),
                      errors=str(sum(r.outcome == "error" for r in results) + len(errors)),
                      time=f"{sum(r.seconds for r in results):.3f}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="corpus", name=r.name, file=r.path, time=f"{r.seconds:.3f}")
        if r.outcome == "regression":
            ET.SubElement(case, "failure", message=r.detail)
        elif r.outcome == "error":
            ET.SubElement(case, "error", message=r.detail)
    for message in errors:
        case = ET.SubElement(suite, "testcase", classname="corpus", name=message.split(":")[0])
        ET.SubElement(case, "error", message=message)
    write_atomic(path, ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n")


def write_json(path: Path, results: list[Result], errors: list[str]) -> None:
    write_atomic(path, json.dumps({"summary": summary(results, errors), "results": [asdict(r) for r in results],
                                   "malformed": errors}, indent=2) + "\n")


def cases_folder(corpus: Path) -> Path:
    """Where cases live in the corpus rooted at CORPUS: CORPUS/cases (CORPUS itself if it is a `cases` folder)."""
    return corpus if corpus.name == "cases" else corpus / "cases"


def add_finding(finding: Path, corpus: Path, *, name: str | None = None, note: str | None = None) -> tuple[Path, bool]:
    """Take a (minimized) finding into the corpus rooted at CORPUS (written to CORPUS/cases/);
    returns (sidecar, added).  Deduplicated by module content across the whole corpus.

    A finding of a WASI program keeps its inputs (``wasi.json`` -> the sidecar's ``wasi``) and, when
    it has one, the C program the module was compiled from (``program.c`` -> ``NAME.c``, named by
    ``compiled_from``, for reading: the module is what is judged)."""
    def read(file: str) -> dict[str, Any]:
        try:
            data = json.loads((finding / file).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"{finding}: not a finding directory ({file}: {exc})") from None
        if not isinstance(data, dict):
            raise BadInput(f"{finding}: not a finding directory ({file} is not a JSON object)")
        return data

    case, engine, schedule = read("case.json"), read("engine.json"), read("schedule.json")
    defect = case.get("kind") == "engine-rejects-valid"
    wasm = wasmtools.load_module(finding / "module.wasm")
    digest = hashlib.sha256(wasm).hexdigest()[:16]
    existing, _ = discover([corpus]) if corpus.is_dir() else ([], [])
    for known in existing:  # the finding's module hash is recorded in every added case's origin
        if f"module sha256 {digest}" in known.origin:
            return known.sidecar, False
    kind = ["engine-rejects-valid"] if defect else case.get("facets", ["unknown"])
    stem = name or f"finding-{'-'.join(kind)}-{digest[:12]}"
    if not _NAME.match(stem):
        raise BadInput(f"--name {stem!r}: use lowercase letters, digits and dashes")
    folder = cases_folder(corpus)
    taken = [p for p in (folder / f"{stem}.json", folder / f"{stem}.wat", folder / f"{stem}.wasm", folder / f"{stem}.c")
             if p.exists()]
    if taken:
        raise BadInput(f"{taken[0]}: a case named {stem!r} already exists (choose another --name)")
    facets = case.get("facets") or []
    try:
        entry = {
            "guards": note or f"{', '.join(facets)} divergence found by resumefuzz fuzz ({finding.name})",
            "origin": f"finding {finding.name} (campaign case {case.get('index')}, {case.get('generator')}; "
                      f"module sha256 {digest})",
            "seed": int(case["seed"]), "engine": engine["engine"], "yield_points": engine["yield_points"],
            "wasmtime_opt": engine["wasmtime_opt"], "schedule": schedule["spec"],
            "expect": {"verdict": "divergent", "facets": facets} if facets else {"verdict": "equal"},
        }
        if defect:  # the engine's first message, as it said it
            entry["guards"] = note or f"engine defect: {engine['engine']} rejects a valid module ({finding.name})"
            entry["expect"] = {"verdict": "engine-defect", "message": str(case["message"]).split("; ")[0]}
        built = [f"{key.replace('_', ' ')} {case[key]}" for key in ("opt_level", "csmith_seed") if key in case]
        if built:  # how a compiled program was made (the rest is in the finding's case.json)
            entry["origin"] = entry["origin"][:-1] + f"; {', '.join(built)})"
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"{finding}: not a finding directory (missing or bad field: {exc})") from None
    for key in ("restore_in", "restore_config"):  # how the finding's runs C restored ...
        if case.get(key) not in (None, "here"):
            entry[key] = case[key]
    if case.get("signal") == THREAD and not defect:  # ... and were suspended (its schedule: the crossings hit)
        entry["signal"] = THREAD
    if (finding / WASI_FILE).is_file():
        entry["wasi"] = _finding_wasi(finding).to_json()
    program = _finding_file(finding, "program.c", SOURCE_LIMIT) if (finding / "program.c").is_file() else None
    if program is not None:
        entry["compiled_from"] = f"{stem}.c"
    text = (finding / "module.wat").read_text() if (finding / "module.wat").is_file() else ""
    sidecar = folder / f"{stem}.json"
    try:
        if program is not None:
            write_atomic(folder / f"{stem}.c", program)
        if text and len(text) <= WAT_LIMIT:
            write_atomic(folder / f"{stem}.wat", f";; corpus case taken from finding {finding.name}\n{text}")
        else:
            write_atomic(folder / f"{stem}.wasm", wasm)
        write_atomic(sidecar, json.dumps(entry, indent=2) + "\n")
    except OSError as exc:
        raise BadInput(f"--corpus {corpus}: cannot write {folder} ({exc.strerror})") from None
    load_case(sidecar)  # what we wrote must be a valid case
    return sidecar, True


def _finding_file(finding: Path, name: str, limit: int) -> bytes:
    path = finding / name
    try:
        size = path.stat().st_size
        if size > limit:
            raise BadInput(f"{finding}: {name} holds {size} bytes, more than {limit}")
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{finding}: cannot read {name} ({exc.strerror})") from None


def _finding_wasi(finding: Path) -> WasiInputs:
    """The WASI inputs a finding recorded (wasi.json, WasiInputs.to_json's form)."""
    raw = _finding_file(finding, WASI_FILE, 2 * (limits.WASI_MAX_TREE_BYTES + limits.WASI_MAX_STDIN_BYTES))
    try:
        return WasiInputs.from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{finding}: not a finding directory ({WASI_FILE}: {exc})") from None
    except BadInput as exc:
        raise BadInput(f"{finding}: not a finding directory ({WASI_FILE}: {exc})") from None


def expected_defects(cases: list[Case]) -> tuple[str, ...]:
    """The engine-defect signatures (as campaigns name them) of the CASES that expect an engine
    defect: one classification (the transform only) per such case.  A case that no longer shows
    its defect adds nothing (``replay`` reports it)."""
    from .campaign.findings import defect_signature
    from .preparation import prepare

    signatures: list[str] = []
    for case in cases:
        if case.expect.verdict != "engine-defect":
            continue
        try:
            prepare(case.wasm(), get_engine(case.engine), YieldPoints.parse(case.yield_points))
        except EngineDefect as exc:
            signatures.append(defect_signature(exc.engine, exc.message_class))
        except ResumefuzzError:
            pass
    return tuple(dict.fromkeys(signatures))


def known_defects(root: Path | None) -> tuple[str, ...]:
    """The engine-defect signatures the corpus at ROOT expects (none without a corpus), as campaigns
    load them (``fuzz --corpus``, ``smoke``, ``selftest``): each costs one classification."""
    if root is None or not root.is_dir():
        return ()
    cases, _ = discover([root])  # malformed entries are `corpus check`'s business
    return expected_defects(cases)
