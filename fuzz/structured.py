"""A Hypothesis strategy of WebAssembly programs aimed at what breaks suspend/resume.

``programs()`` draws a small typed AST (``Module`` / ``Func`` / statement and
expression nodes) and renders it to WAT.  Every program validates and
terminates by construction:

* loops run on a dedicated counter local against a small constant bound
  (``br`` back to a loop label exists only in that counter test; ``br_if`` and
  ``br_table`` only target enclosing *blocks*, i.e. jump forward);
* direct calls and ``call_indirect`` only go to functions defined *later* in
  the module (the table's functions are the last ones), so the call graph is
  acyclic except for recursion groups;
* a recursion group (one self-recursive function, or two mutually recursive
  ones) takes an explicit depth parameter ``$d``; the single recursive call
  per frame passes ``$d - 1`` and is guarded by ``1 <= $d <= MAXD`` (MAXD
  <= 200), so whatever argument arrives, the recursion is at most MAXD deep;
  ``$d`` and loop counters are never written by generated code;
* a soft per-function budget (dynamic instruction estimate, loops and
  recursion multiply) keeps runs short, so ``yield_points=all`` runs stay in
  the low thousands of crossings.

What the generator aims at (each reachable with reasonable probability):
values of every type live across calls and loop iterations (locals, plus an
optional epilogue that outputs every local); values left on the operand
stack across calls (``(i64.add (local.get $x) (call $f ...))``) and across
loop iterations (``loop (param ..) (result ..)``, also multi-value); deep and
mutual recursion (the left operand of the recursive call stays on the stack
of every frame); ``br_table``; ``call_indirect`` through a funcref table
(index taken modulo the table size); ``memory.grow`` of a ``(memory 1 8)``
with loads/stores addressed modulo the *current* memory size, so they reach
grown pages; NaN payload constants and float globals; host input/output;
mutable (exported) globals; multi-value calls; and, rarely, a late trap.

Reach (issue 12), in every profile: a global of each of the profile's types
(floats often a signalling NaN) written, then a *crossing* (a call of a
program function or a host import: a yield point at every density), then
output (``Seq("hold")``); passive data segments, either kept (``memory.init``
copies from them, never dropped) or droppable (``data.drop``, a crossing, a
zero-length init; as a rare late trap, a one-byte init that must trap, which
a restore forgetting the drop turns into a copy); ``memory.fill``/``copy``.

Profiles (``PROFILES``): ``core``; ``simd`` (v128); ``tables``: a growable
table (sometimes a second, ``$tab1``), ``call_indirect`` modulo the current
table size, passive element segments (kept or droppable, as for data),
``table.copy``/``table.init``/``elem.drop`` in ordinary code, and every
reference value inside leaf *mutators* (``$m_set_tab`` ...: ``table.set``,
``table.get``, ``table.grow``, ``table.fill`` of ``ref.func``), which make no
call, so they get no yield point (``resumefuzz.yieldpoints``) and Asyncify,
which cannot save references, leaves them uninstrumented; each mutator call
is followed by a crossing and a use (``call_indirect`` through the mutated
slot, or ``table.size``); in most programs the first export starts by growing
a table (``_table_growth``: grow, set or fill the new slot, crossing, size
and a call through the last slot); in one program in three that has passive element
segments (about 1 in 7 tables programs) an ``(elem declare ...)`` precedes
them and an unreferenced passive segment follows them, and Binaryen
mis-indexes them (issue 13: every reference moves silently to the next
segment, an A-vs-B divergence of the correct engine, on purpose);
``memory64``: memory 0 is 64-bit (i64 addresses, ``memory.size``/``grow``,
bulk lengths); ``multi-memory``: 2-3 memories, every memory access, grow,
fill, copy and init names any of them.

Shrinking: every choice is ordered simplest first and lists end on a
"continue?" draw, so Hypothesis shrinks towards few functions, short bodies,
small constants and the plainest node kinds; a minimal failing program is a
handful of lines.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, Callable, Iterator

from hypothesis import strategies as st

from resumefuzz import wasmtools

from .generator import GeneratedCase, Generator, Predicate

__all__ = ["programs", "draw", "shrink", "Program", "Module", "Func", "Global", "Table", "StructuredGenerator"]

SCALARS = ("i32", "i64", "f32", "f64")
HOST_SIGS = {
    "out_i32": "(param i32)", "out_i64": "(param i64)", "out_f32": "(param f32)", "out_f64": "(param f64)",
    "in_i32": "(result i32)", "in_i64": "(result i64)",
}

MAX_DEPTH = 200        # hard upper bound of any recursion group's MAXD
FUNC_BUDGET = 3000     # soft budget per function, in estimated dynamic instructions (calls included)
REC_BUDGET = 1500      # soft budget of a recursive function (all its frames)
TABLE_BUDGET = 300     # soft budget of a table function
MULT_CAP = 256         # product of enclosing loop bounds (and recursion depth) allowed for a loop body
MAX_LOOP_BOUND = 8
EXPR_DEPTH = 3
STMT_DEPTH = 2
LOW_ADDR_MASK = 0xFFE0  # first page: address + offset(<=16) + width(<=16) <= 65536
TABLE_ROOM = 6         # entries a profile table may grow by (its maximum: initial size + TABLE_ROOM)
MAX_BULK = 48          # bytes of one memory.fill / memory.copy
PROFILES = ("core", "simd", "tables", "memory64", "multi-memory")


# ---------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------

class Node:
    """Base of AST nodes; ``children`` walks every nested node."""

    def children(self) -> Iterator["Node"]:
        for f in fields(self):  # type: ignore[arg-type]
            yield from _nodes_in(getattr(self, f.name))

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children():
            yield from child.walk()


def _nodes_in(value: Any) -> Iterator[Node]:
    if isinstance(value, Node):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes_in(item)


# -- expressions (each renders as one folded S-expression, pushing one value) --

class Expr(Node):
    type: str

    def render(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Const(Expr):
    type: str
    text: str

    def render(self) -> str:
        return f"({self.type}.const {self.text})"


@dataclass(frozen=True)
class Get(Expr):
    kind: str  # "local" | "global"
    name: str
    type: str

    def render(self) -> str:
        return f"({self.kind}.get {self.name})"


@dataclass(frozen=True)
class Tee(Expr):
    name: str
    type: str
    value: Expr

    def render(self) -> str:
        return f"(local.tee {self.name} {self.value.render()})"


@dataclass(frozen=True)
class Op(Expr):
    """Any plain instruction with folded operands: unop, binop, compare, select,
    lane ops (``imm`` = lane index), memory.size / memory.grow."""

    op: str
    type: str
    args: tuple[Expr, ...] = ()
    imm: str = ""

    def render(self) -> str:
        parts = [self.op] + ([self.imm] if self.imm else []) + [a.render() for a in self.args]
        return "(" + " ".join(parts) + ")"


@dataclass(frozen=True)
class Call(Expr):
    """A call of a single-result function (or a host ``in_*`` import)."""

    func: str
    type: str
    args: tuple[Expr, ...] = ()

    def render(self) -> str:
        return "(" + " ".join(["call", self.func] + [a.render() for a in self.args]) + ")"


@dataclass(frozen=True)
class CallIndirect(Expr):
    """``size`` 0: the index is taken modulo the table's *current* size (tables that grow)."""

    sig: str
    type: str
    args: tuple[Expr, ...]
    index: Expr
    size: int
    table: str = "$tab"

    def render(self) -> str:
        size = f"(i32.const {self.size})" if self.size else f"(table.size {self.table})"
        index = f"(i32.rem_u {self.index.render()} {size})"
        return "(" + " ".join([f"call_indirect {self.table} (type", self.sig + ")"] + [a.render() for a in self.args]
                              + [index]) + ")"


@dataclass(frozen=True)
class Addr(Expr):
    """An in-bounds address: ``low`` stays in page 0; ``dyn`` is taken modulo the
    current memory size, so after a memory.grow it reaches the grown pages;
    ``end`` is one of the last 8 addresses before the current end of memory."""

    mode: str  # "low" | "dyn" | "end"
    value: Expr  # always i32; widened for a 64-bit memory
    type: str = "i32"  # the memory's address type: "i64" for memory64
    mem: str = ""  # the memory's name ("" = memory 0)

    def render(self, reach: int = 32) -> str:
        """REACH: the access's offset + width; a ``dyn`` address then ends at most at the
        memory's last byte, so the very last byte is reachable too."""
        size = f"(memory.size {self.mem})" if self.mem else "(memory.size)"
        if self.type == "i64":
            if self.mode == "low":
                return f"(i64.extend_i32_u (i32.and {self.value.render()} (i32.const {LOW_ADDR_MASK:#x})))"
            end = f"(i64.shl {size} (i64.const 16))"
            if self.mode == "end":
                return (f"(i64.sub (i64.sub {end} (i64.const {reach})) "
                        f"(i64.extend_i32_u (i32.and {self.value.render()} (i32.const 7))))")
            return f"(i64.rem_u (i64.extend_i32_u {self.value.render()}) (i64.sub {end} (i64.const {reach - 1})))"
        if self.mode == "low":
            return f"(i32.and {self.value.render()} (i32.const {LOW_ADDR_MASK:#x}))"
        if self.mode == "end":  # the last 8 addresses that fit: boundaries are where copies go wrong
            return (f"(i32.sub (i32.sub (i32.shl {size} (i32.const 16)) (i32.const {reach})) "
                    f"(i32.and {self.value.render()} (i32.const 7)))")
        return (f"(i32.rem_u {self.value.render()} "
                f"(i32.sub (i32.shl {size} (i32.const 16)) (i32.const {reach - 1})))")


def _reach(op: str, offset: int) -> int:
    """Bytes from an access's address to its end: offset + the op's width."""
    kind, _, name = op.partition(".")
    digits = "".join(ch for ch in name if ch.isdigit())
    width = int(digits) // 8 if digits else {"i32": 4, "f32": 4, "i64": 8, "f64": 8, "v128": 16}[kind]
    return offset + width


