"""What a finding keeps of its reference run: the evidence its divergence page shows beside the candidate.

The oracle judges whole final states; a page shows only windows of them.  When a finding joins a
verdict (:meth:`resumefuzz.checker.Finding.keep_reference`) its reference run (A for ``A vs B``, B for
``B vs C``) is cut here to a :class:`Reference`: memory windows around the differences, the globals,
the output events and calls around the first difference; never whole memories.  The judge needs this
module, the page (:mod:`resumefuzz.divergence_page`) reads what it kept: data flows one way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from .state import PAGE_SIZE

if TYPE_CHECKING:  # pragma: no cover
    from .checker import Finding
    from .observation import Observation
    from .values import Value

__all__ = ["MAX_CALLS", "MAX_DIFF_ROWS", "MAX_EVENTS", "ROW", "MemoryWindows", "Reference", "Window",
           "call_text", "diff_rows", "divergent_keys", "event_text", "item_key", "natural_order", "reference",
           "row_windows", "window"]

ROW = 16
CONTEXT_ROWS = 2  # rows shown before and after each differing row
MAX_DIFF_ROWS = 48  # differing rows shown per memory (the count of all differing bytes is given)
MAX_EVENTS = 24  # output events shown around the first difference
MAX_GLOBALS = 1000  # globals of the reference kept (every divergent one besides)
MAX_CALLS = 10_000  # calls compared for the first difference


# -- the reference side, bounded --------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryWindows:
    """A reference memory as the page shows it beside the candidate's: its size, the rows where the two
    differ, and its bytes in windows around them."""

    pages: int
    size: int  # bytes
    rows: tuple[int, ...]  # the first MAX_DIFF_ROWS differing rows (offsets)
    count: int  # differing bytes in all
    #: row ranges [start, stop) around the rows (over both sides' lengths), with the reference's bytes there
    windows: tuple[tuple[int, int, bytes], ...]


@dataclass(frozen=True)
class Window:
    """A sequence of the reference (output events, calls, as shown) around its first difference from the
    candidate's: FIRST, the items from START, and how many it has in all."""

    first: int
    start: int
    items: tuple[str, ...]
    total: int


@dataclass(frozen=True)
class Reference:
    """The reference run of a comparison (A for ``A vs B``, B for ``B vs C``), bounded to what the page
    shows beside the candidate: a finding keeps it (``checker.Finding.reference``), so its page needs
    no re-run."""

    label: str
    memories: dict[str, MemoryWindows] = field(default_factory=dict)  # the divergent memories
    globals: "dict[str, Value]" = field(default_factory=dict)
    more_globals: int = 0  # globals not kept (beyond MAX_GLOBALS, none divergent)
    outputs: Window | None = None
    calls: Window | None = None


def reference(ref: "Observation", finding: "Finding") -> Reference:
    """REF, FINDING's reference run, bounded to what FINDING's page shows beside its candidate."""
    cand = finding.candidate
    memories = {}
    for key in divergent_keys(finding, "memory"):
        if key in ref.memories and key in cand.memories:
            a, b = ref.memories[key].data, cand.memories[key].data
            rows, count = diff_rows(a, b)
            windows = tuple((start, stop, a[start:stop]) for start, stop in row_windows(rows, max(len(a), len(b))))
            memories[key] = MemoryWindows(ref.memories[key].pages, len(a), tuple(rows), count, windows)
    divergent = set(divergent_keys(finding, "global"))
    kept = sorted(ref.globals, key=natural_order)[:MAX_GLOBALS]
    globals_ = {k: ref.globals[k] for k in [*kept, *sorted(divergent & ref.globals.keys() - set(kept))]}
    facets = {d.facet for d in finding.divergences}
    outputs = window(ref.outputs, cand.outputs, event_text) if "output" in facets else None
    calls = window(ref.calls[:MAX_CALLS], cand.calls[:MAX_CALLS], call_text) if facets & {"trap", "result"} else None
    return Reference(ref.label, memories, globals_, len(ref.globals) - len(globals_), outputs, calls)


def window(a: Sequence[object], b: Sequence[object], show: Callable[[object], str]) -> Window:
    """A's window around its first difference from B (items compared as values, shown by SHOW)."""
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start, stop = max(0, first - MAX_EVENTS // 3), min(max(len(a), len(b)), first + MAX_EVENTS)
    return Window(first, start, tuple(show(x) for x in a[start:stop]), len(a))


def event_text(event: object) -> str:
    return str(getattr(event, "value"))


def call_text(call: object) -> str:
    trap = getattr(call, "trap")
    results = ", ".join(v.hex() for v in getattr(call, "results"))
    return f"{getattr(call, 'name')}: " + (f"trapped {trap}" if trap else f"returned ({results})")


def item_key(where: str) -> str:
    """The item key in an oracle's ``where`` (``memory m0 bytes``, ``global g3 $x (i32)``)."""
    words = where.split()
    return words[1] if len(words) > 1 else ""


def divergent_keys(finding: "Finding", facet: str) -> list[str]:
    return list(dict.fromkeys(item_key(d.where) for d in finding.divergences if d.facet == facet))


# -- memory ---------------------------------------------------------------------------------------------


def diff_rows(a: bytes, b: bytes, limit: int = MAX_DIFF_ROWS) -> tuple[list[int], int]:
    """(The first LIMIT differing ROW-byte rows of A and B by offset, the number of differing bytes).

    Bytes present on one side only count as differing.  Whole pages are compared first (C speed):
    memories of gigabytes with few differences cost little."""
    common = min(len(a), len(b))
    rows: list[int] = []
    count = abs(len(a) - len(b))
    for page in range(0, common, PAGE_SIZE):
        x, y = a[page:page + PAGE_SIZE], b[page:page + PAGE_SIZE]
        if x == y:
            continue
        xor = (int.from_bytes(x, "little") ^ int.from_bytes(y, "little")).to_bytes(len(x), "little")
        count += len(xor) - xor.count(0)
        if len(rows) < limit:
            rows += [page + r for r in range(0, len(x), ROW) if xor[r:r + ROW].strip(b"\0")][:limit - len(rows)]
    if len(a) != len(b) and len(rows) < limit:
        rows.append(common // ROW * ROW)  # where one side ends
    return rows, count


def row_windows(rows: list[int], end: int) -> list[tuple[int, int]]:
    """Row ranges [start, stop) around ROWS with CONTEXT_ROWS of context, merged."""
    windows: list[tuple[int, int]] = []
    for row in rows:
        start, stop = max(0, row - CONTEXT_ROWS * ROW), min(end, row + (CONTEXT_ROWS + 1) * ROW)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], stop))
        else:
            windows.append((start, stop))
    return windows


def natural_order(key: str) -> tuple[object, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key))
