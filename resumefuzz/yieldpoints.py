"""Yield points: where a run may be suspended.

A yield point is ``call $__rfz_yield``, a harness function with no params and
no results, so it is legal anywhere, even with values on the operand stack.
``$__rfz_yield`` counts crossings in the harness global ``rfz.crossings`` and
calls the suspending import ``rfz.suspend`` only when the count reaches the
target the host set in ``rfz.target``, so runs that do not suspend pay no
host round trip per crossing (see :mod:`resumefuzz.abi`).

Spec: a comma-separated subset of

    entry   function entries
    loop    loop headers (every iteration crosses one)
    call    after every call / call_indirect / call_ref
    all     every instruction boundary (implies the three above)
    flag    loop heads and after calls, each polling a flag byte a control
            thread may set (the deployment design: see below; implies loop, call)

Crossings are numbered from 1 in execution order.

Mode ``flag`` (see Flag in :mod:`resumefuzz.abi`): the prepared module gets a
shared flag memory of its own (``__rfz.flag``, never the program's memory).
Each yield point counts the crossing, sets the flag itself when the count
reaches ``rfz.target`` (so a ``--schedule at:...`` replay takes the same path),
then loads the flag atomically and calls ``rfz.suspend`` while it is set; when
that call returns on the rewind it clears the flag atomically.  ``check
--signal thread`` sets it from another thread (:mod:`resumefuzz.control`).

Reference-typed leaf functions get none: a function that handles a reference
value (a ``funcref``/``externref`` parameter, result or local, ``ref.*``,
``table.get/set/grow/fill``, a typed ``select``/block, or a global or call of
a reference type) and makes no call (``call``, ``call_indirect``,
``call_ref``, ``return_call*``) never has a yield point injected, at any
density.  Such a function can only reach the suspending import through a
yield point of its own, so without one Asyncify leaves it uninstrumented; with
one, Asyncify would have to save its reference values across an unwind, which
it refuses ("Asyncify does not yet support non-number types").  This matches
Asyncify's own limitation: a leaf that mutates tables (``table.set`` of a
``ref.func``, ``table.grow``, ``table.fill``) is judged as straight-line code
between the yield points of its callers.  A function that does call keeps its
yield points: whether its references are live across them is Asyncify's call
(``--yield-points loop,call`` often passes where ``all`` does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import stackheight

from .abi import (CROSSINGS_KEY, DEPTH_KEY, FLAG_KEY, FLAG_MEMORY, FLAG_OFFSET, HARNESS_MODULE, NEVER, REDROP, SITE_KEY,
                  SUSPEND, SYMBOL_PREFIX, TARGET_KEY, is_call_export, key_export, symbol)
from .errors import BadInput
from .instrumentation import assemble, load_text
from .moduletext import Func, ModuleText, body_start
from .values import REF_TYPES

MODES = ("entry", "loop", "call", "all", "flag")
#: the mode whose yield points poll the flag memory
FLAG = "flag"
#: a yield site's kind (Injected.kinds): where in the code it sits
ENTRY, LOOP, CALL, INSTRUCTION = "entry", "loop head", "after call", "instruction"
DEFAULT = "all"
#: the default for a WASI program (a compiled one, as users suspend): with ``all``, wasi-libc's
#: printf alone makes a prepared module of 1-2 MB that wasmtime cannot compile within the compile
#: budget; loop heads keep it ~250 KB and still suspend hundreds of times in a typical program
WASI_DEFAULT = "loop"


def default_for(wasm: bytes) -> str:
    """The yield-point spec ``check`` uses when none is given: WASI_DEFAULT for a module importing
    WASI (:data:`resumefuzz.abi.WASI_MODULE`), DEFAULT otherwise."""
    from . import wasmtools
    from .abi import WASI_MODULE

    marker = f'(import "{WASI_MODULE}" '
    return WASI_DEFAULT if WASI_MODULE.encode() in wasm and marker in wasmtools.print_text(wasm) else DEFAULT

_YIELD = symbol("yield")
_SITE = symbol("site")
_SUSPEND = symbol("suspend")
_CROSSINGS = symbol("crossings")
_TARGET = symbol("target")
#: the flag memory of mode ``flag`` (module text name; exported as abi.FLAG_MEMORY)
FLAG_SYMBOL = symbol("flag")
_CALLS = ("call ", "call_indirect", "call_ref")
#: any instruction that makes a call (a function containing one is not a leaf)
_ANY_CALL = re.compile(r"^(?:return_)?call(?:_indirect|_ref)?\b")
#: instructions that produce or consume a reference value
_REF_OPS = re.compile(r"^(?:ref\.|table\.(?:get|set|grow|fill)\b|br_on_|call_ref\b|return_call_ref\b)")
#: a reference type named in a line (a typed select or block, a local declaration)
_REF_TYPE = re.compile(r"(?<![\w$#.])(?:%s)(?![\w.])|\(ref " % "|".join(REF_TYPES))
_NAMES = re.compile(r"\$[^\s()]+")


@dataclass(frozen=True)
class YieldPoints:
    modes: frozenset[str]

    @classmethod
    def parse(cls, spec: str) -> "YieldPoints":
        parts = {p.strip() for p in spec.split(",") if p.strip()}
        unknown = parts - set(MODES)
        if not parts or unknown:
            raise BadInput(f"--yield-points: unknown mode {sorted(unknown or {spec})[0]!r} (choose from {', '.join(MODES)})")
        return cls(frozenset(parts))

    def __str__(self) -> str:
        return ",".join(m for m in MODES if m in self.modes)

    @property
    def flag(self) -> bool:
        """Do the yield points poll the flag memory (mode ``flag``)?"""
        return FLAG in self.modes

    def positions(self, lines: list[str], glued: frozenset[int] = frozenset()) -> list[int]:
        """Line indices of a function field before which a yield point is inserted.

        GLUED lines continue a harness probe sequence: no yield goes before them.
        """
        return sorted(self.kinds(lines, glued))

    def kinds(self, lines: list[str], glued: frozenset[int] = frozenset()) -> dict[int, str]:
        """Line index before which a yield point is inserted -> the site's kind (ENTRY, LOOP, CALL, INSTRUCTION)."""
        start, end = body_start(lines), len(lines) - 1
        every = "all" in self.modes
        loops = "loop" in self.modes or self.flag
        calls = "call" in self.modes or self.flag
        points: dict[int, str] = {}
        if every or "entry" in self.modes:
            points[start] = ENTRY
        for i in range(start, end):
            text = lines[i].lstrip()
            loop = text.startswith("loop")
            call = text.startswith(_CALLS) and not text.startswith(f"call {SYMBOL_PREFIX}")
            if every or (loops and loop) or (calls and call):
                points.setdefault(i + 1, LOOP if loop else CALL if call else INSTRUCTION)
        return {at: kind for at, kind in points.items() if at not in glued}