@dataclass(frozen=True)
class Load(Expr):
    op: str
    type: str
    addr: Addr
    offset: int = 0

    def render(self) -> str:
        off = f" {self.addr.mem}" * bool(self.addr.mem) + (f" offset={self.offset}" if self.offset else "")
        return f"({self.op}{off} {self.addr.render(_reach(self.op, self.offset))})"


# -- statements (stack-neutral; render as lines) --

class Stmt(Node):
    def lines(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError


def _indent(lines: list[str], by: str = "  ") -> list[str]:
    return [by + line for line in lines]


def _block_lines(stmts: tuple["Stmt", ...]) -> list[str]:
    return [line for s in stmts for line in s.lines()]


@dataclass(frozen=True)
class Sink(Node):
    """Where a value left on the stack goes: a local, a global, an out_* call or drop."""

    kind: str  # "local" | "global" | "out" | "drop"
    target: str = ""  # local/global name, or the out_* type

    def instr(self) -> str:
        if self.kind == "local":
            return f"local.set {self.target}"
        if self.kind == "global":
            return f"global.set {self.target}"
        if self.kind == "out":
            return f"call $out_{self.target}"
        return "drop"


@dataclass(frozen=True)
class Set(Stmt):
    kind: str  # "local" | "global"
    name: str
    value: Expr

    def lines(self) -> list[str]:
        return [f"({self.kind}.set {self.name} {self.value.render()})"]


@dataclass(frozen=True)
class Store(Stmt):
    op: str
    addr: Addr
    value: Expr
    offset: int = 0

    def lines(self) -> list[str]:
        off = f" {self.addr.mem}" * bool(self.addr.mem) + (f" offset={self.offset}" if self.offset else "")
        return [f"({self.op}{off} {self.addr.render(_reach(self.op, self.offset))} {self.value.render()})"]


@dataclass(frozen=True)
class Sunk(Stmt):
    """One value computed, then sent to a sink."""

    value: Expr
    sink: Sink

    def lines(self) -> list[str]:
        return [self.value.render(), self.sink.instr()]


@dataclass(frozen=True)
class CallStmt(Stmt):
    """A call whose results (0, 1 or several) go to sinks; also host out_* calls."""

    func: str
    args: tuple[Expr, ...]
    sinks: tuple[Sink, ...] = ()

    def lines(self) -> list[str]:
        call = "(" + " ".join(["call", self.func] + [a.render() for a in self.args]) + ")"
        return [call] + [s.instr() for s in reversed(self.sinks)]


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...] = ()

    def lines(self) -> list[str]:
        out = [f"(if {self.cond.render()}", "  (then"]
        out += _indent(_block_lines(self.then), "    ")
        out[-1] += ")"
        if self.else_:
            out.append("  (else")
            out += _indent(_block_lines(self.else_), "    ")
            out[-1] += ")"
        out[-1] += ")"
        return out


def _counter_test(label: str, counter: str, bound: int) -> str:
    return (f"(br_if {label} (i32.lt_u (local.tee {counter} (i32.add (local.get {counter}) (i32.const 1)))"
            f" (i32.const {bound})))")


@dataclass(frozen=True)
class Loop(Stmt):
    label: str
    counter: str
    bound: int
    body: tuple[Stmt, ...]

    def lines(self) -> list[str]:
        out = [f"(local.set {self.counter} (i32.const 0))", f"(loop {self.label}"]
        out += _indent(_block_lines(self.body))
        out.append("  " + _counter_test(self.label, self.counter, self.bound) + ")")
        return out


@dataclass(frozen=True)
class ParamLoop(Stmt):
    """``loop (param T..) (result T..)``: values ride on the operand stack across
    every iteration (and every call in the body); each iteration folds STEP
    into the top value with STEP_OP."""

    label: str
    counter: str
    bound: int
    types: tuple[str, ...]
    inits: tuple[Expr, ...]
    body: tuple[Stmt, ...]
    step_op: str
    step: Expr
    sinks: tuple[Sink, ...]

    def lines(self) -> list[str]:
        sig = " ".join(f"({k} {' '.join(self.types)})" for k in ("param", "result"))
        out = [f"(local.set {self.counter} (i32.const 0))"]
        out += [e.render() for e in self.inits]
        out.append(f"(loop {self.label} {sig}")
        out += _indent(_block_lines(self.body))
        out += ["  " + self.step.render(), "  " + self.step_op]
        out.append("  " + _counter_test(self.label, self.counter, self.bound) + ")")
        out += [s.instr() for s in reversed(self.sinks)]
        return out


@dataclass(frozen=True)
class Block(Stmt):
    label: str
    before: tuple[Stmt, ...]
    cond: Expr
    after: tuple[Stmt, ...]

    def lines(self) -> list[str]:
        out = [f"(block {self.label}"]
        out += _indent(_block_lines(self.before))
        out.append(f"  (br_if {self.label} {self.cond.render()})")
        out += _indent(_block_lines(self.after))
        out[-1] += ")"
        return out


@dataclass(frozen=True)
class BrIf(Stmt):
    label: str
    cond: Expr

    def lines(self) -> list[str]:
        return [f"(br_if {self.label} {self.cond.render()})"]


@dataclass(frozen=True)
class Switch(Stmt):
    """``br_table`` over nested blocks: case i runs after block ``{label}_i`` is left."""

    label: str
    index: Expr
    targets: tuple[int, ...]  # case numbers; len(cases) means the end
    default: int
    cases: tuple[tuple[Stmt, ...], ...]
    fallthrough: bool = False

    def lines(self) -> list[str]:
        n = len(self.cases)

        def name(i: int) -> str:
            return self.label if i >= n else f"{self.label}_{i}"

        out = [f"(block {self.label}"]
        for depth, i in enumerate(reversed(range(n))):
            out.append("  " * (depth + 1) + f"(block {name(i)}")
        table = " ".join(name(t) for t in (*self.targets, self.default))
        out.append("  " * (n + 1) + f"(br_table {table} {self.index.render()}))")
        for i, case in enumerate(self.cases):
            pad = "  " * (n - i)
            body = [pad + line for line in _block_lines(case)]
            if i < n - 1 and not self.fallthrough:
                body.append(pad + f"(br {self.label})")
            if i < n - 1:
                if body:
                    body[-1] += ")"
                else:
                    out[-1] += ")"
            out += body
        out[-1] += ")"
        return out


@dataclass(frozen=True)
class Trap(Stmt):
    kind: str  # "unreachable" | "div0" | "oob"
    value: Expr | None = None
    addr_type: str = "i32"  # of the memory an "oob" load reads

    def lines(self) -> list[str]:
        if self.kind == "unreachable":
            return ["(unreachable)"]
        if self.kind == "div0":
            value = self.value.render() if self.value is not None else "(i32.const 1)"
            return [f"(call $out_i32 (i32.div_u {value} (i32.const 0)))"]
        return [f"(call $out_i32 (i32.load ({self.addr_type}.const -4)))"]


@dataclass(frozen=True)
class Text(Stmt):
    """Fixed instruction lines (the bodies of the table mutators)."""

    text: tuple[str, ...]

    def lines(self) -> list[str]:
        return list(self.text)


@dataclass(frozen=True)
class Seq(Stmt):
    """Statements that belong together, e.g. a mutation, a crossing (a call), then a use of what
    was mutated.  KIND names the pattern: ``hold`` (global written, crossing, read), ``drop``
    (segment dropped, crossing, zero-length init), ``table`` (table mutated, crossing, used),
    ``bulk`` (bulk memory op, crossing)."""

    kind: str
    stmts: tuple[Stmt, ...]

    def lines(self) -> list[str]:
        return _block_lines(self.stmts)


def _length(addr_type: str, n: int) -> str:
    return f"({addr_type}.const {n})"


@dataclass(frozen=True)
class MemInit(Stmt):
    """``memory.init`` of N bytes from passive segment SEGMENT at SRC (in bounds unless the segment
    was dropped: then only N = 0 succeeds)."""

    segment: str
    dst: Addr
    src: int
    n: int

    def lines(self) -> list[str]:
        mem = f" {self.dst.mem}" if self.dst.mem else ""
        dst = self.dst.render(max(self.n, 1))
        return [f"(memory.init{mem} {self.segment} {dst} (i32.const {self.src}) (i32.const {self.n}))"]


@dataclass(frozen=True)
class MemFill(Stmt):
    dst: Addr
    value: Expr
    n: int

    def lines(self) -> list[str]:
        mem = f" {self.dst.mem}" if self.dst.mem else ""
        return [f"(memory.fill{mem} {self.dst.render(self.n)} {self.value.render()} {_length(self.dst.type, self.n)})"]


@dataclass(frozen=True)
class MemCopy(Stmt):
    dst: Addr
    src: Addr
    n: int

    def lines(self) -> list[str]:
        mems = f" {self.dst.mem or '$mem'} {self.src.mem or '$mem'}" if self.dst.mem or self.src.mem else ""
        return [f"(memory.copy{mems} {self.dst.render(self.n)} {self.src.render(self.n)} "
                f"{_length(self.dst.type, self.n)})"]


@dataclass(frozen=True)
class DataDrop(Stmt):
    segment: str

    def lines(self) -> list[str]:
        return [f"(data.drop {self.segment})"]


@dataclass(frozen=True)
class TabIdx(Expr):
    """A table index from which N entries fit in TABLE's current size."""

    table: str
    value: Expr
    n: int
    type: str = "i32"

    def render(self) -> str:
        return f"(i32.rem_u {self.value.render()} (i32.sub (table.size {self.table}) (i32.const {self.n - 1})))"


@dataclass(frozen=True)
class TableCopy(Stmt):
    dst: TabIdx
    src: TabIdx

    def lines(self) -> list[str]:
        return [f"(table.copy {self.dst.table} {self.src.table} {self.dst.render()} {self.src.render()} "
                f"(i32.const {self.dst.n}))"]


@dataclass(frozen=True)
class TableInit(Stmt):
    """``table.init`` of N entries of passive element segment SEGMENT from SRC (N = 0 after a drop)."""

    table: str
    segment: str
    dst: Expr
    src: int
    n: int

    def lines(self) -> list[str]:
        return [f"(table.init {self.table} {self.segment} {self.dst.render()} (i32.const {self.src}) "
                f"(i32.const {self.n}))"]


