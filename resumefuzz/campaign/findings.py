"""Findings: minimize a divergence (schedule, then module through its generator) and write it.

A finding of an engine with Binaryen releases to choose from (Asyncify's ``version`` option) is
then re-judged on every installed release (:mod:`resumefuzz.versions`; same seed, schedule and
yield points): case.json records ``versions`` (release -> outcome) and ``affected`` (first..last
release showing it), report.txt a table, the campaign summary the span.

A finding goes to ``OUT/findings/<signature>/``, written into a temporary
directory first and renamed into place, so it is either complete or absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from resumefuzz.fuzz import GeneratedCase, get_generator

from .. import versions
from ..checker import DIVERGENT, WASI_FILE, Finding, Judge
from ..divergence_page import text_page
from ..files import write_atomic
from ..errors import EngineDefect
from ..minimize import DefectPredicate, Predicate, minimize_schedule, reduce_lines
from ..schedule import Schedule
from .case import RecordedFinding, Size, generate
from .plan import CAMPAIGN_SCHEDULE, CasePlan, Options
from ..versions import ENGINE_DEFECT as ENGINE_DEFECT_STATUS, Outcome

_MINIMIZATION = {False: "complete",
                 True: "cut short: the campaign's time budget ran out (module and schedule may be larger than needed)"}


def record_finding(plan: CasePlan, options: Options, case: GeneratedCase, judge: Judge, finding: Finding,
                   deadline: float) -> RecordedFinding:
    """Minimize FINDING of CASE until DEADLINE (epoch seconds), then write it; a finding whose
    minimization the deadline cut short is still written, and says so."""
    facets = sorted(set(finding.facets))
    before = Size(len(case.wasm), len(finding.schedule.crossings) if finding.schedule else 0)
    if finding.schedule is None:
        schedule = Schedule("none", ())
    elif time.time() < deadline:
        schedule = minimize_schedule(judge, finding, deadline=deadline)
    else:
        schedule = finding.schedule
    spec = "none" if not schedule.crossings else f"{schedule.label};spread:8"
    if finding.schedule is not None and not schedule.label.startswith("at:"):
        spec = "at:" + ",".join(map(str, schedule.crossings))
    predicate = _predicate(plan, spec, facets, case)
    written = case
    cut = options.shrink_attempts > 0 and time.time() >= deadline
    if options.shrink_attempts > 0 and not cut:
        written = get_generator(plan.generator).shrink(case, predicate, deadline=deadline,
                                                       attempts=options.shrink_attempts) or case
    cut = cut or time.time() >= deadline
    # The recorded case must replay: re-judge exactly what is written.
    verdict = predicate.verdict(written.wasm)
    if verdict is None or verdict.status != DIVERGENT:
        written = case
        verdict = predicate.verdict(written.wasm) or _predicate(plan, CAMPAIGN_SCHEDULE, facets, case).verdict(written.wasm)
        spec = spec if verdict is not None and verdict.status == DIVERGENT else CAMPAIGN_SCHEDULE
    after = Size(len(written.wasm), len(schedule.crossings))
    found = None if verdict is None else Outcome(verdict.status, verdict.headline + " (as found)", 0.0, plan.engine)
    releases, releases_report = _rejudged(plan, written.wasm, spec, found, DIVERGENT, prepare_only=False,
                                          timeout=options.case_timeout, until=deadline + REJUDGE_GRACE)
    files = _case_files(plan, written, {"facets": facets, "before": asdict(before), "after": asdict(after),
                                        "minimization": _MINIMIZATION[cut], **releases},
                        (verdict.report if verdict else "replay did not reproduce; see case.json\n")
                        + (f"note: {_MINIMIZATION[True]}\n" if cut else "") + releases_report, spec)
    files["schedule.json"] = json.dumps({"spec": spec, "crossings": list(schedule.crossings),
                                         "original": finding.schedule and list(finding.schedule.crossings)},
                                        indent=2)
    files["engine.json"] = _engine_json(plan)
    if verdict is not None:  # report.html: the divergence page, both sides' state (A, B repeated when shrunk)
        files["report.html"] = _divergence_page(plan, verdict, judge if written.wasm == case.wasm else None,
                                                written.wasm, str(files["report.txt"]))
    try:
        from .. import wasmtools

        files["module.wat"] = written.text if written.text is not None else wasmtools.print_text(written.wasm)
    except Exception:  # noqa: BLE001 - printing is a convenience
        pass
    signature = signature_of(facets, plan.engine, written.wasm)
    return RecordedFinding(signature, write_finding(options.out, signature, files), facets, before, after, cut)


#: the finding kind (and folder-name prefix) of a valid module the engine refuses to read
ENGINE_REJECTS_VALID = "engine-rejects-valid"


def defect_signature(engine: str, message_class: str) -> str:
    """An engine defect's name: the engine (by name, not options) and its message class."""
    digest = hashlib.sha256(f"{engine}\n{message_class}".encode()).hexdigest()[:12]
    return f"{ENGINE_REJECTS_VALID}-{engine}-{digest}"


