"""A verdict as one self-contained HTML page: ``report.html`` beside ``report.txt``.

Written by ``check --out DIR`` and into each campaign finding.  The differing facets come first,
then per divergent comparison: each differing memory as a side-by-side hexdump with the differing
bytes marked (windows around the differences, never whole memories), every global of both sides
in hex, the output event sequences aligned at their first difference, the calls when a trap or
result differs, any other facet as the oracle states it, and the replay command.  The text report
follows in full.  Everything from the module or its runs is escaped: module text and outputs are
untrusted.

Both sides' final state is needed: the candidate of each comparison is in the verdict; the
reference (A for ``A vs B``, B for ``B vs C``) is kept on the finding when it joins a verdict
(``Finding.reference``: a :class:`resumefuzz.evidence.Reference`, bounded to what this page shows;
never whole memories).  Only a finding without it (one made by hand, or by an older harness) falls back to the
straight runs given to :func:`page`, e.g. :func:`straight_runs`, which repeats the deterministic
straight runs, lazily: only when a finding needs them.  Without either the page shows the oracle's
own context instead.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from .evidence import (MAX_CALLS, MAX_DIFF_ROWS, MAX_EVENTS, ROW, MemoryWindows, Reference, Window,
                       call_text, divergent_keys, event_text, item_key, natural_order, reference)

if TYPE_CHECKING:  # pragma: no cover
    from .checker import Finding, Verdict
    from .engines import Engine
    from .observation import Observation
    from .wasi import WasiInputs

__all__ = ["page", "straight_runs", "text_page"]

MAX_FINDINGS = 3  # comparisons shown in full (as the text report)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:110em}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
h3{font-size:1em;margin-bottom:.3em}
.bad{color:#b00020} .ok{color:#1b5e20}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
tr.diff td{background:#fde7ea}
pre,.hex{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}
.hex td{border:none;padding:0 .5em;white-space:pre} .hex tr.gap td{color:#888}
mark.d{background:#ffb3b3;color:#000;font-weight:bold}
.facet{display:inline-block;background:#fde7ea;border:1px solid #e57373;border-radius:3px;padding:0 .4em;margin-right:.3em}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def text_page(title: str, text: str) -> str:
    """A report that is only text (a crash, hang or engine defect finding) as a page."""
    return _document(title, f"<h1>{_e(title)}</h1>\n<pre>{_e(text)}</pre>")


class _Rerun(Mapping[str, "Observation"]):
    """The straight runs A and B, run on first lookup (a page whose findings keep their references
    never runs them)."""

    def __init__(self, run: "Callable[[], dict[str, Observation]]") -> None:
        self._run = run
        self._runs: "dict[str, Observation] | None" = None

    def _get(self) -> "dict[str, Observation]":
        if self._runs is None:
            self._runs = self._run()
        return self._runs

    def __getitem__(self, label: str) -> "Observation":
        return self._get()[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def straight_runs(wasm: bytes, engine: "Engine", *, seed: int, yield_points: str, wasmtime_opt: str,
                  wasi: "WasiInputs | None") -> "Mapping[str, Observation]":
    """The straight runs A and B of WASM by label, judged as a verdict was (deterministic: the same as
    its), for findings that keep no reference: run on first lookup (their errors are raised there;
    :func:`page` shows them as a note)."""

    def run() -> "dict[str, Observation]":
        from .checker import Judge
        from .preparation import prepare
        from .yieldpoints import YieldPoints

        prep = prepare(wasm, engine, YieldPoints.parse(yield_points), wasmtime_opt=wasmtime_opt)
        judge = Judge(prep, seed, wasi)
        return {"A": judge.a, "B": judge.b}

    return _Rerun(run)


def page(verdict: "Verdict", references: "Mapping[str, Observation] | None" = None, *, replay: str = "",
         note: str = "", text: str | None = None) -> str:
    """VERDICT as an HTML page.  REFERENCES: the straight runs by label ("A", "B"), for findings that keep
    no reference of their own (looked up only then: :func:`straight_runs` runs them then); REPLAY: an
    extra replay line (a finding's ``./replay``); NOTE: a line shown under the headline; TEXT: the text
    report shown at the end (default: the verdict's)."""
    references = references if references is not None else {}
    bad = verdict.status != "equal"
    parts = [f'<h1 class="{"bad" if bad else "ok"}">{_e(verdict.headline)}</h1>']
    if note:
        parts.append(f"<p>{_e(note)}</p>")
    if verdict.findings:
        parts.append("<p>Differing facets: " + "".join(f'<span class="facet">{_e(f)}</span>'
                                                     for f in _facet_order(verdict)) + "</p>")
    parts.append(_replay(verdict, replay))
    parts.append(f"<p>{verdict.schedules} interrupted run(s), {verdict.suspensions} suspension(s); B crossed "
                 f"{verdict.crossings} yield point(s).</p>")
    for line in verdict.inconclusive:
        parts.append(f"<p>inconclusive: {_e(line)}</p>")
    for line in verdict.notes:
        parts.append(f"<p>note: {_e(line)}</p>")
    for number, finding in enumerate(verdict.findings[:MAX_FINDINGS]):
        parts.append(_finding(number, finding, references))
    if len(verdict.findings) > MAX_FINDINGS:
        parts.append(f"<p>… and {len(verdict.findings) - MAX_FINDINGS} more divergent comparison(s): see the "
                     "text report below.</p>")
    parts.append(f"<h2>Text report</h2>\n<pre>{_e(verdict.report if text is None else text)}</pre>")
    return _document(f"resumefuzz: {verdict.headline}", "\n".join(parts))


def _facet_order(verdict: "Verdict") -> list[str]:
    """Facets in the order they first diverge (the first comparison's first divergence first)."""
    seen: list[str] = []
    for finding in verdict.findings:
        for divergence in finding.divergences:
            if divergence.facet not in seen:
                seen.append(divergence.facet)
    return seen


def _replay(verdict: "Verdict", extra: str) -> str:
    lines = [line.split(":", 1)[1].strip() for line in verdict.report.splitlines() if line.startswith("replay:")]
    if extra:
        lines.insert(0, extra)
    if not lines:
        return ""
    return "<h2>Replay</h2>\n" + "".join(f"<pre>{_e(line)}</pre>" for line in dict.fromkeys(lines))


def _reference(finding: "Finding", references: "Mapping[str, Observation]") -> tuple[Reference | None, str]:
    """FINDING's reference: its own, else built from REFERENCES (the fallback: straight runs repeated);
    (None, why) when neither is there."""
    kept = getattr(finding, "reference", None)
    if kept is not None:
        return kept, ""
    label = finding.reference_label
    try:
        ref = references.get(label) if label else None
    except Exception as exc:  # noqa: BLE001 - the page is an addition: the verdict and report.txt stand
        return None, f"the straight runs could not be repeated for this page ({exc})"
    return (reference(ref, finding), "") if ref is not None else (None, "")


def _finding(number: int, finding: "Finding", references: "Mapping[str, Observation]") -> str:
    cand = finding.candidate
    ref, why = _reference(finding, references)
    title = ("the transform (A: original, B: instrumented, never suspended)" if finding.schedule is None
             else f"suspend/resume (B: never suspended, {cand.label}: interrupted)")
    parts = [f"<h2>{number + 1}. {_e(finding.comparison)}: {_e(title)}</h2>"]
    if finding.schedule is not None:
        parts.append(f"<p>{_e(cand.label)} suspended {len(cand.suspensions)} time(s) at crossings "
                     f"{_e(', '.join(map(str, cand.suspensions[:20])))}{' …' if len(cand.suspensions) > 20 else ''}"
                     f"</p>")
    parts.append("<table><tr><th>facet</th><th>where</th></tr>" + "".join(
        f"<tr class=diff><td>{_e(d.facet)}</td><td>{_e(d.where)}</td></tr>" for d in finding.divergences[:50])
        + "</table>")
    if ref is None:
        parts.append(f"<p>(the reference run is not available here{': ' + _e(why) if why else ''}: each "
                     "divergence as the oracle states it)</p>")
        parts += [f"<h3>{_e(d.facet)}: {_e(d.where)}</h3><pre>{_e(d.detail)}</pre>" for d in finding.divergences[:12]]
        return "\n".join(parts)
    if ref.calls is not None:
        parts.append(_aligned(ref.calls, cand.calls[:MAX_CALLS], call_text, ref.label, cand.label, "call"))
    if ref.outputs is not None:
        parts.append(_aligned(ref.outputs, cand.outputs, event_text, ref.label, cand.label, "output event"))
    for key, memory in ref.memories.items():
        parts.append(_memory(key, memory, ref.label, cand))
    if "global" in {d.facet for d in finding.divergences} or ref.globals:
        parts.append(_globals(ref, cand, set(divergent_keys(finding, "global"))))
    shown = {"trap", "result", "output", "memory", "global"}
    parts += [f"<h3>{_e(d.facet)}: {_e(d.where)}</h3><pre>{_e(d.detail)}</pre>"
              for d in finding.divergences[:12] if d.facet not in shown
              or (d.facet == "memory" and item_key(d.where) not in ref.memories)]
    return "\n".join(parts)


# -- memory ---------------------------------------------------------------------------------------------


def _hex_cells(mine: bytes, other: bytes) -> tuple[str, str]:
    hexes, text = [], []
    for i, byte in enumerate(mine):
        differs = i >= len(other) or other[i] != byte
        h = f"{byte:02x}"
        c = _e(chr(byte)) if 32 <= byte < 127 else "."
        hexes.append(f'<mark class="d">{h}</mark>' if differs else h)
        text.append(f'<mark class="d">{c}</mark>' if differs else c)
    hexes += ["  "] * (ROW - len(mine))
    return " ".join(hexes), "".join(text)


def _memory(key: str, ref: MemoryWindows, label: str, cand: "Observation") -> str:
    b = cand.memories[key].data
    rows = ref.rows
    parts = [f"<h3>memory {_e(key)}: {ref.pages} page(s) in {_e(label)}, "
             f"{cand.memories[key].pages} in {_e(cand.label)}; {ref.count} differing byte(s)"
             + (f", the first {len(rows)} differing rows shown" if len(rows) >= MAX_DIFF_ROWS else "") + "</h3>",
             f'<table class="hex"><tr><th>offset</th><th>{_e(label)}</th><th></th>'
             f"<th>{_e(cand.label)}</th><th></th></tr>"]
    previous = 0
    for start, stop, data in ref.windows:
        if start > previous:
            parts.append(f'<tr class="gap"><td>…</td><td colspan=4>{(start - previous) // ROW} equal row(s)</td></tr>')
        for row in range(start, stop, ROW):
            x, y = data[row - start:row - start + ROW], b[row:row + ROW]
            hx, tx = _hex_cells(x, y)
            hy, ty = _hex_cells(y, x)
            mark = ' class="diff"' if x != y else ""
            parts.append(f"<tr{mark}><td>{row:08x}</td><td>{hx}</td><td>|{tx}|</td><td>{hy}</td><td>|{ty}|</td></tr>")
        previous = stop
    parts.append("</table>")
    return "\n".join(parts)


# -- globals, outputs, calls ----------------------------------------------------------------------------


def _globals(ref: Reference, cand: "Observation", divergent: set[str]) -> str:
    keys = ref.globals.keys() | divergent | (set() if ref.more_globals else cand.globals.keys())
    rows = []
    for key in sorted(keys, key=natural_order):
        x, y = ref.globals.get(key), cand.globals.get(key)
        judged = key in divergent
        state = "diverges" if judged else ("differs (not judged: engine-private or excused)" if x != y else "")
        rows.append(f'<tr{" class=diff" if judged else ""}><td>{_e(key)}</td>'
                    f"<td>{_e((x or y).type if (x or y) else '')}</td>"
                    f"<td>{_e(x.hex() if x else 'absent')}</td><td>{_e(y.hex() if y else 'absent')}</td>"
                    f"<td>{_e(state)}</td></tr>")
    if ref.more_globals:
        rows.append(f'<tr class="gap"><td>…</td><td colspan=4>{ref.more_globals} more global(s) of '
                    f"{_e(ref.label)}, none divergent, not kept</td></tr>")
    return (f"<h3>globals ({len(keys) + ref.more_globals})</h3><table><tr><th>key</th><th>type</th>"
            f"<th>{_e(ref.label)}</th><th>{_e(cand.label)}</th><th></th></tr>" + "".join(rows) + "</table>")


def _aligned(a: Window, b: Sequence[object], show: Callable[[object], str], label_a: str, label_b: str,
             what: str) -> str:
    """The reference's window A beside the candidate's sequence B (its items shown by SHOW), aligned by
    index, around their first difference."""
    first, start, total = a.first, a.start, max(a.total, len(b))
    stop = min(total, first + MAX_EVENTS)
    rows = [f'<tr class="gap"><td>…</td><td colspan=2>{start} equal {what}(s) before</td></tr>'] if start else []
    for i in range(start, stop):
        x = a.items[i - start] if i - start < len(a.items) else "(none)"
        y = show(b[i]) if i < len(b) else "(none)"
        rows.append(f'<tr{" class=diff" if x != y else ""}><td>#{i}{" ▶" if i == first else ""}</td>'
                    f"<td>{_e(x)}</td><td>{_e(y)}</td></tr>")
    if stop < total:
        rows.append(f'<tr class="gap"><td>…</td><td colspan=2>{total - stop} more</td></tr>')
    return (f"<h3>{what}s: first difference at #{first} ({_e(label_a)}: {a.total}, {_e(label_b)}: {len(b)})</h3>"
            f'<table class="hex"><tr><th>#</th><th>{_e(label_a)}</th><th>{_e(label_b)}</th></tr>'
            + "".join(rows) + "</table>")