@dataclass(frozen=True)
class ElemDrop(Stmt):
    segment: str

    def lines(self) -> list[str]:
        return [f"(elem.drop {self.segment})"]


@dataclass(frozen=True)
class DroppedInit(Stmt):
    """A late trap: drop a segment, cross (CROSSING), then init one element/byte from it, which
    must trap; a restore that forgets the drop copies instead."""

    kind: str  # "data" | "elem"
    segment: str
    crossing: Stmt
    target: str = ""  # memory (data; "" = memory 0) or table (elem)
    addr_type: str = "i32"

    def lines(self) -> list[str]:
        if self.kind == "data":
            mem = f" {self.target}" if self.target else ""
            init = f"(memory.init{mem} {self.segment} ({self.addr_type}.const 0) (i32.const 0) (i32.const 1))"
        else:
            init = f"(table.init {self.target} {self.segment} (i32.const 0) (i32.const 0) (i32.const 1))"
        return [f"({self.kind}.drop {self.segment})", *self.crossing.lines(), init]


# -- module --

@dataclass(frozen=True)
class Global(Node):
    name: str
    type: str
    mutable: bool
    init: Const
    export: str | None = None

    def render(self) -> str:
        export = f' (export "{self.export}")' if self.export else ""
        type_ = f"(mut {self.type})" if self.mutable else self.type
        return f"(global {self.name}{export} {type_} {self.init.render()})"


@dataclass(frozen=True)
class Func(Node):
    name: str
    params: tuple[tuple[str, str], ...]
    results: tuple[str, ...]
    locals: tuple[tuple[str, str], ...]
    body: tuple[Stmt, ...]
    result_exprs: tuple[Expr, ...]
    export: str | None = None
    type_use: str | None = None  # "$tsig" for table functions

    def lines(self) -> list[str]:
        head = f"(func {self.name}"
        if self.export:
            head += f' (export "{self.export}")'
        if self.type_use:
            head += f" (type {self.type_use})"
        head += "".join(f" (param {n} {t})" for n, t in self.params)
        if self.results:
            head += f" (result {' '.join(self.results)})"
        out = [head]
        if self.locals:
            out.append("  " + " ".join(f"(local {n} {t})" for n, t in self.locals))
        out += _indent(_block_lines(self.body))
        out += ["  " + e.render() for e in self.result_exprs]
        out[-1] += ")"
        return out


@dataclass(frozen=True)
class Table(Node):
    params: tuple[str, ...]
    results: tuple[str, ...]
    entries: tuple[str, ...]  # function names, in table order
    growable: bool = False  # profile tables: room to grow (TABLE_ROOM entries)
    extra: tuple[tuple[str, ...], ...] = ()  # the entries of tables $tab1, $tab2, ...

    def names(self) -> list[str]:
        return ["$tab"] + [f"$tab{i}" for i in range(1, len(self.extra) + 1)]

    def lines(self) -> list[str]:
        params = f" (param {' '.join(self.params)})" if self.params else ""
        results = f" (result {' '.join(self.results)})" if self.results else ""
        out = [f"(type $tsig (func{params}{results}))"]
        for name, entries in zip(self.names(), (self.entries, *self.extra)):
            n = len(entries)
            out += [f"(table {name} {n} {n + TABLE_ROOM if self.growable else n} funcref)",
                    f"(elem (table {name}) (i32.const 0) func {' '.join(entries)})"]
        return out


@dataclass(frozen=True)
class DataSeg(Node):
    """A passive data segment; DROPPABLE ones are only ever dropped, then read with length 0
    (or, as a late trap, 1); the others are copied from and never dropped."""

    name: str
    data: bytes
    droppable: bool

    def render(self) -> str:
        return f'(data {self.name} "' + "".join("\\%02x" % b for b in self.data) + '")'


@dataclass(frozen=True)
class ElemSeg(Node):
    """A passive element segment (table functions); DROPPABLE as for DataSeg."""

    name: str
    funcs: tuple[str, ...]
    droppable: bool

    def render(self) -> str:
        return f"(elem {self.name} func {' '.join(self.funcs)})"


@dataclass(frozen=True)
class Module(Node):
    globals: tuple[Global, ...]
    funcs: tuple[Func, ...]
    table: Table | None = None
    start: str | None = None
    data: bytes = b""
    mem64: bool = False  # memory 0 is a 64-bit memory
    memories: int = 1  # program memories: $mem, $mem1, $mem2
    passive: tuple[DataSeg, ...] = ()
    elems: tuple[ElemSeg, ...] = ()
    declare: tuple[str, ...] = ()  # an (elem declare func ...) segment, placed before the passive ones

    def uses_memory(self) -> bool:
        if self.passive:
            return True
        for node in self.walk():
            if isinstance(node, (Load, Store, Addr)) or (isinstance(node, Op) and node.op.startswith("memory.")):
                return True
            if isinstance(node, Trap) and node.kind == "oob":
                return True
        return False

    def host_imports(self) -> list[str]:
        used: set[str] = set()
        for node in self.walk():
            if isinstance(node, (Call, CallStmt)) and node.func[1:] in HOST_SIGS:
                used.add(node.func[1:])
            elif isinstance(node, Sink) and node.kind == "out":
                used.add(f"out_{node.target}")
            elif isinstance(node, Trap) and node.kind != "unreachable":
                used.add("out_i32")
        return [name for name in HOST_SIGS if name in used]

    def render(self) -> str:
        out = ["(module"]
        for name in self.host_imports():
            out.append(f'  (import "host" "{name}" (func ${name} {HOST_SIGS[name]}))')
        if self.table is not None:
            out += _indent(self.table.lines())
        if self.declare:
            out.append(f"  (elem declare func {' '.join(self.declare)})")
        out += ["  " + e.render() for e in self.elems]
        if self.declare and self.elems:  # unreferenced, as toolchains leave some: a shifted index stays valid
            out.append(f"  (elem $e_tail func {' '.join(self.declare)})")
        if self.uses_memory():
            out.append(f"  (memory $mem {'i64 ' * self.mem64}1 8)")
            out += [f"  (memory $mem{i} 1 4)" for i in range(1, self.memories)]
            if self.data:
                escaped = "".join("\\%02x" % b for b in self.data)
                out.append(f'  (data ({"i64" if self.mem64 else "i32"}.const 0) "{escaped}")')
            out += ["  " + d.render() for d in self.passive]
        out += ["  " + g.render() for g in self.globals]
        for func in self.funcs:
            out += _indent(func.lines())
        if self.start:
            out.append(f"  (start {self.start})")
        out[-1] += ")"
        return "\n".join(out) + "\n"


@dataclass(frozen=True, repr=False)
class Program:
    """A generated program: ``wat()`` is a complete module, ``wasm()`` its binary.
    ``module`` is the AST; ``repr`` shows the WAT (so do Hypothesis' reports)."""

    module: Module

    def __repr__(self) -> str:
        return "Program(<<<\n" + self.wat() + ">>>)"

    def wat(self) -> str:
        return self.module.render()

    def wasm(self) -> bytes:
        return wasmtools.parse(self.wat())

    def __str__(self) -> str:
        return self.wat()


# ---------------------------------------------------------------------------
# Instruction tables (simplest first: shrinking prefers the first entries)
# ---------------------------------------------------------------------------

def _int_binops(t: str) -> list[tuple[str, tuple[str, ...]]]:
    ops = ["add", "sub", "mul", "xor", "and", "or", "shl", "shr_u", "shr_s", "rotl", "rotr",
           "div_u", "rem_u", "div_s", "rem_s"]
    return [(f"{t}.{o}", (t, t)) for o in ops]


def _float_binops(t: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(f"{t}.{o}", (t, t)) for o in ("add", "sub", "mul", "div", "min", "max", "copysign")]


_COMPARES = ([(f"i32.{o}", ("i32", "i32")) for o in ("eq", "ne", "lt_s", "lt_u", "gt_u", "ge_s")]
             + [(f"i64.{o}", ("i64", "i64")) for o in ("eq", "lt_u", "gt_s", "le_s")]
             + [(f"f32.{o}", ("f32", "f32")) for o in ("eq", "ne", "lt", "ge")]
             + [(f"f64.{o}", ("f64", "f64")) for o in ("eq", "ne", "gt", "le")])

BINOPS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "i32": _int_binops("i32") + _COMPARES,
    "i64": _int_binops("i64"),
    "f32": _float_binops("f32"),
    "f64": _float_binops("f64"),
    "v128": [(op, ("v128", "v128")) for op in (
        "i32x4.add", "i64x2.add", "f32x4.add", "f64x2.mul", "v128.xor", "v128.and", "i32x4.sub",
        "i32x4.mul", "i64x2.mul", "i16x8.add", "i8x16.sub", "f32x4.min", "f64x2.div", "i32x4.eq")],
}

