"""Campaign statistics, the liveness gate (a campaign's exit code) and what a campaign shows."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..checker import DIVERGENT, EQUAL, INCONCLUSIVE
from .case import ENGINE_DEFECT, ENGINE_ERROR, ERROR, HOST_MISMATCH, UNSUPPORTED, CaseResult
from .plan import Options


#: at most this many configuration keys are counted (Stats.config_cases); a key first seen later counts in OTHER
MAX_CONFIGS = 1000  # a default mixed campaign covers about 220 (engine option values x generator/profile)
OTHER = "(other)"
#: a configuration key's parts are cut to these lengths (the whole key stays within a timeline key's bound)
_ROW_CHARS, _COLUMN_CHARS = 72, 44
CONFIG_SEPARATOR = " × "


def config_keys(engine: str, generator: str, profile: str) -> list[str]:
    """The configuration-space cells a case counts in: its engine (by name), and each option value of its
    engine spec, by its GENERATOR/PROFILE (the report's heat map: rows by engine option, columns by
    generator/profile).  ``asyncify:optimize-level=2`` with smith/core gives ``asyncify × smith/core`` and
    ``asyncify: optimize-level=2 × smith/core``."""
    name, _, items = engine.partition(":")
    column = f"{generator or '?'}/{profile or '?'}"[:_COLUMN_CHARS]
    rows = [name] + [f"{name}: {item}" for item in items.split(",") if item]
    return [f"{row[:_ROW_CHARS]}{CONFIG_SEPARATOR}{column}" for row in rows]


def config_cell(key: str) -> tuple[str, str] | None:
    """(Row, column) of a config_keys() key; None for OTHER (or a key that is not one)."""
    row, separator, column = key.rpartition(CONFIG_SEPARATOR)
    return (row, column) if separator and row and column else None


@dataclass
class Stats:
    cases: int = 0
    equal: int = 0
    divergent: int = 0
    inconclusive: int = 0
    unsupported: int = 0
    engine_errors: int = 0  # the engine's transform failed on a module (exit, timeout, invalid output)
    #: the engine refused a valid module (engine-rejects-valid findings; not judged, see `gate`)
    engine_defects: int = 0
    errors: int = 0  # harness errors (a bug in resumefuzz itself)
    host_mismatches: int = 0  # the harness's WASI host disagreed with wasmtime's WASI (a harness bug, a finding)
    crashes: int = 0
    hangs: int = 0
    memory: int = 0
    duplicates: int = 0  # divergences whose signature was already recorded in OUT (still divergences)
    cut: int = 0  # cases stopped unfinished at the end of the time budget (not judged, not counted in `cases`)
    minimization_cut: int = 0  # findings written unminimized or part-minimized because the budget ran out
    schedules: int = 0
    suspensions: int = 0
    # liveness: what the suspensions looked like
    cases_suspended: int = 0  # cases with at least one suspension
    stack_suspensions: int = 0  # suspensions at a site with values on the operand stack
    deep_suspensions: int = 0  # suspensions at program call depth > 3
    grown_suspensions: int = 0  # suspensions after a memory.grow
    table_suspensions: int = 0  # suspensions with a program table changed since instantiation (size or contents)
    drop_suspensions: int = 0  # suspensions after a data or element segment drop
    memory64_suspensions: int = 0  # suspensions in a module with a 64-bit memory
    multi_memory_suspensions: int = 0  # suspensions in a module with two or more program memories
    # WASI programs (compiled code against the harness's WASI host)
    wasi_cases: int = 0  # cases that were WASI programs
    shadow_stack_suspensions: int = 0  # ... suspended with the shadow stack (__stack_pointer) in use
    files_open_suspensions: int = 0  # ... suspended holding a file they opened
    output_written_suspensions: int = 0  # ... suspended after writing to stdout or stderr
    generator_cases: dict[str, int] = field(default_factory=dict)  # cases by the generator that made them
    # where and how runs C were suspended and restored (issue 15)
    suspensions_by_signal: dict[str, int] = field(default_factory=dict)  # "schedule" / "thread" -> suspensions
    signals: int = 0  # flag raises by control threads
    hops: int = 0  # restores in another process
    restores_by_config: dict[str, int] = field(default_factory=dict)  # the restore flags ("" this process) -> cases
    #: WASI programs' straight runs checked against wasmtime's WASI, by outcome (agree, disagree, skipped)
    host_checks: dict[str, int] = field(default_factory=dict)
    # the flag audit (yield-point mode flag: every access to the flag memory must be atomic; issue 15)
    flag_cases: int = 0  # cases prepared in yield-point mode flag (--yield-points flag, --signal thread)
    flag_audits: int = 0  # cases whose prepared module's flag accesses were audited
    flag_violations: int = 0  # ... of which the audit found a non-atomic access (a finding, facet flag)
    #: the configuration space covered, counted: cases by config_keys() ("ENGINE × GENERATOR/PROFILE" and
    #: "ENGINE: OPTION=VALUE × GENERATOR/PROFILE"), at most MAX_CONFIGS keys (later new ones count in OTHER)
    config_cases: dict[str, int] = field(default_factory=dict)
    #: suspensions by the Binaryen release the engine ran (major version; a release whose cases never
    #: suspended is listed with 0)
    binaryen_suspensions: dict[str, int] = field(default_factory=dict)
    profile_cases: dict[str, int] = field(default_factory=dict)  # cases by the profile they were made with
    findings: list[str] = field(default_factory=list)  # new signatures this run
    known: list[str] = field(default_factory=list)  # signatures found again that OUT already held
    #: A-vs-B differences the transform policy excused (README "Transform policy"), by allowance:
    #: "nan payload", "trap kind", "same body" (liveness: does the campaign reach optimizer effects?)
    allowances: dict[str, int] = field(default_factory=dict)
    unsupported_reasons: dict[str, int] = field(default_factory=dict)
    engine_error_reasons: dict[str, int] = field(default_factory=dict)
    engine_defect_classes: dict[str, int] = field(default_factory=dict)  # engine defects by "engine: message class"
    defect_findings: list[str] = field(default_factory=list)  # new engine-rejects-valid signatures this run
    defect_known: list[str] = field(default_factory=list)  # ... found again (OUT already held them)
    defect_seconds: float = 0.0  # wall-clock time engine-defect cases took (classification, minimization)
    known_defect_seconds: float = 0.0  # ... of which known defects (one classification each)
    first_finding: dict[str, Any] | None = None  # seconds, cases, signature, facets, reproducer size, new
    interrupted: bool = False  # stopped by Ctrl-C / SIGTERM
    #: a cluster campaign's breakdown by Dask worker (--cluster): address -> host, cases, blocks, seconds
    #: (busy judging), cases_per_second
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    elapsed: float = 0.0

    @property
    def diverged(self) -> int:
        """Cases that showed a divergence of any kind, new or already known."""
        return self.divergent + self.crashes + self.hangs + self.memory

    @property
    def judged(self) -> int:
        return self.equal + self.divergent

    @property
    def unjudged(self) -> int:
        return self.unsupported + self.engine_defects + self.engine_errors + self.errors + self.host_mismatches

    def add(self, result: CaseResult) -> None:
        """Count a case a worker finished (a transform hang is counted by :meth:`lost`)."""
        self.cases += 1
        self.schedules += result.schedules
        self.suspensions += result.suspensions
        self.cases_suspended += result.suspensions > 0
        self.stack_suspensions += result.stack
        self.deep_suspensions += result.deep
        self.grown_suspensions += result.grown
        self.table_suspensions += result.table_changed
        self.drop_suspensions += result.dropped
        self.memory64_suspensions += result.memory64
        self.multi_memory_suspensions += result.multi_memory
        self.wasi_cases += result.wasi
        self.shadow_stack_suspensions += result.shadow_stack
        self.files_open_suspensions += result.files_open
        self.output_written_suspensions += result.output_written
        if result.suspensions:
            self.suspensions_by_signal[result.signal] = self.suspensions_by_signal.get(result.signal, 0) + \
                result.suspensions
        self.signals += result.signals
        self.hops += result.hops
        if result.schedules:
            key = result.restore or "here"
            self.restores_by_config[key] = self.restores_by_config.get(key, 0) + 1
        if result.host_check:
            self.host_checks[result.host_check] = self.host_checks.get(result.host_check, 0) + 1
        if result.generator:
            self.generator_cases[result.generator] = self.generator_cases.get(result.generator, 0) + 1
        if result.engine:
            for key in config_keys(result.engine, result.generator, result.profile):
                if key not in self.config_cases and len(self.config_cases) >= MAX_CONFIGS:
                    key = OTHER
                self.config_cases[key] = self.config_cases.get(key, 0) + 1
        self.flag_cases += result.flag_mode
        self.flag_audits += result.flag_audited
        self.flag_violations += result.flag_violations > 0
        if result.binaryen:
            self.binaryen_suspensions[result.binaryen] = (self.binaryen_suspensions.get(result.binaryen, 0)
                                                          + result.suspensions)
        if result.profile:
            self.profile_cases[result.profile] = self.profile_cases.get(result.profile, 0) + 1
        for kind, count in result.allowances.items():
            self.allowances[kind] = self.allowances.get(kind, 0) + count
        if result.status == EQUAL:
            self.equal += 1
        elif result.status == DIVERGENT:
            self.divergent += 1
            self.minimization_cut += bool(result.finding and result.finding.minimization_cut)
        elif result.status == INCONCLUSIVE:
            self.inconclusive += 1
        elif result.status == UNSUPPORTED:
            self.unsupported += 1
            _tally(self.unsupported_reasons, result.why)
        elif result.status == ENGINE_DEFECT:
            self.engine_defects += 1
            key = f"{result.defect_engine}: {result.defect_class}"
            self.engine_defect_classes[key] = self.engine_defect_classes.get(key, 0) + 1
            self.defect_seconds += result.seconds
            if result.finding is not None and not result.finding.written:
                self.known_defect_seconds += result.seconds
        elif result.status == ENGINE_ERROR:
            self.engine_errors += 1
            _tally(self.engine_error_reasons, result.why)
        elif result.status == ERROR:
            self.errors += 1
        elif result.status == HOST_MISMATCH:
            self.host_mismatches += 1
        else:
            raise ValueError(f"not a counted case status: {result.status!r}")

    def lost(self, kind: str) -> None:
        """Count a case the system under test lost: a crash, hang or memory blow-up."""
        self.cases += 1
        if kind == "crash":
            self.crashes += 1
        elif kind == "hang":
            self.hangs += 1
        elif kind == "memory":
            self.memory += 1
        else:
            raise ValueError(f"not a lost-case kind: {kind!r}")

    def line(self) -> str:
        rate = lambda n: n / max(self.elapsed, 1e-9)  # noqa: E731
        return (f"{self.elapsed:6.1f}s  cases {self.cases} ({rate(self.cases):.1f}/s)  schedules {self.schedules} "
                f"({rate(self.schedules):.1f}/s)  suspensions {self.suspensions}  findings {len(self.findings)}  "
                f"inconclusive {self.inconclusive}  unsupported {self.unsupported}  engine defects {self.engine_defects}  "
                f"engine errors {self.engine_errors}" + (f"  Dask workers {len(self.workers)}" if self.workers else ""))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["modules_per_second"] = self.cases / max(self.elapsed, 1e-9)
        data["schedules_per_second"] = self.schedules / max(self.elapsed, 1e-9)
        return data


#: exit codes of a campaign (`resumefuzz fuzz`, `smoke`)
EXIT_CLEAN, EXIT_DIVERGED, EXIT_BAD_USAGE, EXIT_UNEXERCISED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def gate(stats: Stats, options: Options) -> tuple[int, str | None]:
    """The campaign's exit code and, unless clean, a one-line reason.

    1 whenever any case diverged (new or already-known signature, crash, hang,
    memory blow-up); otherwise 3 when the campaign exercised too little to
    mean anything: no case judged, more than ``max_unjudged`` of the cases
    not judged (unsupported, engine defects, engine errors, harness errors),
    or fewer than ``min_suspensions`` suspensions; 130 when interrupted; else 0.

    Engine defects (``engine-rejects-valid`` findings) are recorded and shown
    but do not make the exit code 1: nothing was judged for transparency in
    them, so they count as not judged, like ``unsupported``.  (Otherwise one
    known Binaryen front-end defect, hit by a fifth of ``core`` modules, would
    fail every campaign.)
    """
    if stats.host_mismatches:
        return EXIT_DIVERGED, (f"{stats.host_mismatches} case(s) where the harness's WASI host disagreed with "
                               f"wasmtime's WASI (harness bugs, written under {options.out / 'findings'})")
    if stats.diverged or stats.findings or stats.known:
        known = f", {len(stats.known)} already recorded in {options.out / 'findings'}" if stats.known else ""
        return EXIT_DIVERGED, f"{stats.diverged} case(s) diverged ({len(stats.findings)} new finding(s){known})"
    if stats.interrupted:
        return EXIT_INTERRUPTED, "interrupted"
    why = None
    unjudged = (f"{stats.unsupported} unsupported, {stats.engine_defects} engine defect(s), "
                f"{stats.engine_errors} engine error(s), "
                f"{stats.errors} harness error(s)")
    if stats.cases == 0:
        why = "no case ran"
    elif stats.judged == 0:
        why = f"no case was judged ({unjudged}, {stats.inconclusive} inconclusive of {stats.cases})"
    elif stats.unjudged > options.max_unjudged * stats.cases:
        why = (f"{stats.unjudged} of {stats.cases} cases were not judged ({unjudged}), above "
               f"--max-unjudged {options.max_unjudged:g}")
    elif stats.suspensions < options.min_suspensions:
        why = f"{stats.suspensions} suspension(s), below --min-suspensions {options.min_suspensions}"
    if why is not None:
        return EXIT_UNEXERCISED, f"the campaign exercised too little: {why}"
    return EXIT_CLEAN, None


#: profile -> the liveness counters (Stats fields, what they count) its cases are there to reach
REACH: dict[str, tuple[tuple[str, str], ...]] = {
    "tables": (("table_suspensions", "after a table change"), ("drop_suspensions", "after a segment drop")),
    "memory64": (("memory64_suspensions", "with a 64-bit memory"),),
    "multi-memory": (("multi_memory_suspensions", "with two or more memories"),),
    "c": (("shadow_stack_suspensions", "with the shadow stack in use"),
          ("output_written_suspensions", "after output was written"),
          ("files_open_suspensions", "with a file open")),
}


def unreached(stats: Stats) -> list[str]:
    """What the campaign was asked to reach and never did: a line per liveness counter left at 0.

    An area is asked for when a case was made with a profile that targets it
    (:data:`REACH`), or, for a Binaryen release, when a case ran it.  A warning,
    not an exit code: a short campaign may simply not have got there.
    """
    lines = []
    for profile, counters in REACH.items():
        cases = stats.profile_cases.get(profile, 0)
        for name, what in counters:
            if cases and not getattr(stats, name):
                lines.append(f"{cases} case(s) of profile {profile}, yet no suspension {what} ({name} 0)")
    if stats.wasi_cases and not stats.host_checks.get("agree"):
        lines.append(f"{stats.wasi_cases} WASI program(s), yet none was confirmed by wasmtime's WASI "
                     f"(host_checks: {stats.host_checks or 'none'})")
    if stats.signals and not stats.suspensions_by_signal.get("thread"):
        lines.append(f"control threads raised the flag {stats.signals} time(s), yet no run suspended")
    if any(k.startswith("--restore-in process") for k in stats.restores_by_config) and not stats.hops:
        lines.append("runs were to restore in another process, yet no hop happened (hops 0)")
    if stats.flag_cases and not stats.flag_audits:
        lines.append(f"{stats.flag_cases} case(s) in yield-point mode flag, yet no prepared module's flag accesses "
                     f"were audited (flag_audits 0)")
    lines += [f"Binaryen {version} ran, yet never suspended" for version, count in
              sorted(stats.binaryen_suspensions.items()) if count == 0]
    return lines


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole > 0 else "-"


def _tally(reasons: dict[str, int], why: str) -> None:
    reason = re.sub(r"\(at [^)]*\)|\d+", "N", why)[:100]
    reasons[reason] = reasons.get(reason, 0) + 1



class Display:
    """Live progress: a rich status line on a terminal, a log line every 10 s otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.live = None
        self.last = 0.0
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=False)
            self.live.start()

    def update(self, stats: Stats) -> None:
        if not self.enabled:
            return
        if self.live is not None:
            self.live.update(stats.line())
        elif time.monotonic() - self.last >= 10:
            print(stats.line(), file=sys.stderr, flush=True)
            self.last = time.monotonic()

    def close(self, stats: Stats) -> None:
        if self.live is not None:
            self.live.update(stats.line())
            self.live.stop()