def record_engine_defect(plan: CasePlan, options: Options, case: GeneratedCase, defect: EngineDefect,
                         deadline: float) -> RecordedFinding:
    """An ``engine-rejects-valid`` finding: a module the harness validated that the engine refuses.

    Deduplicated by engine name and message class: one already in OUT/findings, or expected by the
    corpus (``Options.known_defects``), costs nothing more (no minimization, nothing written).  A
    new one is minimized while it stays valid and refused with the same message class (each
    candidate only prepared, never run), until DEADLINE: delta debugging over its text lines, in
    process (:func:`~resumefuzz.minimize.reduce_lines`).
    """
    signature = defect_signature(defect.engine, defect.message_class)
    before = Size(len(case.wasm), 0)
    if signature in options.known_defects or (options.out / "findings" / signature).exists():
        return RecordedFinding(signature, False, [ENGINE_REJECTS_VALID], before, before, False)
    predicate = DefectPredicate(plan.engine, plan.yield_points, defect.message_class)
    wasm, cut = case.wasm, time.time() >= deadline
    if options.shrink_attempts > 0 and not cut:
        # Binaryen's wasm-reduce would fit, but the npm build cannot start the command it runs (an
        # emscripten binary has no processes); `wasm-tools shrink` starts one per candidate.
        wasm = reduce_lines(case.wasm, predicate, deadline=deadline)
        cut = time.time() >= deadline
    found = predicate.defect(wasm) if wasm != case.wasm else defect
    if found is None or found.message_class != defect.message_class:  # what is written must reproduce
        wasm, found = case.wasm, defect
    written = replace(case, wasm=wasm, text=case.text if wasm == case.wasm else None)
    after = Size(len(wasm), 0)
    # The parent is not told of a defect (see run_case): minimization keeps within half of the case
    # timeout, re-judging on the other releases (a transform each) within most of the rest.
    releases, releases_report = _rejudged(plan, wasm, CAMPAIGN_SCHEDULE,
                                          Outcome(ENGINE_DEFECT_STATUS, found.detail + " (as found)", 0.0, plan.engine),
                                          ENGINE_DEFECT_STATUS, prepare_only=True, message_class=defect.message_class,
                                          timeout=options.case_timeout, until=deadline + 0.4 * options.case_timeout)
    fields = {"kind": ENGINE_REJECTS_VALID, "engine_name": defect.engine, "message_class": defect.message_class,
              "message": found.detail, "before": asdict(before), "after": asdict(after),
              "minimization": _MINIMIZATION[cut], **releases}
    report = (f"ENGINE DEFECT: engine {defect.engine} rejects a valid module ({ENGINE_REJECTS_VALID})\n"
              f"message class: {defect.message_class}\n"
              f"engine's message: {found.detail}\n"
              f"module: {before.module_bytes} -> {after.module_bytes} bytes "
              f"(valid under wasm-tools/wasmtime; instrumented with --yield-points {plan.yield_points})\n"
              + (f"note: {_MINIMIZATION[True]}\n" if cut else "") + releases_report)
    files = _case_files(plan, written, fields, report, CAMPAIGN_SCHEDULE)
    files["replay"] = _defect_replay_script(plan)
    files["schedule.json"] = json.dumps({"spec": CAMPAIGN_SCHEDULE, "crossings": [], "original": None}, indent=2)
    files["engine.json"] = _engine_json(plan)
    try:
        from .. import wasmtools

        files["module.wat"] = written.text if written.text is not None else wasmtools.print_text(wasm)
    except Exception:  # noqa: BLE001 - printing is a convenience
        pass
    return RecordedFinding(signature, write_finding(options.out, signature, files), [ENGINE_REJECTS_VALID],
                           before, after, cut)


