"""The regression corpus: cases a person can read and a tool can run.

A case is ``NAME.wat`` (or ``NAME.wasm``) plus the sidecar ``NAME.json``
(format in corpus/README.md).  ``replay`` judges every case and compares the
verdict with the one the sidecar expects; an expected divergence (a known,
unfixed engine bug) must still diverge on the same facets, so a silent fix
is noticed, like a strict xfail.
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

from . import wasmtools
from .checker import DIVERGENT, EQUAL, check
from .files import write_atomic
from .engines import get_engine
from .errors import BadInput, EngineDefect, ResumefuzzError, Unsupported
from .oracles import FACETS
from .preparation import WASMTIME_OPT_LEVELS
from .schedule import validate as validate_schedule
from .yieldpoints import YieldPoints

VERDICTS = ("equal", "divergent", "unsupported", "engine-defect")
_REQUIRED = {"guards": str, "origin": str, "seed": int, "engine": str, "yield_points": str,
             "wasmtime_opt": str, "schedule": str, "expect": dict}
_OPTIONAL = {"catches": list, "affected_versions": (str, list)}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
WAT_LIMIT = 16 * 1024  # findings whose text is larger are kept as .wasm
_VERSION_ITEM = re.compile(r"^\s*(\d{1,4})\s*(?:[-\u2013]\s*(\d{1,4})\s*)?$", re.ASCII)  # "130" or "121-132" / "121–132"


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
    try:
        affected = parse_versions(data["affected_versions"]) if "affected_versions" in data else ()
    except ValueError as exc:
        raise bad(f"'affected_versions' {exc}") from None
    name = sidecar.stem
    if not _NAME.match(name):
        raise bad("case names use lowercase letters, digits and dashes")
    modules = [p for p in (sidecar.with_suffix(".wat"), sidecar.with_suffix(".wasm")) if p.is_file()]
    if len(modules) != 1:
        raise bad("needs exactly one module beside it (NAME.wat or NAME.wasm)")
    try:
        get_engine(data["engine"])
        YieldPoints.parse(data["yield_points"])
        validate_schedule(data["schedule"])
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
                data["yield_points"], data["wasmtime_opt"], data["schedule"], expect, catches, affected)


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
    """CASES whose module loads and validates, and the others as malformed-entry messages."""
    good, errors = [], []
    for case in cases:
        try:
            wasm = wasmtools.load_module(case.module)
        except BadInput as exc:
            errors.append(str(exc))
            continue
        if wasmtools.is_core_module(wasm):
            good.append(case)
        else:
            errors.append(f"{case.module}: not a core WebAssembly module (a corpus case is one)")
    return good, errors


def _judge(case: Case, engine: str) -> Any:
    return check(wasmtools.load_module(case.module), get_engine(engine), seed=case.seed, schedule=case.schedule,
                 yield_points=case.yield_points, wasmtime_opt=case.wasmtime_opt, source=str(case.module))


def replay_case(case: Case) -> Result:
    """Judge CASE and compare the verdict with the one its sidecar expects."""
    expect = case.expect
    started = time.monotonic()

    def result(outcome: str, detail: str, facets: list[str] | None = None) -> Result:
        if case.affected_versions:  # informational, measured (see docs/binaryen/)
            detail += f" [affected releases: {format_versions(case.affected_versions)}]"
        return Result(case.name, str(case.module), outcome, detail, time.monotonic() - started, facets or [])

    try:
        verdict = _judge(case, case.engine)
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


def catch_case(case: Case, fault: str) -> Result:
    """CASE must diverge under the planted FAULT (the case detects that bug class)."""
    started = time.monotonic()
    try:
        verdict = _judge(case, f"faulty:{fault}")
        outcome = "pass" if verdict.status == DIVERGENT else "regression"
        detail = f"caught: {', '.join(verdict.facets)}" if outcome == "pass" else f"fault not caught ({verdict.status})"
        facets = verdict.facets
    except ResumefuzzError as exc:
        outcome, detail, facets = "error", str(exc), []
    return Result(f"{case.name} [faulty:{fault}]", str(case.module), outcome, detail,
                  time.monotonic() - started, facets)


def replay(cases: list[Case], *, with_faults: bool = False, progress: Any = None) -> list[Result]:
    results = []
    for case in cases:
        for outcome in [replay_case(case), *(catch_case(case, f) for f in (case.catches if with_faults else ()))]:
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
    returns (sidecar, added).  Deduplicated by module content across the whole corpus."""
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
    taken = [p for p in (folder / f"{stem}.json", folder / f"{stem}.wat", folder / f"{stem}.wasm") if p.exists()]
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
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"{finding}: not a finding directory (missing or bad field: {exc})") from None
    text = (finding / "module.wat").read_text() if (finding / "module.wat").is_file() else ""
    sidecar = folder / f"{stem}.json"
    try:
        if text and len(text) <= WAT_LIMIT:
            write_atomic(folder / f"{stem}.wat", f";; corpus case taken from finding {finding.name}\n{text}")
        else:
            write_atomic(folder / f"{stem}.wasm", wasm)
        write_atomic(sidecar, json.dumps(entry, indent=2) + "\n")
    except OSError as exc:
        raise BadInput(f"--corpus {corpus}: cannot write {folder} ({exc.strerror})") from None
    load_case(sidecar)  # what we wrote must be a valid case
    return sidecar, True


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
            prepare(wasmtools.load_module(case.module), get_engine(case.engine), YieldPoints.parse(case.yield_points))
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