def summary(stats: Stats, out: Path, options: Options | None = None) -> str:
    worker_seconds = stats.elapsed * (options.jobs if options is not None else 1)  # time is summed over workers
    if stats.workers:  # a cluster campaign: the Dask workers' own busy time
        worker_seconds = sum(w["seconds"] for w in stats.workers.values())
    lines = [
        f"resumefuzz fuzz: {stats.cases} case(s) in {stats.elapsed:.1f}s "
        f"({stats.cases / max(stats.elapsed, 1e-9):.1f} modules/s, {stats.schedules / max(stats.elapsed, 1e-9):.1f} schedules/s)"
        + (" — interrupted" if stats.interrupted else ""),
        f"  equal {stats.equal} · divergent {stats.divergent} · inconclusive {stats.inconclusive} · "
        f"unsupported {stats.unsupported} · engine defects {stats.engine_defects} · "
        f"engine errors {stats.engine_errors} · harness errors {stats.errors} · "
        + (f"WASI host mismatches {stats.host_mismatches} · " if stats.host_mismatches else "") +
        f"crashes {stats.crashes} · hangs {stats.hangs} · memory {stats.memory}"
        + (f" · cut at the deadline {stats.cut}" if stats.cut else ""),
        f"  suspensions {stats.suspensions} in {stats.cases_suspended} case(s): {stats.stack_suspensions} with values "
        f"on the operand stack, {stats.deep_suspensions} at call depth > 3, {stats.grown_suspensions} after memory.grow, "
        f"{stats.table_suspensions} after a table change, {stats.drop_suspensions} after a segment drop, "
        f"{stats.memory64_suspensions} with a 64-bit memory, {stats.multi_memory_suspensions} with 2+ memories",
        "  suspensions by Binaryen release: "
        + (", ".join(f"{v} {n}" for v, n in sorted(stats.binaryen_suspensions.items())) or "none"),
        "  cases by profile: " + (", ".join(f"{p} {n}" for p, n in sorted(stats.profile_cases.items())) or "none"),
        "  cases by generator: " + (", ".join(f"{g} {n}" for g, n in sorted(stats.generator_cases.items())) or "none"),
        f"  WASI programs {stats.wasi_cases}: suspensions {stats.shadow_stack_suspensions} with the shadow stack in "
        f"use, {stats.files_open_suspensions} with a file open, {stats.output_written_suspensions} after output "
        f"was written; checked against wasmtime's WASI: "
        + (", ".join(f"{k} {v}" for k, v in sorted(stats.host_checks.items())) or "none"),
        "  suspended by: " + (", ".join(f"{k} {v}" for k, v in sorted(stats.suspensions_by_signal.items())) or "none")
        + f"; control-thread signals {stats.signals}; hops between processes {stats.hops}; cases by restore: "
        + (", ".join(f"{k} {v}" for k, v in sorted(stats.restores_by_config.items())) or "none"),
        f"  flag audits: {stats.flag_audits} of {stats.flag_cases} case(s) in yield-point mode flag audited, "
        f"{stats.flag_violations} with a non-atomic flag access",
        *(f"  warning: {line}" for line in unreached(stats)),
        "  transform policy allowances (A vs B, optimizing engines): "
        + (", ".join(f"{k} {v}" for k, v in sorted(stats.allowances.items())) or "none"),
        f"  findings {len(stats.findings)} new, {len(stats.known)} already recorded (divergent cases: {stats.diverged})"
        + (f"; {stats.minimization_cut} not fully minimized (budget)" if stats.minimization_cut else ""),
        f"  engine defects (valid modules the engine rejects) {stats.engine_defects}: "
        f"{len(stats.defect_findings)} new, {len(stats.defect_known)} already recorded; "
        f"{stats.defect_seconds:.1f} worker-seconds ({_share(stats.defect_seconds, worker_seconds)} of the "
        f"workers' time), known ones {stats.known_defect_seconds:.1f} ({_share(stats.known_defect_seconds, worker_seconds)})",
        *(f"    {count} × {key}" for key, count in sorted(stats.engine_defect_classes.items(), key=lambda kv: -kv[1])),
        *([f"  Dask workers {len(stats.workers)}: " + ", ".join(
            f"{a} ({w['machine']}) {w['cases']} cases in {w['seconds']:.0f}s" for a, w in sorted(stats.workers.items()))]
          if stats.workers else []),
        f"  stats: {out / 'stats.json'}",
    ]
    from .findings import affected_note  # each finding's Binaryen releases, as re-judged when it was written

    lines += [f"  finding: {out / 'findings' / s}{affected_note(out, s)}" for s in stats.findings]
    lines += [f"  known:   {out / 'findings' / s}{affected_note(out, s)}" for s in stats.known]
    lines += [f"  engine defect: {out / 'findings' / s}{affected_note(out, s)}" for s in stats.defect_findings]
    if options is not None:
        code, reason = gate(stats, options)
        lines.append(f"  verdict: exit {code}" + (f": {reason}" if reason else ": clean"))
    return "\n".join(lines)