#: re-judging a divergence on the other Binaryen releases may go this long past the minimization
#: deadline (the parent allows pool.WRITE_GRACE = 20 s for re-judging and writing)
REJUDGE_GRACE = 12.0


def _rejudged(plan: CasePlan, wasm: bytes, schedule: str, found: Outcome | None, status: str, *,
              prepare_only: bool, timeout: float, until: float,
              message_class: str | None = None) -> tuple[dict[str, Any], str]:
    """WASM re-judged as PLAN judged it (schedule SCHEDULE) on every installed Binaryen release.

    (case.json fields, report.txt lines): ``versions`` (release -> outcome), ``affected``
    (``first..last`` of the releases whose outcome is STATUS) and ``affected_versions``; nothing
    for an engine without Binaryen releases or with only one installed.  FOUND: the outcome on
    PLAN's own release (already judged).  MESSAGE_CLASS (an engine defect's): only releases refusing
    with that class are affected (:func:`versions.rejudge`).  Each release gets at most TIMEOUT
    seconds, none starts after UNTIL.
    """
    from ..engines import get_engine
    from ..report import versions_table

    try:
        engine = get_engine(plan.engine)
        specs = versions.release_specs(plan.engine)
    except Exception:  # noqa: BLE001 - the engine built before; re-judging is an addition
        return {}, ""
    if specs is None or len(specs) < 2:
        return {}, ""
    own = str(engine.config.get("version", ""))
    outcomes = versions.rejudge(plan.engine, wasm, seed=plan.seed, schedule=schedule,
                                yield_points=plan.yield_points, wasmtime_opt=plan.wasmtime_opt, timeout=timeout,
                                until=until, prepare_only=prepare_only, message_class=message_class,
                                known={own: replace(found, spec=specs.get(own, plan.engine))} if found else None)
    hit = versions.affected(outcomes, status)
    fields = {"versions": {v: o.status for v, o in outcomes.items()}, "affected": versions.span(hit),
              "affected_versions": hit, "versions_detail": {v: o.to_json() for v, o in outcomes.items()}}
    return fields, "\n" + versions_table(outcomes, status, "re-judged on every installed Binaryen release")


def affected_note(out: Path, signature: str) -> str:
    """`` (Binaryen releases affected: 121..132)`` for the finding OUT/findings/SIGNATURE, if it was re-judged."""
    try:
        case = json.loads((out / "findings" / signature / "case.json").read_text())
    except (OSError, ValueError):
        return ""
    if not isinstance(case, dict) or "affected" not in case:
        return ""
    return f" (Binaryen releases affected: {case['affected']})"


def _engine_json(plan: CasePlan) -> str:
    """engine.json: how the finding's engine ran (its spec, and the Binaryen release when it has one)."""
    record: dict[str, Any] = {"engine": plan.engine, "yield_points": plan.yield_points,
                              "wasmtime_opt": plan.wasmtime_opt}
    try:
        from ..engines import get_engine

        version = get_engine(plan.engine).config.get("version")
    except Exception:  # noqa: BLE001 - the engine built before; this is a record
        version = None
    if version:
        record["binaryen_version"] = version
    return json.dumps(record, indent=2)


def _defect_replay_script(plan: CasePlan) -> str:
    args = " ".join(shlex.quote(a) for a in ["--engine", plan.engine, "--yield-points", plan.yield_points])
    python = shlex.quote(sys.executable)
    return ("#!/bin/sh\n# Reproduce this engine defect (exit 5 = the engine still rejects this valid module).\n"
            f'cd "$(dirname "$0")" && exec {python} -m resumefuzz check module.wasm {args} "$@"\n')


def unjudged_finding(out: Path, plan: CasePlan, headline: str, *, kind: str = "",
                     facets: list[str] | None = None) -> tuple[str, bool]:
    """Write PLAN's module as it was generated: a crash, hang or memory blow-up of the system under
    test (KIND), or a divergence (FACETS) whose minimization the budget cut.  (signature, written)"""
    case = generate(plan)
    if facets is None:
        fields: dict[str, Any] = {"kind": kind}
        signature = f"{kind}-{hashlib.sha256(case.wasm).hexdigest()[:12]}"
    else:
        fields = {"facets": facets, "minimization": "not run: the time budget ended before it finished"}
        signature = signature_of(facets, plan.engine, case.wasm)
    files = _case_files(plan, case, fields, f"resumefuzz fuzz: {headline}\ncase: {json.dumps(asdict(plan))}\n",
                        plan.schedule)
    return signature, write_finding(out, signature, files)