# (op, argument types, number of lanes for an immediate lane index or 0)
UNOPS: dict[str, list[tuple[str, tuple[str, ...], int]]] = {
    "i32": [("i32.eqz", ("i32",), 0), ("i32.wrap_i64", ("i64",), 0), ("i32.reinterpret_f32", ("f32",), 0),
            ("i32.clz", ("i32",), 0), ("i32.popcnt", ("i32",), 0), ("i64.eqz", ("i64",), 0),
            ("i32.extend8_s", ("i32",), 0), ("i32.trunc_sat_f32_s", ("f32",), 0),
            ("i32.trunc_sat_f64_u", ("f64",), 0),
            ("i32x4.extract_lane", ("v128",), 4), ("i8x16.extract_lane_u", ("v128",), 16),
            ("v128.any_true", ("v128",), 0), ("i32x4.bitmask", ("v128",), 0)],
    "i64": [("i64.extend_i32_s", ("i32",), 0), ("i64.extend_i32_u", ("i32",), 0),
            ("i64.reinterpret_f64", ("f64",), 0), ("i64.clz", ("i64",), 0), ("i64.popcnt", ("i64",), 0),
            ("i64.extend16_s", ("i64",), 0), ("i64.trunc_sat_f32_u", ("f32",), 0),
            ("i64.trunc_sat_f64_s", ("f64",), 0), ("i64x2.extract_lane", ("v128",), 2)],
    "f32": [("f32.neg", ("f32",), 0), ("f32.convert_i32_s", ("i32",), 0), ("f32.reinterpret_i32", ("i32",), 0),
            ("f32.demote_f64", ("f64",), 0), ("f32.abs", ("f32",), 0), ("f32.sqrt", ("f32",), 0),
            ("f32.nearest", ("f32",), 0), ("f32.convert_i64_u", ("i64",), 0),
            ("f32x4.extract_lane", ("v128",), 4)],
    "f64": [("f64.neg", ("f64",), 0), ("f64.convert_i32_u", ("i32",), 0), ("f64.reinterpret_i64", ("i64",), 0),
            ("f64.promote_f32", ("f32",), 0), ("f64.abs", ("f64",), 0), ("f64.sqrt", ("f64",), 0),
            ("f64.floor", ("f64",), 0), ("f64.convert_i64_s", ("i64",), 0),
            ("f64x2.extract_lane", ("v128",), 2)],
    "v128": [("i32x4.splat", ("i32",), 0), ("i64x2.splat", ("i64",), 0), ("f32x4.splat", ("f32",), 0),
             ("f64x2.splat", ("f64",), 0), ("v128.not", ("v128",), 0), ("f32x4.neg", ("v128",), 0),
             ("i32x4.replace_lane", ("v128", "i32"), 4), ("f64x2.replace_lane", ("v128", "f64"), 2),
             ("v128.bitselect", ("v128", "v128", "v128"), 0)],
}

LOADS = {
    "i32": [("i32.load", 4), ("i32.load8_u", 1), ("i32.load16_s", 2)],
    "i64": [("i64.load", 8), ("i64.load32_u", 4), ("i64.load8_s", 1)],
    "f32": [("f32.load", 4)],
    "f64": [("f64.load", 8)],
    "v128": [("v128.load", 16)],
}
STORES = {
    "i32": ["i32.store", "i32.store8", "i32.store16"],
    "i64": ["i64.store", "i64.store32", "i64.store8"],
    "f32": ["f32.store"],
    "f64": ["f64.store"],
    "v128": ["v128.store"],
}
STEP_OPS = {
    "i32": ["i32.add", "i32.xor", "i32.mul", "i32.rotl"],
    "i64": ["i64.add", "i64.xor", "i64.mul", "i64.rotl"],
    "f32": ["f32.add", "f32.mul", "f32.min", "f32.copysign"],
    "f64": ["f64.add", "f64.mul", "f64.max", "f64.sub"],
    "v128": ["i32x4.add", "v128.xor", "f64x2.add", "i64x2.mul"],
}
OFFSETS = (0, 1, 4, 8, 16)

I32_SPECIAL = (0, 1, -1, 7, 100, 0x7FFFFFFF, -0x80000000, 0x10000)
I64_SPECIAL = (0, 1, -1, 42, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000, 0x100000000)
F32_SPECIAL = ("0", "1", "-1.5", "nan:0x200001", "-nan:0x7fffff", "nan:0x1", "nan", "-nan", "inf", "-inf",
               "-0", "0x1p-149", "3.25", "nan:0x400001")
F64_SPECIAL = ("0", "1", "-2.5", "nan:0x4000000000001", "-nan:0xfffffffffffff", "nan:0x1", "nan", "-nan",
               "inf", "-inf", "-0", "0x1p-1074", "1e300", "nan:0x8000000000001")


def f32_text(bits: int) -> str:
    """Exact WAT text of the f32 with these bits (NaN payloads included)."""
    sign = "-" if bits >> 31 & 1 else ""
    exp, mant = bits >> 23 & 0xFF, bits & 0x7FFFFF
    if exp == 0xFF:
        return f"{sign}inf" if mant == 0 else f"{sign}nan:{mant:#x}"
    return float.hex(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])


def f64_text(bits: int) -> str:
    sign = "-" if bits >> 63 & 1 else ""
    exp, mant = bits >> 52 & 0x7FF, bits & ((1 << 52) - 1)
    if exp == 0x7FF:
        return f"{sign}inf" if mant == 0 else f"{sign}nan:{mant:#x}"
    return float.hex(struct.unpack("<d", struct.pack("<Q", bits & ((1 << 64) - 1)))[0])


def _signalling_nan(width: int) -> st.SearchStrategy[str]:
    """Any signalling NaN (quiet bit clear, payload non-zero), either sign: the values a host float
    round trip quiets.  Drawn on purpose: uniformly random bits are a signalling NaN about once in
    500 draws, too rarely for a campaign to meet one held in a global across a suspension."""
    quiet = 1 << (22 if width == 32 else 51)
    return st.tuples(st.booleans(), st.integers(1, quiet - 1)).map(
        lambda sm: f"{'-' if sm[0] else ''}nan:{sm[1]:#x}")


_CONST_TEXT: dict[str, st.SearchStrategy[str]] = {
    "i32": st.one_of(st.sampled_from(I32_SPECIAL), st.integers(-(2**31), 2**31 - 1)).map(str),
    "i64": st.one_of(st.sampled_from(I64_SPECIAL), st.integers(-(2**63), 2**63 - 1)).map(str),
    "f32": st.one_of(st.sampled_from(F32_SPECIAL), st.integers(0, 2**32 - 1).map(f32_text), _signalling_nan(32)),
    "f64": st.one_of(st.sampled_from(F64_SPECIAL), st.integers(0, 2**64 - 1).map(f64_text), _signalling_nan(64)),
}
_CONST_TEXT["v128"] = st.one_of(
    st.tuples(*[st.integers(0, 2**32 - 1)] * 4).map(lambda v: "i32x4 " + " ".join(f"{x:#x}" for x in v)),
    st.tuples(*[_CONST_TEXT["f32"]] * 4).map(lambda v: "f32x4 " + " ".join(v)),
    st.tuples(*[_CONST_TEXT["f64"]] * 2).map(lambda v: "f64x2 " + " ".join(v)),
    st.tuples(*[_CONST_TEXT["i64"]] * 2).map(lambda v: "i64x2 " + " ".join(v)),
)


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

@dataclass
class Sig:
    name: str
    params: tuple[str, ...]  # including the leading depth parameter of recursive functions
    results: tuple[str, ...]
    maxd: int = 0  # > 0: recursive (first parameter is the depth $d)
    cost: int = 0  # estimated dynamic instructions of one call


@dataclass
class Gen:
    """Module-wide generation state."""

    draw: Callable[[st.SearchStrategy[Any]], Any]
    profile: str
    globals: list[Global] = field(default_factory=list)
    table: Table | None = None
    table_sig: Sig | None = None
    table_cost: int = 0
    memories: int = 1
    passive: list[DataSeg] = field(default_factory=list)
    elems: list[ElemSeg] = field(default_factory=list)
    declare: tuple[str, ...] = ()
    mutators: dict[str, Func] = field(default_factory=dict)

    @property
    def simd(self) -> bool:
        return self.profile == "simd"

    @property
    def tables(self) -> bool:
        return self.profile == "tables"

    @property
    def addr_type(self) -> str:
        return "i64" if self.profile == "memory64" else "i32"

    @property
    def types(self) -> tuple[str, ...]:
        return SCALARS + (("v128",) if self.simd else ())

    @property
    def simple_kinds(self) -> tuple[str, ...]:
        return STMT_SIMPLE + TABLE_KINDS if self.tables else STMT_SIMPLE

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.simple_kinds + STMT_COMPOUND


@dataclass
class Ctx:
    """Per-function generation state."""

    gen: Gen
    params: list[tuple[str, str]]
    callees: list[Sig]
    table_ok: bool
    depth_param: str | None = None
    mult: int = 1
    budget: int = FUNC_BUDGET
    locals: list[tuple[str, str]] = field(default_factory=list)
    counters: int = 0
    labels: list[str] = field(default_factory=list)  # enclosing block labels (br_if targets)
    next_label: int = 0

    @property
    def draw(self) -> Callable[[st.SearchStrategy[Any]], Any]:
        return self.gen.draw

    def charge(self, n: int = 1) -> None:
        self.budget -= n * self.mult

    def readable(self, t: str) -> list[str]:
        return [n for n, ty in self.params + self.locals if ty == t]

    def writable(self, t: str) -> list[str]:
        return [n for n in self.readable(t) if n != self.depth_param and not n.startswith("$c")]

    def new_local(self, t: str) -> str:
        name = f"$l{sum(1 for n, _ in self.locals if n.startswith('$l'))}"
        self.locals.append((name, t))
        return name

    def new_counter(self) -> str:
        name = f"$c{self.counters}"
        self.counters += 1
        self.locals.append((name, "i32"))
        return name

    def new_label(self, prefix: str) -> str:
        self.next_label += 1
        return f"${prefix}{self.next_label - 1}"

    def affordable(self, cost: int) -> bool:
        return cost * self.mult <= self.budget


_BOOLS = st.booleans()
_INTS: dict[tuple[int, int], st.SearchStrategy[int]] = {}
_DEPTH_ARGS: dict[int, st.SearchStrategy[int]] = {}


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """A cached st.integers(LO, HI)."""
    try:
        return _INTS[lo, hi]
    except KeyError:
        strategy = _INTS[lo, hi] = st.integers(lo, hi)
        return strategy


def _depth_arg(maxd: int) -> st.SearchStrategy[int]:
    """The full depth half of the time (deep recursion), else anything up to it (shrinks to 0)."""
    try:
        return _DEPTH_ARGS[maxd]
    except KeyError:
        strategy = _DEPTH_ARGS[maxd] = st.one_of(_ints(0, maxd), st.just(maxd))
        return strategy


def _index(draw: Any, n: int) -> int:
    return 0 if n <= 1 else draw(_ints(0, n - 1))


def _pick(draw: Any, items: list[Any] | tuple[Any, ...]) -> Any:
    return items[_index(draw, len(items))]


