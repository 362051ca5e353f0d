"""The transparency oracle: two observations must agree on every facet, bit for bit.

Facets, in the order they are judged:

    trap       per call: trap or not, and the trap code; where the sequence ended
    result     per call: every result's raw bits
    output     the host output event sequence (raw bits)
    memory     each memory's page count and bytes
    global     every global's raw bits, exported or not
    table      each table's size and entries (function identity)
    crossings  number of yield points crossed (interrupted vs straight run)

and, for WASI programs (``Observation.wasi``), strictly:

    stdout     the bytes written to stdout
    stderr     the bytes written to stderr
    exit       the exit code (proc_exit's, 0 when _start returned, none when the run trapped)
    files      the preopened directory's final tree: names and bytes
    clock      every clock reading: the candidate's never go backwards (per clock, across
               restores) and equal the reference's, reading for reading

Items are paired by key (original index for program items), and the keys in
``exclude`` (state an engine or the harness declared private) are skipped.

A :class:`Leeway` relaxes two facets for the transform oracle under an
optimizing engine (never for suspend/resume): which trap fired (not whether
or where), and function identity up to identical bodies.  What it excused is
recorded in ``Leeway.excused`` for the report's notes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from resumefuzz.observation import Observation
from resumefuzz.state import PAGE_SIZE
from resumefuzz.values import Value

from .report import event_context, hexdump_context

FACETS = ("trap", "result", "output", "memory", "global", "table", "crossings", "stdout", "stderr", "exit", "files",
          "clock")
#: facets the checker judges about a run itself rather than by compare(): a module in yield-point mode flag
#: suspended with its flag never raised (checker.spurious), a run whose restoring process failed (resumefuzz.hop),
#: a prepared module that reads or writes its flag non-atomically (abi.flag_audit)
RUN_FACETS = ("suspensions", "hop", "flag")
#: every facet a verdict can name
ALL_FACETS = FACETS + RUN_FACETS


@dataclass(frozen=True)
class Divergence:
    facet: str
    where: str
    detail: str  # multi-line, human-readable context

    def __str__(self) -> str:
        return f"[{self.facet}] {self.where}\n{self.detail}"


TRAP_KIND, SAME_BODY, FOLDED_NAN = "trap kind", "same body", "folded nan"
#: the canonical NaNs (either sign) and the quiet bit, by float type
_CANONICAL = {"f32": (0x7FC00000, 0xFFC00000), "f64": (0x7FF8000000000000, 0xFFF8000000000000)}
_QUIET = {"f32": (0x7FC00000, 0x7FFFFFFF), "f64": (0x7FF8000000000000, 0x7FFFFFFFFFFFFFFF)}


def folded_nan(a: Value, b: Value) -> bool:
    """A is a canonical NaN and B another arithmetic (quiet) NaN of the same type.

    Under wasmtime's NaN canonicalization every NaN a run *computes* is canonical, so when A (the
    original) computed one and B shows another quiet NaN, B no longer computes it: the transform's
    optimizer folded the arithmetic into a constant.  The spec lets arithmetic on a non-canonical
    NaN give any arithmetic NaN, so this is an allowed change (older Binaryen releases fold with the
    input's payload).  A NaN A *moved* is not canonicalized and is still compared bit for bit."""
    if a.type != b.type or a.type not in _CANONICAL or a.bits not in _CANONICAL[a.type] or b.bits is None:
        return False
    quiet, magnitude = _QUIET[b.type]
    return b.bits & quiet == quiet and b.bits != a.bits and (b.bits & magnitude) != 0


@dataclass
class Leeway:
    """What an optimizing transform may change that a program cannot rely on (A vs B only).

    ``trap_kinds``: a trap must happen in the same call (so the sequence ends
    in the same place, with all state equal), but its code may differ: an
    optimizer may reorder two trapping operations (Binaryen keeps trap vs.
    no trap, and order against side effects), and wasm has one kind of trap.
    ``function``: maps a function index to its class of identical bodies
    (:func:`resumefuzz.identity.function_classes`); table entries and funcref
    values are compared by class, as an optimizer may merge such functions.
    """

    trap_kinds: bool = False
    function: Callable[[int], int] | None = None
    #: in runs with canonicalized NaNs: a canonical NaN on A's side may be another arithmetic NaN
    #: on B's (:func:`folded_nan`)
    folded_nans: bool = False
    #: (kind, where: both values) of each difference excused, in the order found
    excused: list[tuple[str, str]] = field(default_factory=list)

    def same_function(self, a: int | None, b: int | None) -> bool:
        return (a is not None and b is not None and self.function is not None
                and self.function(a) == self.function(b))

    def same_values(self, a: Sequence[Value] | Value, b: Sequence[Value] | Value) -> bool:
        """A == B, funcrefs compared by body (A, B: one value or a sequence of values)."""
        xs = (a,) if isinstance(a, Value) else tuple(a)
        ys = (b,) if isinstance(b, Value) else tuple(b)
        return len(xs) == len(ys) and all(
            x == y or (x.type == y.type == "funcref" and self.same_function(x.bits, y.bits))
            or (self.folded_nans and folded_nan(x, y))
            for x, y in zip(xs, ys))


def _kind(values: Sequence[Value]) -> str:
    """The allowance that excused a difference among VALUES: function identity, else a folded NaN."""
    return SAME_BODY if any(v.type == "funcref" for v in values) else FOLDED_NAN


def compare(ref: Observation, cand: Observation, *, exclude: set[str] = frozenset(),
            names: Mapping[str, str] | None = None, leeway: Leeway | None = None) -> list[Divergence]:
    """All divergences of CAND from REF (empty list: transparent).

    Strict, bit for bit, unless a LEEWAY is given; differences it excuses are
    appended to ``leeway.excused`` instead of being reported.
    """
    names = {} if names is None else names  # (a lazy Mapping: not asked for its length)
    found: list[Divergence] = []
    found += _calls(ref, cand, leeway)
    found += _outputs(ref, cand, leeway)
    found += _memories(ref, cand, exclude)
    found += _globals(ref, cand, exclude, names, leeway)
    found += _tables(ref, cand, exclude, leeway)
    if ref.crossings is not None and cand.crossings is not None and ref.crossings != cand.crossings:
        found.append(Divergence("crossings", "yield points crossed",
                                f"  {ref.label}: {ref.crossings}\n  {cand.label}: {cand.crossings}"))
    found += wasi_divergences(ref, cand)
    return found


def wasi_divergences(ref: Observation, cand: Observation) -> list[Divergence]:
    """The WASI facets (stdout, stderr, exit, files, clock), strict; none unless a side ran WASI."""
    a, b = ref.wasi, cand.wasi
    if a is None and b is None:
        return []
    if a is None or b is None:
        return [Divergence("exit", "WASI outcome", f"  {ref.label}: {'none' if a is None else 'recorded'}\n"
                                                   f"  {cand.label}: {'none' if b is None else 'recorded'}")]
    found = []
    for facet, x, y in (("stdout", a.stdout, b.stdout), ("stderr", a.stderr, b.stderr)):
        if x != y:
            found.append(_bytes_divergence(facet, facet, ref.label, x, cand.label, y))
    if a.exit_code != b.exit_code:
        found.append(Divergence("exit", "exit code", f"  {ref.label}: {_exit(a.exit_code)}\n"
                                                     f"  {cand.label}: {_exit(b.exit_code)}"))
    found += _files(ref.label, dict(a.files), cand.label, dict(b.files))
    found += _clock(ref, cand)
    return found


def _exit(code: int | None) -> str:
    return "none (the run did not end by returning or proc_exit)" if code is None else str(code)


def _bytes_divergence(facet: str, what: str, ref_label: str, a: bytes, cand_label: str, b: bytes) -> Divergence:
    common = min(len(a), len(b))
    first = _first_difference(a[:common], b[:common], common)
    detail = (f"  first difference at byte {first} ({ref_label}: {len(a)} bytes, {cand_label}: {len(b)} bytes)\n"
              + hexdump_context(ref_label, a, first, what=what) + "\n"
              + hexdump_context(cand_label, b, first, what=what))
    return Divergence(facet, f"{what} byte {first}", detail)


def _files(ref_label: str, a: dict[str, bytes], cand_label: str, b: dict[str, bytes]) -> list[Divergence]:
    found = []
    for path in sorted(a.keys() ^ b.keys()):
        side = ref_label if path in a else cand_label
        found.append(Divergence("files", f"file {path}", f"  present only in {side}"))
    for path in sorted(a.keys() & b.keys()):
        if a[path] != b[path]:
            found.append(_bytes_divergence("files", f"file {path}", ref_label, a[path], cand_label, b[path]))
    return found


_CLOCK_NAMES = ("realtime", "monotonic", "process-cputime", "thread-cputime")


def _clock_name(clock: int) -> str:
    return _CLOCK_NAMES[clock] if 0 <= clock < len(_CLOCK_NAMES) else f"clock {clock}"


def _clock(ref: Observation, cand: Observation) -> list[Divergence]:
    found = []
    last: dict[int, tuple[int, int]] = {}
    for i, (clock, value) in enumerate(cand.clocks):
        previous = last.get(clock)
        if previous is not None and value < previous[1]:
            found.append(Divergence("clock", f"{_clock_name(clock)} went backwards at reading {i}",
                                    f"  {cand.label}: reading {previous[0]} gave {previous[1]} ns, reading {i} gave "
                                    f"{value} ns ({previous[1] - value} ns earlier)"))
            break
        last[clock] = (i, value)
    if ref.clocks != cand.clocks:
        first = next((i for i, (x, y) in enumerate(zip(ref.clocks, cand.clocks)) if x != y),
                     min(len(ref.clocks), len(cand.clocks)))

        def reading(obs: Observation) -> str:
            if first >= len(obs.clocks):
                return f"no reading ({len(obs.clocks)} in all)"
            clock, value = obs.clocks[first]
            return f"{_clock_name(clock)} {value} ns"

        found.append(Divergence("clock", f"clock reading {first}",
                                f"  {ref.label}: {reading(ref)}\n  {cand.label}: {reading(cand)}"))
    return found


def _calls(ref: Observation, cand: Observation, leeway: Leeway | None) -> list[Divergence]:
    found = []
    for position, (a, b) in enumerate(zip(ref.calls, cand.calls)):
        where = f"call {position} ({a.name})"
        if a.trap != b.trap:
            if leeway is not None and leeway.trap_kinds and a.trap is not None and b.trap is not None:
                leeway.excused.append((TRAP_KIND, f"{where}: {ref.label} trapped {a.trap}, {cand.label} {b.trap}"))
                continue
            found.append(Divergence("trap", where, f"  {ref.label}: {_outcome(a.trap)}\n  {cand.label}: {_outcome(b.trap)}"))
        elif a.results != b.results:
            if leeway is not None and leeway.same_values(a.results, b.results):
                leeway.excused.append((_kind(a.results), f"{where} results: {ref.label} {_values(a.results)}, "
                                                  f"{cand.label} {_values(b.results)}"))
                continue
            lines = []
            for i, (x, y) in enumerate(zip(a.results, b.results)):
                mark = "  " if x == y else "≠ "
                lines.append(f"  {mark}result {i}: {ref.label} {x}   {cand.label} {y}")
            found.append(Divergence("result", where, "\n".join(lines)))
    if len(ref.calls) != len(cand.calls):
        found.append(Divergence(
            "trap", "call sequence length",
            f"  {ref.label} made {len(ref.calls)} call(s): {_ending(ref)}\n"
            f"  {cand.label} made {len(cand.calls)} call(s): {_ending(cand)}"))
    return found


def _outcome(trap: str | None) -> str:
    return "returned" if trap is None else f"trapped {trap}"


def _ending(obs: Observation) -> str:
    if not obs.calls:
        return "none"
    last = obs.calls[-1]
    return f"last {last.name} {_outcome(last.trap)}"


def _outputs(ref: Observation, cand: Observation, leeway: Leeway | None = None) -> list[Divergence]:
    a = [e.value for e in ref.outputs]
    b = [e.value for e in cand.outputs]
    if a == b:
        return []
    if leeway is not None and leeway.folded_nans and len(a) == len(b) and leeway.same_values(a, b):
        leeway.excused += [(FOLDED_NAN, f"output event {i}: {ref.label} {x}, {cand.label} {y}")
                           for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return []
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    detail = (f"  first difference at event {first} ({ref.label}: {len(a)} events, {cand.label}: {len(b)} events)\n"
              + event_context(ref.label, a, first) + "\n" + event_context(cand.label, b, first))
    return [Divergence("output", f"event {first}", detail)]


def _memories(ref: Observation, cand: Observation, exclude: set[str]) -> list[Divergence]:
    found = []
    for key in _paired(ref.memories, cand.memories, exclude, found, "memory"):
        a, b = ref.memories[key], cand.memories[key]
        if a.pages != b.pages:
            found.append(Divergence("memory", f"memory {key} size",
                                    f"  {ref.label}: {a.pages} pages\n  {cand.label}: {b.pages} pages"))
        if a.data[: len(b.data)] == b.data[: len(a.data)]:
            continue
        common = min(len(a.data), len(b.data))
        first = _first_difference(a.data, b.data, common)
        differing = _count_differences(a.data[:common], b.data[:common])
        detail = (f"  first difference at offset 0x{first:x} (page {first // PAGE_SIZE}); "
                  f"{differing} differing byte(s) in the common {common // PAGE_SIZE} page(s)\n"
                  + hexdump_context(ref.label, a.data, first) + "\n" + hexdump_context(cand.label, b.data, first))
        found.append(Divergence("memory", f"memory {key} bytes", detail))
    return found


def _first_difference(a: bytes, b: bytes, length: int) -> int:
    """Offset of the first differing byte: whole pages compared first (C speed)."""
    for page in range(0, length, PAGE_SIZE):
        if a[page:page + PAGE_SIZE] != b[page:page + PAGE_SIZE]:
            x, y = a[page:page + PAGE_SIZE], b[page:page + PAGE_SIZE]
            return page + next(i for i in range(len(x)) if x[i] != y[i])
    return length


def _count_differences(a: bytes, b: bytes) -> int:
    if not a:
        return 0
    xor = (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")
    return len(xor) - xor.count(0)


def _values(values: tuple[Value, ...]) -> str:
    return "(" + ", ".join(v.hex() for v in values) + ")"


def _globals(ref: Observation, cand: Observation, exclude: set[str], names: Mapping[str, str],
             leeway: Leeway | None = None) -> list[Divergence]:
    found: list[Divergence] = []
    for key in _paired(ref.globals, cand.globals, exclude, found, "global"):
        a, b = ref.globals[key], cand.globals[key]
        if a != b:
            label = names.get(key, key)
            if leeway is not None and leeway.same_values(a, b):
                leeway.excused.append((_kind((a,)), f"global {label}: {ref.label} {a.hex()}, {cand.label} {b.hex()}"))
                continue
            found.append(Divergence("global", f"global {label} ({a.type})",
                                    f"  {ref.label}: {a}\n  {cand.label}: {b}"))
    return found


def _tables(ref: Observation, cand: Observation, exclude: set[str], leeway: Leeway | None = None) -> list[Divergence]:
    found: list[Divergence] = []
    for key in _paired(ref.tables, cand.tables, exclude, found, "table"):
        a, b = ref.tables[key].entries, cand.tables[key].entries
        if len(a) != len(b):
            found.append(Divergence("table", f"table {key} size", f"  {ref.label}: {len(a)}\n  {cand.label}: {len(b)}"))
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if leeway is not None and diffs:
            merged = [i for i in diffs if leeway.same_function(a[i], b[i])]
            if merged:
                i = merged[0]
                more = f" (and {len(merged) - 1} more)" if len(merged) > 1 else ""
                leeway.excused.append((SAME_BODY, f"table {key} entry {i}{more}: "
                                                  f"{ref.label} {_entry(a[i])}, {cand.label} {_entry(b[i])}"))
                excused = set(merged)
                diffs = [i for i in diffs if i not in excused]
        if diffs:
            i = diffs[0]
            found.append(Divergence(
                "table", f"table {key} entry {i}",
                f"  {len(diffs)} differing entr{'y' if len(diffs) == 1 else 'ies'}\n"
                f"  {ref.label}: {_entry(a[i])}\n  {cand.label}: {_entry(b[i])}"))
    return found


def _entry(entry: int | None) -> str:
    return "null" if entry is None else f"function {entry}"


def _paired(a: dict, b: dict, exclude: set[str], found: list[Divergence], facet: str) -> list[str]:
    """Keys present on both sides; one-sided (non-excluded) keys are divergences themselves."""
    for key in sorted((a.keys() ^ b.keys()) - exclude):
        side = "only in the first run" if key in a else "only in the second run"
        found.append(Divergence(facet, f"{facet} {key}", f"  present {side}"))
    return sorted((a.keys() & b.keys()) - exclude)