@dataclass(frozen=True)
class Injected:
    wasm: bytes
    #: static operand-stack height at each yield site (site id = index), None if unknown
    sites: tuple[int | None, ...]
    #: each yield site's kind (ENTRY, LOOP, CALL, INSTRUCTION), by site id
    kinds: tuple[str, ...] = ()


def inject(wasm: bytes, points: YieldPoints) -> Injected:
    """Insert yield points into every program function (harness functions excluded).

    Each yield point records its site id in the harness global SITE_KEY
    first, so a suspension can be traced back to its site (and the site's
    static stack height); the pair pushes and pops one value, net zero.
    """
    module = load_text(wasm)
    harness = _harness_functions(module)
    depth = next((e.target for e in module.exports if e.field == key_export(DEPTH_KEY)), None)
    sites: list[int | None] = []
    kinds: list[str] = []
    ref_names = _reference_names(module)
    for fn in module.funcs:
        if fn.field is None or fn.name in harness or reference_leaf(fn, ref_names):
            continue
        lines = fn.field.lines
        start = body_start(lines)
        height = stackheight.heights(module, lines, start, len(lines) - 1)
        inserts = []
        for at, kind in sorted(points.kinds(lines, _probe_lines(lines, depth)).items()):
            inserts.append((at, len(sites)))
            sites.append(height[at - start])
            kinds.append(kind)
        for at, site in reversed(inserts):
            indent = _indent_at(lines, at)
            lines[at:at] = [f"{indent}i32.const {site}", f"{indent}global.set {_SITE}", f"{indent}call {_YIELD}"]
    module.append("global", f"  (global {_SITE} (mut i32) i32.const -1)")
    module.append("export", f'  (export "{key_export(SITE_KEY)}" (global {_SITE}))')
    module.insert_imports([SUSPEND.declaration(_SUSPEND)])
    module.append("global", f"  (global {_CROSSINGS} (mut i64) i64.const 0)")
    module.append("global", f"  (global {_TARGET} (mut i64) i64.const {NEVER - (1 << 64)})")
    module.append("export", f'  (export "{key_export(CROSSINGS_KEY)}" (global {_CROSSINGS}))')
    module.append("export", f'  (export "{key_export(TARGET_KEY)}" (global {_TARGET}))')
    if points.flag:
        module.append("memory", f"  (memory {FLAG_SYMBOL} 1 1 shared)")
        module.append("export", f'  (export "{FLAG_MEMORY}" (memory {FLAG_SYMBOL}))')
        module.append("export", f'  (export "{key_export(FLAG_KEY)}" (memory {FLAG_SYMBOL}))')
        body = flag_yield_body(FLAG_SYMBOL)
    else:
        body = [f"global.get {_CROSSINGS}", f"global.get {_TARGET}", "i64.eq", "if", f"  call {_SUSPEND}", "end"]
    module.append("func", yield_function(body))
    return Injected(assemble(module), tuple(sites), tuple(kinds))