# One reusable strategy (a new strategy per draw costs Hypothesis a validation):
# it calls the function pushed last.  st.tuples() draws nothing itself
# (st.just(None).map may call its function more than once).
_PENDING = threading.local()


def _call_pending(_: object) -> Any:
    return _PENDING.stack.pop()()


_SPAN = st.tuples().map(_call_pending)


def _span(draw: Any, fn: Callable[[], Any]) -> Any:
    """FN() drawn as one Hypothesis span: the shrinker sees (and can delete or
    simplify) the choices of one statement, expression or function as a unit."""
    stack = _PENDING.__dict__.setdefault("stack", [])
    depth = len(stack)
    stack.append(fn)
    try:
        return draw(_SPAN)
    finally:
        del stack[depth:]  # FN was popped already, unless the draw stopped before calling it


def _many(draw: Any, max_size: int, element: Callable[[], Any], cx: Ctx | None = None) -> tuple[Any, ...]:
    """A list ending on a 'continue?' draw (p = 3/4; shrinks to stopping)."""
    out = []
    while len(out) < max_size and (cx is None or cx.budget > 0) and draw(_ints(0, 3)) != 0:
        out.append(_span(draw, element))
    return tuple(out)


def _const(draw: Any, t: str) -> Const:
    return Const(t, draw(_CONST_TEXT[t]))


# Node kinds are drawn by index from FIXED lists (an unavailable kind falls back to
# the first one), so that deleting, say, a global while shrinking does not
# reinterpret every later choice.  Leaves come first: depth 0 draws among them.
EXPR_LEAVES = ("const", "local", "global", "in")
EXPR_KINDS = EXPR_LEAVES + ("unop", "binop", "load", "call", "call", "call_indirect", "call_indirect",
                            "memory", "select", "tee")
STMT_SIMPLE = ("set", "out", "call", "icall", "icall", "global", "store", "grow", "brif", "hold", "hold",
               "seg", "bulk")
TABLE_KINDS = ("tmut", "tmut", "tmut", "tinit", "tinit", "tcopy", "tcopy")  # the tables profile only
STMT_COMPOUND = ("if", "loop", "ploop", "block", "switch")


def _expr(cx: Ctx, t: str, depth: int = EXPR_DEPTH) -> Expr:
    if depth <= 0:
        return _expr_node(cx, t, depth)
    return _span(cx.draw, lambda: _expr_node(cx, t, depth))


def _expr_node(cx: Ctx, t: str, depth: int) -> Expr:
    draw, gen = cx.draw, cx.gen
    cx.charge()
    leaf = depth <= 0 or cx.budget <= 0
    kind = _pick(draw, EXPR_LEAVES if leaf else EXPR_KINDS)
    sub = depth - 1
    if kind == "local" and cx.readable(t):
        return Get("local", _pick(draw, cx.readable(t)), t)
    if kind == "global" and any(g.type == t for g in gen.globals):
        g = _pick(draw, [g for g in gen.globals if g.type == t])
        return Get("global", g.name, t)
    if kind == "in" and t in ("i32", "i64"):
        return Call(f"$in_{t}", t)
    if kind == "unop":
        ops = [u for u in UNOPS[t] if gen.simd or "v128" not in u[1]]
        op, args, lanes = _pick(draw, ops)
        imm = str(draw(_ints(0, lanes - 1))) if lanes else ""
        return Op(op, t, tuple(_expr(cx, a, sub) for a in args), imm)
    if kind == "binop":
        op, (a, b) = _pick(draw, BINOPS[t])
        left, right = _expr(cx, a, sub), _expr(cx, b, sub)
        if a in ("i32", "i64") and op.split(".")[1][:3] in ("div", "rem"):  # never by zero, nor INT_MIN / -1
            right = Op(f"{a}.or", a, (Op(f"{a}.and", a, (right, Const(a, "0xff"))), Const(a, "1")))
        return Op(op, t, (left, right))
    if kind == "load":
        op, _width = _pick(draw, LOADS[t])
        return Load(op, t, _addr(cx, sub), _pick(draw, OFFSETS))
    if kind == "call":
        calls = [s for s in cx.callees if s.results == (t,) and cx.affordable(s.cost + 2)]
        if calls:
            sig = _pick(draw, calls)
            return Call(sig.name, t, _args(cx, sig, sub))
    ts, table = gen.table_sig, gen.table
    if (kind == "call_indirect" and cx.table_ok and ts is not None and table is not None and ts.results == (t,)
            and cx.affordable(gen.table_cost + 4)):
        cx.charge(gen.table_cost + 3)
        return _call_indirect(cx, _args(cx, ts, sub), _expr(cx, "i32", sub))
    if kind == "memory" and t == gen.addr_type:
        return _grow(cx, sub) if draw(_BOOLS) else Op("memory.size", t, (), _mem(cx))
    if kind == "select":
        return Op("select", t, (_expr(cx, t, sub), _expr(cx, t, sub), _expr(cx, "i32", sub)))
    if kind == "tee" and cx.writable(t):
        return Tee(_pick(draw, cx.writable(t)), t, _expr(cx, t, sub))
    return _const(draw, t)


def _call_indirect(cx: Ctx, args: tuple[Expr, ...], index: Expr) -> CallIndirect:
    """A call through the table (tables profile: any table, index modulo its current size)."""
    gen = cx.gen
    assert gen.table is not None and gen.table_sig is not None
    if gen.tables:
        return CallIndirect("$tsig", gen.table_sig.results[0], args, index, 0, _pick(cx.draw, gen.table.names()))
    return CallIndirect("$tsig", gen.table_sig.results[0], args, index, len(gen.table.entries))


def _mem(cx: Ctx) -> str:
    """One of the program memories, by name ("" is memory 0, rendered without a name)."""
    i = _index(cx.draw, cx.gen.memories)
    return f"$mem{i}" if i else ""


def _grow(cx: Ctx, depth: int) -> Op:
    t = cx.gen.addr_type
    mem = _mem(cx)
    if depth > 0 and cx.draw(_BOOLS):
        delta: Expr = Op("i32.and", "i32", (_expr(cx, "i32", depth - 1), Const("i32", "3")))
        if t == "i64":
            delta = Op("i64.extend_i32_u", "i64", (delta,))
    else:
        delta = Const(t, str(cx.draw(_ints(1, 3))))
    return Op("memory.grow", t, (delta,), mem)


def _addr(cx: Ctx, depth: int, mem: str | None = None) -> Addr:
    mem = _mem(cx) if mem is None else mem
    mode = _pick(cx.draw, ("low", "dyn", "end"))
    return Addr(mode, _expr(cx, "i32", max(0, depth - 1)), cx.gen.addr_type, mem)


def _args(cx: Ctx, sig: Sig, depth: int) -> tuple[Expr, ...]:
    cx.charge(sig.cost + 1)
    args: list[Expr] = []
    params = list(sig.params)
    if sig.maxd:
        args.append(Const("i32", str(cx.draw(_depth_arg(sig.maxd)))))
        params = params[1:]
    args += [_expr(cx, p, depth) for p in params]
    return tuple(args)


def _sink(cx: Ctx, t: str) -> Sink:
    draw = cx.draw
    kind = _pick(draw, ("local", "out", "drop", "global"))
    mutable = [g.name for g in cx.gen.globals if g.type == t and g.mutable]
    if kind == "out" and t != "v128":
        return Sink("out", t)
    if kind == "drop":
        return Sink("drop")
    if kind == "global" and mutable:
        return Sink("global", _pick(draw, mutable))
    return Sink("local", _local_target(cx, t))


def _local_target(cx: Ctx, t: str) -> str:
    existing = cx.writable(t)
    if existing and cx.draw(_BOOLS):
        return _pick(cx.draw, existing)
    return cx.new_local(t)


def _out(cx: Ctx, value: Expr) -> list[Stmt]:
    """Output VALUE (v128: both i64 lanes)."""
    if value.type == "v128":
        return [CallStmt("$out_i64", (Op("i64x2.extract_lane", "i64", (value,), str(lane)),)) for lane in (0, 1)]
    return [CallStmt(f"$out_{value.type}", (value,))]


def _stmts(cx: Ctx, depth: int, max_size: int = 4) -> tuple[Stmt, ...]:
    return _many(cx.draw, max_size, lambda: _stmt(cx, depth), cx)


def _stmt(cx: Ctx, depth: int) -> Stmt:
    draw, gen = cx.draw, cx.gen
    cx.charge()
    kind = _pick(draw, gen.kinds if depth > 0 else gen.simple_kinds)
    sub = depth - 1
    if kind == "out":
        return _out(cx, _expr(cx, _pick(draw, SCALARS)))[0]
    if kind == "call":
        calls = [s for s in cx.callees if cx.affordable(s.cost + 2)]
        if calls:
            sig = _pick(draw, calls)
            args = _args(cx, sig, EXPR_DEPTH - 1)
            return CallStmt(sig.name, args, tuple(_sink(cx, r) for r in sig.results))
    if kind == "icall" and cx.table_ok and gen.table is not None and cx.affordable(gen.table_cost + 4):
        return _icall(cx)
    mutable = [g for g in gen.globals if g.mutable]
    if kind == "global" and mutable:
        g = _pick(draw, mutable)
        return Set("global", g.name, _expr(cx, g.type))
    if kind == "store":
        t = _pick(draw, gen.types)
        op = _pick(draw, STORES[t])
        addr = _addr(cx, EXPR_DEPTH - 1)
        return Store(op, addr, _expr(cx, t), _pick(draw, OFFSETS))
    if kind == "grow":
        return _out(cx, _grow(cx, 2))[0]
    if kind == "brif" and cx.labels:
        return BrIf(_pick(draw, cx.labels), _expr(cx, "i32", 2))
    if kind == "hold":
        return _hold(cx)
    if kind == "seg":
        return _segment_use(cx)
    if kind == "bulk":
        return _bulk(cx)
    if kind == "tmut" and gen.table is not None:
        return _table_mutation(cx)
    if kind == "tcopy" and gen.table is not None:
        n = draw(_ints(1, 2))
        dst, src = _pick(draw, gen.table.names()), _pick(draw, gen.table.names())
        return TableCopy(TabIdx(dst, _expr(cx, "i32", 1), n), TabIdx(src, _expr(cx, "i32", 1), n))
    if kind == "tinit" and gen.table is not None:
        return _table_init(cx)
    if kind == "if":
        cond = _expr(cx, "i32")
        then = _stmts(cx, sub, 3)
        else_ = _stmts(cx, sub, 2)
        return If(cond, then, else_)
    if kind in ("loop", "ploop"):
        return _loop(cx, sub, kind == "ploop")
    if kind == "block":
        label = cx.new_label("b")
        cx.labels.append(label)
        before = _stmts(cx, sub, 3)
        cond = _expr(cx, "i32", 2)
        after = _stmts(cx, sub, 2)
        cx.labels.pop()
        return Block(label, before, cond, after)
    if kind == "switch":
        label = cx.new_label("s")
        n = draw(_ints(1, 3))
        index = _expr(cx, "i32", 2)
        targets = tuple(draw(_ints(0, n)) for _ in range(draw(_ints(1, 4))))
        default = draw(_ints(0, n))
        cx.labels.append(label)
        cases = tuple(_stmts(cx, sub, 2) for _ in range(n))
        cx.labels.pop()
        return Switch(label, index, targets, default, cases, draw(_BOOLS))
    # "set", and the fallback of every unavailable kind
    t = _pick(draw, gen.types)
    value = _expr(cx, t)
    return Set("local", _local_target(cx, t), value)


