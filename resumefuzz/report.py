"""A verdict as text: the report ``resumefuzz check`` prints, and the notes it carries.

:func:`render` turns a :class:`~resumefuzz.checker.Verdict` into the report
(its headline, what ran, a ``replay:`` command line, notes, and the first
divergences of each divergent comparison as the oracle states them); the
texts of the notes the judge attaches are written here too.
"""

from __future__ import annotations

import hashlib
import shlex
from typing import TYPE_CHECKING

from resumefuzz.oracles import Leeway
from resumefuzz.oracles.transparency import FOLDED_NAN, SAME_BODY, TRAP_KIND

if TYPE_CHECKING:  # pragma: no cover
    from .checker import Verdict
    from .preparation import Preparation
    from .versions import Outcome

__all__ = ["ALLOWED", "NOTHING_SUSPENDED", "excused_notes", "nan_note", "render", "replay_command", "versions_table"]

#: every note of a difference the transform policy allows starts so (the headline says so)
ALLOWED = "A and B differ only in"
NOTHING_SUSPENDED = ("nothing was suspended (no yield point was crossed at a scheduled crossing): "
                     "this check exercised the transform only")
_EXCUSED = {
    TRAP_KIND: "which trap fired (an optimizing transform may reorder traps; wasm has one kind of trap, "
               "and whether and where each run trapped matched)",
    SAME_BODY: "the identity of functions with identical bodies or that the transform merged into one "
               "(an optimizing transform may merge them; a program cannot observe funcref identity)",
    FOLDED_NAN: "a NaN the original computes (canonical under NaN canonicalization) that the transform "
                "folded into a constant with another arithmetic-NaN payload (allowed by the spec)",
}


def nan_note(facets: list[str]) -> str:
    """A vs B differed only in arithmetic NaN payloads, on FACETS."""
    return (f"{ALLOWED} arithmetic NaN payloads (allowed by the wasm spec; equal under NaN canonicalization): "
            + ", ".join(facets))


def excused_notes(leeway: Leeway) -> list[str]:
    """One note per kind of difference LEEWAY excused (up to three places named)."""
    notes = []
    for kind, text in _EXCUSED.items():
        cases = [where for k, where in leeway.excused if k == kind]
        if cases:
            more = f"; and {len(cases) - 3} more" if len(cases) > 3 else ""
            notes.append(f"{ALLOWED} {text}: " + "; ".join(cases[:3]) + more)
    return notes


def replay_command(prep: Preparation, seed: int, schedule: str, source: str, extra: tuple[str, ...] = ()) -> str:
    """EXTRA: further flags (a WASI program's inputs)."""
    args = ["resumefuzz", "check", source, "--engine", prep.engine.spec(), "--seed", str(seed),
            "--schedule", schedule, "--yield-points", str(prep.yield_points)]
    if prep.wasmtime_opt != "speed":
        args += ["--wasmtime-opt", prep.wasmtime_opt]
    args += extra
    return " ".join(shlex.quote(a) for a in args)


def render(verdict: Verdict, prep: Preparation, seed: int, schedule: str, source: str) -> str:
    lines = [
        f"resumefuzz check: {verdict.headline}",
        f"module:       {source} (sha256 {hashlib.sha256(prep.original).hexdigest()[:16]}…)",
        f"engine:       {prep.engine.config_json()}",
        f"seed:         {seed}",
        f"yield points: {prep.yield_points}",
        f"schedule:     {schedule}",
        f"crossings:    B crossed {verdict.crossings} yield point(s); {verdict.schedules} interrupted run(s), "
        f"{verdict.suspensions} suspension(s) in all",
        f"replay:       {replay_command(prep, seed, verdict.replay_schedule or schedule, source, verdict.replay_args)}",
    ]
    for note in verdict.inconclusive:
        lines.append(f"inconclusive: {note}")
    for note in verdict.notes:
        lines.append(f"note:         {note}")
    for number, finding in enumerate(verdict.findings):
        if number == 3:
            lines.append(f"\n… and {len(verdict.findings) - 3} more divergent comparison(s): "
                         + "; ".join(f"{f.candidate.label} [{', '.join(f.facets)}]" for f in verdict.findings[3:]))
            break
        lines.append("")
        title = "the transform (A: original, B: instrumented, never suspended)" if finding.schedule is None \
            else "suspend/resume (B: never suspended, C: interrupted)"
        lines.append(f"== {finding.comparison}: {title} — facets: {', '.join(finding.facets)}")
        if finding.schedule is not None:
            c = finding.candidate
            lines.append(f"schedule: {finding.schedule.to_json()}")
            lines.append(f"C suspended {len(c.suspensions)} time(s) at crossings "
                         f"{_short(c.suspensions)}; C crossed {c.crossings} yield point(s)")
            lines.append("replay:   " + replay_command(prep, seed, "at:" + ",".join(map(str, finding.schedule.crossings))
                                                       if finding.schedule.crossings else "none", source,
                                                       verdict.replay_args))
        for divergence in finding.divergences[:12]:
            lines.append(str(divergence))
        if len(finding.divergences) > 12:
            lines.append(f"… {len(finding.divergences) - 12} more divergence(s) in this comparison")
    return "\n".join(lines) + "\n"


def _short(items: list[int]) -> str:
    return "[" + ", ".join(map(str, items[:10])) + (", …]" if len(items) > 10 else "]")


def versions_table(outcomes: "dict[str, Outcome]", status: str, headline: str = "Binaryen releases") -> str:
    """One module re-judged on every installed Binaryen release (see :mod:`resumefuzz.versions`):
    a line naming the releases whose outcome is STATUS (first..last), then one row per release."""
    from .versions import affected, span

    hit = affected(outcomes, status)
    lines = [f"{headline}: {status} on {span(hit)} ({len(hit)} of {len(outcomes)}: {', '.join(hit) or 'none'})"]
    others = sorted({o.status for o in outcomes.values()} - {status})
    if others:
        lines.append("  otherwise: " + "; ".join(f"{s} on {', '.join(affected(outcomes, s))}" for s in others))
    for version, outcome in outcomes.items():
        lines.append(f"  {version:>5}  {outcome.status:<13} {outcome.seconds:6.1f}s  {outcome.detail}")
    return "\n".join(lines) + "\n"