def yield_function(body: list[str]) -> str:
    """The field of ``$__rfz_yield``: count the crossing, then BODY."""
    count = [f"global.get {_CROSSINGS}", "i64.const 1", "i64.add", f"global.set {_CROSSINGS}"]
    return "\n".join([f"  (func {_YIELD}", *(f"    {line}" for line in count + body), "  )"])


def flag_yield_body(memory: str, address: str = "i32", *, clear: bool = True) -> list[str]:
    """What a yield point of mode ``flag`` does once it counted the crossing: the flag byte is byte
    FLAG_OFFSET of MEMORY (ADDRESS: its index type).  Not CLEAR: the resume path leaves the flag set
    (planted fault ``flag-not-cleared``)."""
    at = f"{address}.const {FLAG_OFFSET}"
    return [
        f"global.get {_CROSSINGS}", f"global.get {_TARGET}", "i64.eq",
        "if",  # the scheduled crossing raises the flag itself
        f"  {at}", "  i32.const 1", f"  i32.atomic.store8 {memory}",
        "end",
        at, f"i32.atomic.load8_u {memory}",
        "if",
        f"  call {_SUSPEND}",  # returns during the unwind (Asyncify leaves at once) and at the end of the rewind
        *([f"  {at}", "  i32.const 0", f"  i32.atomic.store8 {memory}"] if clear else []),
        "end",
    ]


YIELD_SYMBOL = _YIELD


def _reference_names(module: ModuleText) -> frozenset[str]:
    """Names of the globals, functions and types whose use moves a reference value."""
    names = {g.name for g in module.globals if g.type in REF_TYPES}
    names |= {fn.name for fn in module.funcs if set(fn.sig.params + fn.sig.results) & set(REF_TYPES)}
    names |= {name for name, sig in module.types.items() if set(sig.params + sig.results) & set(REF_TYPES)}
    return frozenset(names)


def reference_leaf(fn: Func, ref_names: frozenset[str]) -> bool:
    """Does FN handle a reference value and make no call?  (It gets no yield point: see the module doc.)"""
    if fn.field is None:
        return False
    body = [line.strip() for line in fn.field.lines[1:]]
    if any(_ANY_CALL.match(line) for line in body):
        return False
    if set(fn.sig.params + fn.sig.results) & set(REF_TYPES):
        return True
    return any(_REF_OPS.match(line) or _REF_TYPE.search(line) or ref_names.intersection(_NAMES.findall(line))
               for line in body)


def _probe_lines(lines: list[str], depth: str | None) -> frozenset[int]:
    """Lines 2-4 of each 4-line depth-probe sequence (global.get/i32.const/op/global.set)."""
    if depth is None:
        return frozenset()
    glued = set()
    for i, line in enumerate(lines):
        if line.strip() == f"global.get {depth}" and i + 3 < len(lines) and lines[i + 3].strip() == f"global.set {depth}":
            glued.update((i + 1, i + 2, i + 3))
    return frozenset(glued)


def _harness_functions(module: ModuleText) -> set[str]:
    """Functions the harness added in `observe`: call wrappers, redrop, float-output shims."""
    names = {target for field, target in module.export_map("func").items() if field == REDROP or is_call_export(field)}
    harness_imports = {f"call {fn.name}" for fn in module.funcs if fn.imported and fn.imported[0] == HARNESS_MODULE}
    for fn in module.funcs:
        if fn.field is not None and any(line.strip() in harness_imports for line in fn.field.lines):
            names.add(fn.name)
    return names


def _indent_at(lines: list[str], at: int) -> str:
    """Indentation of the instruction a yield inserted at AT sits beside."""
    neighbour = lines[at] if at < len(lines) - 1 else lines[at - 1]
    text = neighbour.lstrip()
    indent = neighbour[: len(neighbour) - len(text)]
    return indent if len(indent) >= 4 else "    "