def _icall(cx: Ctx) -> Stmt:
    gen = cx.gen
    assert gen.table is not None and gen.table_sig is not None
    cx.charge(gen.table_cost + 3)
    value = _call_indirect(cx, _args(cx, gen.table_sig, EXPR_DEPTH - 1), _expr(cx, "i32", 2))
    return Sunk(value, _sink(cx, value.type))


def _crossing(cx: Ctx) -> Stmt:
    """A call between a write and the read of what it wrote: a yield point at every density
    (``call``: after it; ``entry``: in a program callee; ``all``: everywhere)."""
    calls = [s for s in cx.callees if cx.affordable(s.cost + 2)]
    if calls and cx.draw(_BOOLS):
        sig = _pick(cx.draw, calls)
        return CallStmt(sig.name, _args(cx, sig, 1), tuple(_sink(cx, r) for r in sig.results))
    cx.charge(3)
    return CallStmt("$out_i32", (Call("$in_i32", "i32"),))


#: global round trips: floats are signalling NaNs half the time (what a float round trip quiets)
_HOLD_CONST: dict[str, st.SearchStrategy[str]] = {
    "i32": _CONST_TEXT["i32"], "i64": _CONST_TEXT["i64"], "v128": _CONST_TEXT["v128"],
    "f32": st.one_of(_signalling_nan(32), _CONST_TEXT["f32"]),
    "f64": st.one_of(_signalling_nan(64), _CONST_TEXT["f64"]),
}


def _hold(cx: Ctx) -> Stmt:
    """A global of any of the profile's types written just before a crossing and output just after
    (a lost, swapped or quieted global changes the output)."""
    draw, gen = cx.draw, cx.gen
    t = _pick(draw, gen.types)
    held = [g for g in gen.globals if g.type == t and g.mutable]
    if held and draw(_BOOLS):
        g = _pick(draw, held)
    else:
        g = Global(f"$g{len(gen.globals)}", t, True, _const(draw, t))
        gen.globals.append(g)
    value = Const(t, draw(_HOLD_CONST[t])) if draw(_ints(0, 3)) else _expr(cx, t, 1)
    return Seq("hold", (Set("global", g.name, value), _crossing(cx), *_out(cx, Get("global", g.name, t))))


def _passive(cx: Ctx, droppable: bool | None = None) -> DataSeg:
    draw, gen = cx.draw, cx.gen
    fits = [d for d in gen.passive if droppable is None or d.droppable == droppable]
    if fits and draw(_BOOLS):
        return _pick(draw, fits)
    seg = DataSeg(f"$p{len(gen.passive)}", draw(st.binary(min_size=1, max_size=16)),
                  draw(_BOOLS) if droppable is None else droppable)
    gen.passive.append(seg)
    return seg


def _segment_use(cx: Ctx) -> Stmt:
    """memory.init from a passive data segment kept whole (copies), or a drop, a crossing and a
    zero-length init (which succeeds on a dropped segment; a longer one would trap)."""
    draw = cx.draw
    seg = _passive(cx)
    if seg.droppable:
        low = Addr("low", Const("i32", "0"), cx.gen.addr_type, _mem(cx))
        return Seq("drop", (DataDrop(seg.name), _crossing(cx), MemInit(seg.name, low, 0, 0)))
    n = draw(_ints(1, len(seg.data)))
    return MemInit(seg.name, _addr(cx, 2), draw(_ints(0, len(seg.data) - n)), n)