def _case_files(plan: CasePlan, case: GeneratedCase, fields: dict[str, Any], report: str,
                spec: str) -> dict[str, bytes | str]:
    """The files every finding has: the module, case.json (the plan, generator record and FIELDS),
    the report and the replay script (judging under schedule SPEC)."""
    files: dict[str, bytes | str] = {
        "module.wasm": case.wasm,
        "case.json": json.dumps({**asdict(plan), **case.record, **fields}, indent=2),
        "report.txt": report,
        "report.html": text_page(f"resumefuzz finding: {report.partition(chr(10))[0]}", report),
        "replay": _replay_script(_predicate(plan, spec, [], case)),
    }
    if case.input is not None:
        files["smith-input.bin"] = case.input
    if case.wasi is not None:  # a WASI program: its inputs (the replay line reads them) ...
        files[WASI_FILE] = json.dumps(case.wasi.to_json(), indent=2) + "\n"
    if case.source is not None:  # ... and the source it was compiled from, to read
        files[SOURCE_FILE] = case.source
    return files


def _divergence_page(plan: CasePlan, verdict: Any, judge: Judge | None, wasm: bytes, report: str) -> str:
    """A finding's report.html: VERDICT's page beside the straight runs (JUDGE's when it judged WASM),
    REPORT (report.txt) as its text."""
    from ..divergence_page import page, straight_runs
    from ..engines import get_engine

    note = ""
    try:
        references = {"A": judge.a, "B": judge.b} if judge is not None else straight_runs(
            wasm, get_engine(plan.engine), seed=plan.seed, yield_points=plan.yield_points,
            wasmtime_opt=plan.wasmtime_opt, wasi=verdict.wasi)
    except Exception as exc:  # noqa: BLE001 - the page is an addition; report.txt stands
        references, note = {}, f"the straight runs could not be repeated for this page ({exc})"
    return page(verdict, references, replay="./replay  (in this folder; exit 1 = still divergent)", note=note,
                text=report)


#: a finding's copy of the source its module was compiled from (a compiled-C generator's program)
SOURCE_FILE = "program.c"


def _predicate(plan: CasePlan, spec: str, facets: list[str], case: GeneratedCase | None = None) -> Predicate:
    """Judging as PLAN does under schedule SPEC (a WASI CASE with its inputs); interesting when it
    diverges on one of FACETS."""
    wasi = None if case is None or case.wasi is None else case.wasi.to_json()
    return Predicate(plan.engine, plan.seed, spec, plan.yield_points, plan.wasmtime_opt, tuple(facets), wasi,
                     plan.restore_in, plan.restore_config)


def _replay_script(predicate: Predicate) -> str:
    args = " ".join(shlex.quote(a) for a in predicate.check_args())
    python = shlex.quote(sys.executable)
    return ("#!/bin/sh\n# Reproduce this finding (exit 1 = still divergent), with the interpreter that found it.\n"
            f'cd "$(dirname "$0")" && exec {python} -m resumefuzz check module.wasm {args} "$@"\n')


def signature_of(facets: list[str], engine: str, module: bytes) -> str:
    """A finding's name: its facets and a digest of the engine spec and the module's shape
    (names and constants blanked, so near-identical modules share it)."""
    from .. import wasmtools

    try:
        shape = re.sub(r"\$\S+|-?\b\d[\w.+:-]*|\"[^\"]*\"|\(;\d+;\)", "", wasmtools.print_text(module))
    except Exception:  # noqa: BLE001
        shape = module.hex()
    digest = hashlib.sha256(f"{engine}\n{shape}".encode()).hexdigest()[:12]
    return f"{'+'.join(facets)}-{digest}"


def write_finding(out: Path, signature: str, files: dict[str, bytes | str]) -> bool:
    """Atomically create OUT/findings/SIGNATURE/ with FILES; False if it already exists."""
    root = out / "findings"
    final = root / signature
    if final.exists():
        return False
    tmp = root / f".tmp-{signature}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, content in files.items():
        write_atomic(tmp / name, content)
    if "replay" in files:
        (tmp / "replay").chmod(0o755)
    try:
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    return True
