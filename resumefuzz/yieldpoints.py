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

Crossings are numbered from 1 in execution order.

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

from .abi import (CROSSINGS_KEY, DEPTH_KEY, HARNESS_MODULE, NEVER, REDROP, SITE_KEY, SUSPEND, SYMBOL_PREFIX,
                  TARGET_KEY, is_call_export, key_export, symbol)
from .errors import BadInput
from .instrumentation import assemble, load_text
from .moduletext import Func, ModuleText, body_start
from .values import REF_TYPES

MODES = ("entry", "loop", "call", "all")
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

    def positions(self, lines: list[str], glued: frozenset[int] = frozenset()) -> list[int]:
        """Line indices of a function field before which a yield point is inserted.

        GLUED lines continue a harness probe sequence: no yield goes before them.
        """
        start, end = body_start(lines), len(lines) - 1
        every = "all" in self.modes
        points: set[int] = set()
        if every or "entry" in self.modes:
            points.add(start)
        for i in range(start, end):
            text = lines[i].lstrip()
            if (every
                    or ("loop" in self.modes and text.startswith("loop"))
                    or ("call" in self.modes and text.startswith(_CALLS)
                        and not text.startswith(f"call {SYMBOL_PREFIX}"))):
                points.add(i + 1)
        return sorted(points - glued)


@dataclass(frozen=True)
class Injected:
    wasm: bytes
    #: static operand-stack height at each yield site (site id = index), None if unknown
    sites: tuple[int | None, ...]


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
    ref_names = _reference_names(module)
    for fn in module.funcs:
        if fn.field is None or fn.name in harness or reference_leaf(fn, ref_names):
            continue
        lines = fn.field.lines
        start = body_start(lines)
        height = stackheight.heights(module, lines, start, len(lines) - 1)
        inserts = []
        for at in points.positions(lines, _probe_lines(lines, depth)):
            inserts.append((at, len(sites)))
            sites.append(height[at - start])
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
    module.append(
        "func",
        "\n".join(
            [
                f"  (func {_YIELD}",
                f"    global.get {_CROSSINGS}",
                "    i64.const 1",
                "    i64.add",
                f"    global.set {_CROSSINGS}",
                f"    global.get {_CROSSINGS}",
                f"    global.get {_TARGET}",
                "    i64.eq",
                "    if",
                f"      call {_SUSPEND}",
                "    end",
                "  )",
            ]
        ),
    )
    return Injected(assemble(module), tuple(sites))


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