def _bulk(cx: Ctx) -> Stmt:
    """memory.fill or memory.copy (between two memories in multi-memory), sometimes then a crossing."""
    draw = cx.draw
    n = draw(_ints(1, MAX_BULK))
    cx.charge(n // 4 + 2)
    if draw(_BOOLS):
        op: Stmt = MemFill(_addr(cx, 2), _expr(cx, "i32", 1), n)
    else:
        op = MemCopy(_addr(cx, 2), _addr(cx, 2), n)
    return Seq("bulk", (op, _crossing(cx))) if draw(_BOOLS) else op


# -- tables: every reference value lives in a leaf "mutator" (no call, no yield point: see
# resumefuzz/yieldpoints.py), called from instrumented code with integer arguments.

def _ref_choice(which: str, funcs: list[str]) -> str:
    """A funcref: FUNCS[WHICH mod len(FUNCS)], as nested typed selects."""
    expr = f"(ref.func {funcs[-1]})"
    for i in reversed(range(len(funcs) - 1)):
        pick = f"(i32.eq (i32.rem_u {which} (i32.const {len(funcs)})) (i32.const {i}))"
        expr = f"(select (result funcref) (ref.func {funcs[i]}) {expr} {pick})"
    return expr


#: mutator kind -> its parameters (all i32) and whether it returns table.grow's result
MUTATORS = {"set": (("$slot", "$which"), False), "move": (("$to", "$from"), False),
            "grow": (("$n", "$which"), True), "fill": (("$at", "$n", "$which"), False)}


def _mutator(gen: Gen, kind: str, table: str) -> str:
    name = f"$m_{kind}_{table[1:]}"
    if name in gen.mutators:
        return name
    assert gen.table is not None
    funcs = list(dict.fromkeys(gen.table.entries))  # in the active segment: declared for ref.func
    size = f"(table.size {table})"
    if kind == "set":
        body = [f"(table.set {table} (i32.rem_u (local.get $slot) {size}) {_ref_choice('(local.get $which)', funcs)})"]
    elif kind == "move":
        body = [f"(table.set {table} (i32.rem_u (local.get $to) {size})",
                f"  (table.get {table} (i32.rem_u (local.get $from) {size})))"]
    elif kind == "grow":
        body = [f"(table.grow {table} {_ref_choice('(local.get $which)', funcs)}",
                "  (i32.and (local.get $n) (i32.const 3)))"]
    else:
        body = [f"(local.set $at (i32.rem_u (local.get $at) {size}))",
                f"(table.fill {table} (local.get $at) {_ref_choice('(local.get $which)', funcs)}",
                f"  (i32.rem_u (local.get $n) (i32.add (i32.sub {size} (local.get $at)) (i32.const 1))))"]
    params, grows = MUTATORS[kind]
    gen.mutators[name] = Func(name, tuple((p, "i32") for p in params), ("i32",) * grows, (), (Text(tuple(body)),), ())
    return name


def _table_mutation(cx: Ctx) -> Stmt:
    """A mutator call, a crossing, then a use of the mutated table: a call_indirect through the
    mutated slot (the last slot after a grow), or its size."""
    draw, gen = cx.draw, cx.gen
    assert gen.table is not None
    table = _pick(draw, gen.table.names())
    kind = _pick(draw, ("set", "move", "fill", "grow"))  # grows also come first in most programs
    name = _mutator(gen, kind, table)
    slot = draw(_ints(0, 7))
    args = {"set": (slot, draw(_ints(0, 2))), "move": (slot, draw(_ints(0, 7))),
            "grow": (draw(_ints(0, 3)), draw(_ints(0, 2))), "fill": (slot, draw(_ints(0, 3)), draw(_ints(0, 2)))}[kind]
    cx.charge(12)
    sinks = (Sink("out", "i32"),) if kind == "grow" else ()
    mutation = CallStmt(name, tuple(Const("i32", str(a)) for a in args), sinks)
    index: Expr = Const("i32", str(slot))
    if kind == "grow":
        index = Op("i32.sub", "i32", (Op("table.size", "i32", (), table), Const("i32", "1")))
    if gen.table_sig is not None and cx.table_ok and draw(_ints(0, 3)) and cx.affordable(gen.table_cost + 4):
        cx.charge(gen.table_cost + 3)
        call = CallIndirect("$tsig", gen.table_sig.results[0], _args(cx, gen.table_sig, 1), index, 0, table)
        use: Stmt = Sunk(call, _sink(cx, call.type))
    else:
        use = CallStmt("$out_i32", (Op("table.size", "i32", (), table),))
    return Seq("table", (mutation, _crossing(cx), use))


def _table_growth(cx: Ctx) -> Stmt:
    """A table grown by 1-3 slots (and, mostly, its new last slot set or filled), a crossing, then the
    grown size output and, when affordable, a call_indirect through the last slot: a restore that
    loses the growth (or the set) changes the output or traps.  The tables profile puts one at the
    start of most programs' first export (see ``_function``), so a suspension follows a growth; in a
    deep recursion (every frame runs it) only a host crossing and the size, and the growths beyond
    the table's maximum fail (-1, output)."""
    draw, gen = cx.draw, cx.gen
    assert gen.table is not None
    table = _pick(draw, gen.table.names())
    last = Op("i32.sub", "i32", (Op("table.size", "i32", (), table), Const("i32", "1")))
    cheap = not cx.affordable(40)  # every frame of a deep recursion: a host crossing, no call_indirect
    if not cheap:
        cx.charge(16)
    stmts: list[Stmt] = [CallStmt(_mutator(gen, "grow", table), (Const("i32", str(draw(_ints(1, 3)))),
                                                                  Const("i32", str(draw(_ints(0, 2))))),
                                  (Sink("out", "i32"),))]
    then = _pick(draw, ("set", "fill", "none"))  # the new last slot set, or filled from there
    if then == "set":
        stmts.append(CallStmt(_mutator(gen, "set", table), (last, Const("i32", str(draw(_ints(0, 2)))))))
    elif then == "fill":
        stmts.append(CallStmt(_mutator(gen, "fill", table), (last, Const("i32", "1"),
                                                              Const("i32", str(draw(_ints(0, 2)))))))
    crossing = CallStmt("$out_i32", (Call("$in_i32", "i32"),)) if cheap else _crossing(cx)
    stmts += [crossing, CallStmt("$out_i32", (Op("table.size", "i32", (), table),))]
    if not cheap and gen.table_sig is not None and cx.table_ok and cx.affordable(gen.table_cost + 4):
        cx.charge(gen.table_cost + 3)
        call = CallIndirect("$tsig", gen.table_sig.results[0], _args(cx, gen.table_sig, 1), last, 0, table)
        stmts.append(Sunk(call, _sink(cx, call.type)))
    return Seq("table", tuple(stmts))


def _elem_seg(cx: Ctx, droppable: bool | None = None) -> ElemSeg:
    draw, gen = cx.draw, cx.gen
    assert gen.table is not None
    fits = [e for e in gen.elems if droppable is None or e.droppable == droppable]
    if fits and draw(_BOOLS):
        return _pick(draw, fits)
    funcs = list(dict.fromkeys(gen.table.entries))
    seg = ElemSeg(f"$e{len(gen.elems)}", tuple(_pick(draw, funcs) for _ in range(draw(_ints(1, 3)))),
                  draw(_BOOLS) if droppable is None else droppable)
    gen.elems.append(seg)
    return seg


def _table_init(cx: Ctx) -> Stmt:
    """table.init from a kept passive element segment, or elem.drop, a crossing, a zero-length init."""
    draw, gen = cx.draw, cx.gen
    assert gen.table is not None
    seg = _elem_seg(cx)
    table = _pick(draw, gen.table.names())
    if seg.droppable:
        return Seq("drop", (ElemDrop(seg.name), _crossing(cx), TableInit(table, seg.name, Const("i32", "0"), 0, 0)))
    n = draw(_ints(1, min(2, len(seg.funcs))))
    return TableInit(table, seg.name, TabIdx(table, _expr(cx, "i32", 1), n), draw(_ints(0, len(seg.funcs) - n)), n)


def _loop(cx: Ctx, depth: int, with_params: bool) -> Stmt:
    draw = cx.draw
    bound = draw(_ints(1, MAX_LOOP_BOUND))
    bound = max(1, min(bound, MULT_CAP // cx.mult))
    counter = cx.new_counter()
    label = cx.new_label("L")
    types: tuple[str, ...] = ()
    inits: tuple[Expr, ...] = ()
    if with_params:
        types = tuple(_pick(draw, cx.gen.types) for _ in range(draw(_ints(1, 2))))
        inits = tuple(_expr(cx, t, 2) for t in types)
    saved = cx.mult
    cx.mult *= bound
    cx.charge(6)
    body = _stmts(cx, depth, 3)
    if not with_params:
        cx.mult = saved
        return Loop(label, counter, bound, body)
    top = types[-1]
    step_op = _pick(draw, STEP_OPS[top])
    calls = [s for s in cx.callees if s.results == (top,) and cx.affordable(s.cost + 2)]
    if calls and draw(_BOOLS):  # the loop's values ride on the stack across this call, every iteration
        sig = _pick(draw, calls)
        step: Expr = Call(sig.name, top, _args(cx, sig, 1))
    else:
        step = _expr(cx, top, 2)
    cx.mult = saved
    sinks = tuple(_sink(cx, t) for t in types)
    return ParamLoop(label, counter, bound, types, inits, body, step_op, step, sinks)


def _types(draw: Any, gen: Gen, max_size: int) -> tuple[str, ...]:
    return tuple(_pick(draw, gen.types) for _ in range(draw(_ints(0, max_size))))


def _function(gen: Gen, sig: Sig, callees: list[Sig], table_ok: bool, *, partner: Sig | None = None,
              may_trap: bool = False, type_use: str | None = None, force_icall: bool = False) -> tuple[Func, int]:
    """Generate SIG's body; return it with its estimated cost (all frames, for recursive functions)."""
    draw = gen.draw
    names = [f"$p{i}" for i in range(len(sig.params))]
    if sig.maxd:
        names[0] = "$d"
    budget = REC_BUDGET if sig.maxd else TABLE_BUDGET if type_use else FUNC_BUDGET
    cx = Ctx(gen, list(zip(names, sig.params)), callees, table_ok, depth_param="$d" if sig.maxd else None,
             budget=budget)
    if sig.maxd:
        cx.mult = sig.maxd  # every frame's work is repeated up to MAXD times
    body: list[Stmt] = []
    if force_icall and gen.tables and gen.table is not None and draw(_ints(0, 7)) != 7:
        body.append(_table_growth(cx))  # most tables programs grow a table before a suspension
    body += _stmts(cx, STMT_DEPTH, 5)
    if sig.maxd:
        body.append(_recursion(cx, sig, partner or sig))
        body += _stmts(cx, STMT_DEPTH - 1, 2)
    if (force_icall and cx.mult == 1 and cx.table_ok and gen.table is not None
            and not any(isinstance(n, CallIndirect) for stmt in body for n in stmt.walk())):
        body.append(_icall(cx))  # the table exists to be called through
    if draw(_BOOLS):  # epilogue: every parameter and local is observed
        for name, t in cx.params + cx.locals:
            if not name.startswith("$c"):
                body += _out(cx, Get("local", name, t))
    if may_trap and draw(_ints(0, 15)) == 15:  # rarely, a late trap
        kind = _pick(draw, ("div0", "unreachable", "oob"))
        value = _expr(cx, "i32", 1) if kind == "div0" else None
        body.append(Trap(kind, value, gen.addr_type))
    elif may_trap and draw(_ints(0, 23)) == 23:  # rarely, a segment dropped, a crossing, an init that traps
        if gen.table is not None and gen.tables and draw(_BOOLS):
            seg = _elem_seg(cx, droppable=True)
            body.append(DroppedInit("elem", seg.name, _crossing(cx), _pick(draw, gen.table.names())))
        else:
            data = _passive(cx, droppable=True)
            body.append(DroppedInit("data", data.name, _crossing(cx), _mem(cx), gen.addr_type))
    results = tuple(_expr(cx, t) for t in sig.results)
    params = tuple(zip(names, sig.params))
    func = Func(sig.name, params, sig.results, tuple(cx.locals), tuple(body), results, None, type_use)
    return func, budget - cx.budget


def _recursion(cx: Ctx, sig: Sig, target: Sig) -> Stmt:
    """The single recursive call of a frame, guarded by 1 <= $d <= MAXD, passing $d - 1."""
    draw = cx.draw
    depth = Get("local", "$d", "i32")
    guard = Op("i32.lt_u", "i32", (Op("i32.sub", "i32", (depth, Const("i32", "1"))), Const("i32", str(sig.maxd))))
    args = (Op("i32.sub", "i32", (depth, Const("i32", "1"))),) + tuple(_expr(cx, p, 2) for p in target.params[1:])
    if len(target.results) == 1:
        t = target.results[0]
        # the left operand stays on the operand stack across the recursive call, in every frame
        op, _ = _pick(draw, [b for b in BINOPS[t] if b[1] == (t, t) and b[0].split(".")[1][:3] not in ("div", "rem")])
        value = Op(op, t, (_expr(cx, t, 2), Call(target.name, t, args)))
        if t != "v128" and draw(_BOOLS):
            return If(guard, (_out(cx, value)[0],))
        return If(guard, (Set("local", _local_target(cx, t), value),))
    return If(guard, (CallStmt(target.name, args, tuple(_sink(cx, r) for r in target.results)),))


def _rename(value: Any, names: dict[str, str]) -> Any:
    """VALUE with every function name in NAMES replaced (AST nodes rebuilt)."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, tuple):
        return tuple(_rename(v, names) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _rename(getattr(value, f.name), names) for f in fields(value)})
    return value


def _global(gen: Gen, i: int) -> Global:
    draw = gen.draw
    t = _pick(draw, gen.types)
    mutable, exported = draw(_BOOLS), draw(_BOOLS)
    return Global(f"$g{i}", t, mutable, _const(draw, t), f"g{i}" if exported else None)


def _table(gen: Gen) -> tuple[list[Func], list[Sig]]:
    """The funcref table: 2-3 functions of one type, last in the module."""
    draw = gen.draw
    if not gen.tables and draw(_ints(0, 2)) == 0:
        return [], []
    params = _types(draw, gen, 2)
    result = (_pick(draw, gen.types),)
    funcs: list[Func] = []
    sigs: list[Sig] = []
    for i in reversed(range(draw(_ints(2, 3)))):
        sig = Sig(f"$t{i}", params, result)
        func, sig.cost = _span(draw, lambda: _function(gen, sig, list(sigs), False, type_use="$tsig"))
        funcs.insert(0, func)
        sigs.insert(0, sig)
    names = [s.name for s in sigs]
    entries = tuple(_pick(draw, names) for _ in range(draw(_ints(2, 4))))
    extra: tuple[tuple[str, ...], ...] = ()
    if gen.tables:
        if draw(_BOOLS):  # a second table (the same functions): table.copy between tables, two to mutate
            extra = (tuple(_pick(draw, names) for _ in range(draw(_ints(2, 4)))),)
        if draw(_ints(0, 2)) == 2:  # Binaryen mis-indexes the passive segments after it (issue 13)
            gen.declare = (entries[0],)
    gen.table = Table(params, result, entries, gen.tables, extra)
    gen.table_sig = Sig("$tsig", params, result)
    gen.table_cost = max(s.cost for s in sigs)
    return funcs, sigs


def _unit(gen: Gen, count: int, max_funcs: int, later: list[Sig]) -> tuple[list[Func], list[Sig], bool]:
    """A plain function, a self-recursive one, or a mutually recursive pair; and
    whether it is the first unit in module order (its first function is exported)."""
    draw = gen.draw
    kind = _pick(draw, ("plain", "self", "plain", "mutual") if count + 2 <= max_funcs else ("plain", "self"))
    first = count + (2 if kind == "mutual" else 1) >= max_funcs or draw(_ints(0, 2)) == 0
    maxd = draw(_ints(1, MAX_DEPTH)) if kind != "plain" else 0
    sigs = [Sig(f"$u{count + k}", ("i32",) * bool(maxd) + _types(draw, gen, 3), _types(draw, gen, 2), maxd)
            for k in range(2 if kind == "mutual" else 1)]
    funcs, cost = [], 0
    for k, sig in enumerate(sigs):
        partner = sigs[1 - k] if len(sigs) == 2 else None
        func, c = _span(draw, lambda: _function(gen, sig, list(later), gen.table is not None, partner=partner,
                                                may_trap=True, force_icall=first and k == 0))
        funcs.append(func)
        cost += c
    for sig in sigs:
        sig.cost = cost
    return funcs, sigs, first


@st.composite
def _programs(draw: Any, max_funcs: int, profile: str) -> Program:
    gen = Gen(draw, profile)
    max_funcs = max(1, max_funcs)
    if profile == "multi-memory":
        gen.memories = draw(_ints(2, 3))

    # globals: mutable ones are updated in loops; float ones may start as NaN payloads
    for i in range(draw(_ints(0, 3))):
        gen.globals.append(_span(draw, lambda: _global(gen, i)))

    # The functions are generated callee first: each may call only the ones
    # generated before it (which come after it in the module), so the call graph
    # is acyclic outside recursion groups; every global, the table, every unit
    # and every function is one span of choices that the shrinker can delete.
    table_funcs, later = _span(draw, lambda: _table(gen))
    units: list[list[Func]] = []
    while True:
        funcs, sigs, first = _span(draw, lambda: _unit(gen, sum(map(len, units)), max_funcs, later))
        units.insert(0, funcs)
        later = sigs + later
        if first:
            break

    ordered = [f for unit in units for f in unit]
    names = {f.name: f"$f{i}" for i, f in enumerate(ordered)}
    exports = draw(_ints(1, min(3, len(ordered))))
    funcs = [replace(_rename(f, names), export=f"f{i}" if i < exports else None) for i, f in enumerate(ordered)]
    start = None
    if draw(_ints(0, 3)) == 3:
        func, _ = _span(draw, lambda: _function(gen, Sig("$start", (), ()), later, gen.table is not None))
        funcs.append(_rename(func, names))
        start = "$start"
    data = draw(st.binary(max_size=8))
    funcs += table_funcs + list(gen.mutators.values())
    return Program(Module(tuple(gen.globals), tuple(funcs), gen.table, start, data, profile == "memory64",
                          gen.memories, tuple(gen.passive), tuple(gen.elems), gen.declare if gen.elems else ()))


def programs(max_funcs: int = 4, simd: bool = False, profile: str | None = None) -> st.SearchStrategy[Program]:
    """Programs whose call plan has 1..MAX_FUNCS functions (a mutually recursive pair
    counts two), plus 2-3 table functions when a table is drawn, table mutators
    (``tables``) and an optional start function; the first 1..3 are exported.

    PROFILE (default ``simd`` if SIMD else ``core``) is one of PROFILES: ``simd`` adds
    v128; ``tables`` always has a growable table (sometimes two), passive element
    segments and table mutation; ``memory64`` makes the memory 64-bit;
    ``multi-memory`` has 2-3 memories."""
    profile = profile or ("simd" if simd else "core")
    if profile not in PROFILES:
        raise ValueError(f"unknown structured profile {profile!r} (profiles: {', '.join(PROFILES)})")
    return _programs(max_funcs, profile)


# ---------------------------------------------------------------------------
# Campaign glue: a deterministic draw per case seed, and Hypothesis shrinking.


class _Interesting(Exception):
    """Raised by the shrinking property when a program is still interesting."""


#: Hypothesis' first examples are deliberately the simplest; a case runs the example
#: generated at this position under its seed (deterministic for a given seed).  Which
#: example that is is Hypothesis' internal generation order: Hypothesis is pinned in
#: pyproject.toml, and tests/unit/test_structured.py pins the programs some seeds draw, so an
#: upgrade that changes the order fails there instead of silently renaming every case.
DRAW_INDEX = 12


_CONSTANTS_LOCK = threading.Lock()
_CONSTANTS_USERS = [0, None]  # [runs inside _seeded_only, the function they replaced]


@contextlib.contextmanager
def _seeded_only() -> Iterator[None]:
    """Make Hypothesis' choices a function of the seed alone while inside.

    Hypothesis (the pinned 6.170.15) sometimes draws a literal harvested from the source of every
    *local* module in ``sys.modules`` (anything outside the stdlib and site-packages,
    which includes this editable project, the ``resumefuzz`` console script and any
    caller's own code).  The pool grows as modules are imported, so the same seed drew
    different programs depending on the entry point (the console script's spawned
    workers import ``resumefuzz.cli``; ``python -m resumefuzz`` ones do not), on what a
    worker had imported for earlier cases (``shrink`` could then re-draw a different
    program than the one judged) and on unrelated source edits.  Inside, that pool is
    empty; the per-thread cache of allowed constants is cleared on the way in and out so
    neither side sees the other's pool.
    """
    try:
        from hypothesis.internal.conjecture import providers  # private: hypothesis is pinned
    except ImportError:  # pragma: no cover - a Hypothesis without the local-constants pool
        yield
        return
    if not hasattr(providers, "_get_local_constants") or not hasattr(providers, "CONSTANTS_CACHE"):
        yield  # pragma: no cover - nothing to neutralize (tests/e2e/test_determinism.py checks the outcome)
        return
    empty = providers.Constants()
    with _CONSTANTS_LOCK:
        if _CONSTANTS_USERS[0] == 0:
            _CONSTANTS_USERS[1] = providers._get_local_constants
            providers._get_local_constants = lambda: empty
        _CONSTANTS_USERS[0] += 1
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers.CONSTANTS_CACHE.cache.clear()
        with _CONSTANTS_LOCK:
            _CONSTANTS_USERS[0] -= 1
            if _CONSTANTS_USERS[0] == 0:
                providers._get_local_constants = _CONSTANTS_USERS[1]
                _CONSTANTS_USERS[1] = None


def _profile(simd: bool, profile: str | None) -> str:
    return profile or ("simd" if simd else "core")


def _run(seed: int, profile: str, test: Callable[[Program], None], shrink: bool) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seed_

    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    calls = [0]

    def numbered(program: Program) -> None:
        calls[0] += 1
        if calls[0] > DRAW_INDEX:  # the drawn example, then (when shrinking) every candidate
            test(program)

    wrapped = seed_(seed)(settings(max_examples=DRAW_INDEX + 1, database=None, deadline=None, phases=phases,
                                   suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                                   derandomize=False, print_blob=False)(given(programs(profile=profile))(numbered)))
    with _seeded_only():
        wrapped()


def draw(seed: int, simd: bool = False, profile: str | None = None) -> Program:
    """The program a campaign case with SEED runs under PROFILE (default ``simd`` if SIMD else
    ``core``): the same seed and profile always draw the same program."""
    drawn: list[Program] = []

    def test(program: Program) -> None:
        if not drawn:
            drawn.append(program)

    _run(seed, _profile(simd, profile), test, shrink=False)
    return drawn[0]


def shrink(seed: int, simd: bool, interesting: Callable[[Program], bool], profile: str | None = None) -> Program | None:
    """Hypothesis-shrink the program drawn for SEED (under PROFILE, as in ``draw``) while INTERESTING
    holds; None if it never held."""
    best: list[Program] = []

    def test(program: Program) -> None:
        if interesting(program):
            best.append(program)  # Hypothesis replays the minimal example last
            raise _Interesting

    from hypothesis.errors import Flaky

    try:
        _run(seed, _profile(simd, profile), test, shrink=True)
    except _Interesting:
        pass
    except (Flaky, _OutOfTime):  # out of budget, or INTERESTING changed its mind: the smallest confirmed
        pass
    return best[-1] if best else None


class _OutOfTime(BaseException):
    """Raised by a shrink predicate whose budget ran out: ends the shrink with the best example so far."""


class StructuredGenerator(Generator):
    """Programs drawn from ``programs()`` by the case seed; shrunk by Hypothesis."""

    name = "structured"
    _CORE = frozenset({"multi-value", "sign-extension", "saturating-float-to-int", "bulk-memory"})
    profiles = {"core": _CORE, "simd": _CORE | {"simd"}, "tables": _CORE | {"reference-types"},
                "memory64": _CORE | {"memory64"}, "multi-memory": _CORE | {"multi-memory"}}

    def generate(self, seed: int, profile: str) -> GeneratedCase:
        import hypothesis

        # the draw depends on Hypothesis' generation order (see DRAW_INDEX): recorded with the case
        return GeneratedCase(self.name, seed, profile, draw(seed, profile=profile).wasm(),
                             record={"hypothesis": hypothesis.__version__})

    def shrink(self, case: GeneratedCase, interesting: Predicate, *, deadline: float,
               attempts: int) -> GeneratedCase | None:
        def still(program: Program) -> bool:
            if time.time() >= deadline:
                raise _OutOfTime  # not an Exception: it ends Hypothesis' run instead of failing a test
            return interesting(program.wasm())

        shrunk = shrink(case.seed, False, still, profile=case.profile)
        return None if shrunk is None else replace(case, wasm=shrunk.wasm(), text=shrunk.wat())
