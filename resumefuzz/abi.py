"""The harness ABI: everything a prepared module and the host agree on.

A *prepared* module is the program under test after the harness's rewrites
(``instrumentation.observe``, ``yieldpoints.inject``), the engine's
transform and ``instrumentation.expose``.  This module states the contract
between such a module and the host that runs it; the rewriters, the runtime,
the runner and the engines all take it from here (an engine author needs
nothing else).

Imports
    A program under test may import only the **host interface**, module
    ``host`` (:data:`HOST_INTERFACE`)::

        out_i32(i32)  out_i64(i64)  out_f32(f32)  out_f64(f64)   record an output event
        in_i32() -> i32   in_i64() -> i64                        the input stream's next value

    Floats never cross as floats: in the prepared module ``host.out_f32`` and
    ``host.out_f64`` are shims passing the float's bits to ``rfz.out_f32(i32)``
    and ``rfz.out_f64(i64)`` (:attr:`HostFunction.prepared`).  Besides, the
    prepared module imports from the harness, module ``rfz``
    (:data:`HARNESS_MODULE`)::

        rfz.suspend()                               SUSPEND: the suspending import; the engine's
                                                    transform unwinds and rewinds at calls of it
        rfz.capped(i32 kind, i32 index, i64 total)  CAPPED: a grow of memory (kind 0) or table
                                                    (kind 1) INDEX would take the program's TOTAL
                                                    pages or slots past a judged cap; the host
                                                    stops the run (inconclusive)

    The host defines exactly these imports and nothing else.

Exports
    Every name the harness adds starts with :data:`RESERVED_PREFIX`
    (``__rfz``); a program export that does is unsupported.  An engine's own
    exports (Asyncify's ``asyncify_*``) may use any other name::

        __rfz.start, __rfz.call.K    the call plan's wrappers (Layout.calls): the start function
                                     and the K-th exported function of the program; floats
                                     travel as integer bits, v128 as two i64, reference
                                     parameters are passed as null
        __rfz.fn.I                   function I of the original module (fn_export): function
                                     references are paired across runs through these
        __rfz.key.KEY                the item whose key is KEY (key_export), see Keys
        __rfz.global.I               every global, memory and table of the final module, by its
        __rfz.memory.I                 index there (item_export)
        __rfz.table.I
        __rfz.save                   SAVE: stores every numeric global's bits (floats as integers)
                                     into the harness memory __rfz.state (STATE_MEMORY) at its
                                     Slot.offset; one call moves them all
        __rfz.load                   LOAD: writes every mutable numeric global back from there
        __rfz.redrop                 REDROP: drops again the data/elem segments the run dropped
                                     (only if the program drops any)
        __rfz.flag                   FLAG_MEMORY: the flag memory (yield-point mode ``flag`` only),
                                     see Flag

Keys
    Globals, memories and tables are paired across runs, and across the
    engine's transform, by key: ``g3``/``m0``/``t1`` (global 3, memory 0,
    table 1 of the original module), ``engine.g5`` (an item the engine added,
    by its index in the final module) or ``rfz.*`` (a harness global)::

        rfz.crossings   i64  yield points crossed so far (CROSSINGS_KEY)
        rfz.target      i64  the crossing whose yield point calls rfz.suspend; NEVER: none (TARGET_KEY)
        rfz.site        i32  the yield site crossed last (SITE_KEY)
        rfz.depth       i32  the program's call depth, a liveness probe (DEPTH_KEY)
        rfz.flag        the flag memory of yield-point mode ``flag`` (FLAG_KEY, see Flag)
        rfz.dropped.data0, rfz.dropped.elem1, ...   1 once the program dropped that segment

Flag
    In yield-point mode ``flag`` (:mod:`resumefuzz.yieldpoints`) the prepared
    module defines one more memory, ``(memory 1 1 shared)``, after the
    program's, and exports it as ``__rfz.flag`` (FLAG_MEMORY).  Byte
    FLAG_OFFSET of it is the *flag*: any thread may set it non-zero (a plain
    byte store into ``wasmtime.SharedMemory.data_ptr()``); every yield point
    reads it with ``i32.atomic.load8_u`` and calls ``rfz.suspend`` while it is
    set; on the resume path (the suspend call returning during the rewind) the
    yield point clears it with ``i32.atomic.store8``.  The crossing named by
    ``rfz.target`` sets the flag itself first, so a schedule drives the same
    path a control thread does.  No program instruction names this memory; it
    is never captured, restored or compared (its Slot, key FLAG_KEY, is
    skipped): the host carries the byte from the suspended instance to the
    fresh one.
    Every access to the flag memory from the module is atomic: it is read
    only with atomic loads and written only with atomic stores (or other
    atomic operations), since another thread writes it while the module runs.
    A plain load is a data race whose result the wasm threads proposal leaves
    open (a compiler may hoist it out of a loop: the flag is never seen), and
    no run on this machine shows that reliably; :func:`flag_audit` decides it
    on the prepared module's text instead, and the checker reports a
    violation as a finding (facet ``flag``).
    Deviation from an *imported* shared memory: imports come first in the
    memory index space, so importing it would renumber every program memory
    (and every unqualified load and store would address it); defining it after
    the program's and exporting it changes no program index.

Layout
    ``instrumentation.expose`` returns the :class:`Layout` of the final
    module: a :class:`Slot` for each global, memory and table (its key, type,
    export and, for numeric globals, its place in STATE_MEMORY) and the call
    plan (:class:`CallSpec`).  The runtime and the engines drive the module
    through it.

Module text
    The rewriters name what they add inside the module text ``$__rfz_*``
    (:func:`symbol`); these names never reach the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .values import CARRIER, Signature

__all__ = [
    "CAPPED", "CROSSINGS_KEY", "CallSpec", "DEPTH_KEY", "FLAG_KEY", "FLAG_MEMORY", "FLAG_OFFSET", "HARNESS_MODULE",
    "HOST_IMPORTS", "HOST_INTERFACE",
    "HOST_MODULE", "HostFunction", "Import", "KIND_MEMORY", "KIND_TABLE", "LOAD", "Layout", "MEMORY", "MEMORY64",
    "NEVER", "REDROP",
    "RESERVED_PREFIX", "SAVE", "SITE_KEY", "SYMBOL_PREFIX", "START_CALL", "START_EXPORT", "STATE_MEMORY", "SUSPEND", "Slot",
    "TARGET_KEY", "WASI_IMPORTS", "WASI_MODULE", "WASI_START", "call_export", "dropped_key", "engine_key", "export_key", "fn_export", "fn_index",
    "is_call_export", "item_export", "key_export", "program_key", "symbol", "FlagAudit", "flag_audit",
]

HOST_MODULE = "host"
HARNESS_MODULE = "rfz"
RESERVED_PREFIX = "__rfz"

# ---------------------------------------------------------------------------
# imports


@dataclass(frozen=True)
class Import:
    """A function the module imports: (module, name) and its type."""

    module: str
    name: str
    signature: Signature

    def declaration(self, symbol: str) -> str:
        """The import as a module field of the (printed) text, the function named SYMBOL."""
        func = " ".join(part for part in ("func", symbol, str(self.signature)) if part)
        return f'  (import "{self.module}" "{self.name}" ({func}))'


@dataclass(frozen=True)
class HostFunction:
    """One function of the host interface."""

    name: str  # field in module "host"
    direction: str  # "out": records an output event of TYPE; "in": returns the input stream's next TYPE
    type: str

    @property
    def signature(self) -> Signature:
        return Signature((self.type,), ()) if self.direction == "out" else Signature((), (self.type,))

    @property
    def shimmed(self) -> bool:
        """Whether the prepared module reaches it through a shim (a float output: bits, never a float)."""
        return self.direction == "out" and self.type in CARRIER

    @property
    def prepared(self) -> Import:
        """The import as the prepared module has it."""
        if self.shimmed:
            return Import(HARNESS_MODULE, self.name, Signature((CARRIER[self.type],), ()))
        return Import(HOST_MODULE, self.name, self.signature)


#: The complete host interface, in the order programs' imports are listed.
HOST_INTERFACE: tuple[HostFunction, ...] = tuple(
    HostFunction(f"{direction}_{type_}", direction, type_)
    for direction, types in (("out", ("i32", "i64", "f32", "f64")), ("in", ("i32", "i64")))
    for type_ in types
)
#: import field -> signature, of the host interface
HOST_IMPORTS: dict[str, Signature] = {fn.name: fn.signature for fn in HOST_INTERFACE}

#: WASI preview 1, as programs built with wasi-libc import it: a program importing from this module
#: is a *WASI program* (a command when it exports ``_start``), run against the harness's own
#: deterministic, snapshottable WASI host (:mod:`resumefuzz.wasi`).  It may import only these
#: functions, with exactly these types; any other import of the module is unsupported (exit 3,
#: named).  Only integer types cross, so the prepared module imports them unchanged.
WASI_MODULE = "wasi_snapshot_preview1"
_I32, _I64 = "i32", "i64"
WASI_IMPORTS: dict[str, Signature] = {
    name: Signature(params, results)
    for name, params, results in (
        ("args_get", (_I32, _I32), (_I32,)),
        ("args_sizes_get", (_I32, _I32), (_I32,)),
        ("environ_get", (_I32, _I32), (_I32,)),
        ("environ_sizes_get", (_I32, _I32), (_I32,)),
        ("fd_write", (_I32, _I32, _I32, _I32), (_I32,)),
        ("fd_read", (_I32, _I32, _I32, _I32), (_I32,)),
        ("fd_seek", (_I32, _I64, _I32, _I32), (_I32,)),
        ("fd_tell", (_I32, _I32), (_I32,)),
        ("fd_close", (_I32,), (_I32,)),
        ("fd_fdstat_get", (_I32, _I32), (_I32,)),
        ("fd_fdstat_set_flags", (_I32, _I32), (_I32,)),
        ("fd_filestat_get", (_I32, _I32), (_I32,)),
        ("fd_prestat_get", (_I32, _I32), (_I32,)),
        ("fd_prestat_dir_name", (_I32, _I32, _I32), (_I32,)),
        ("path_open", (_I32, _I32, _I32, _I32, _I32, _I64, _I64, _I32, _I32), (_I32,)),
        ("path_filestat_get", (_I32, _I32, _I32, _I32, _I32), (_I32,)),
        ("fd_readdir", (_I32, _I32, _I32, _I64, _I32), (_I32,)),
        ("clock_time_get", (_I32, _I64, _I32), (_I32,)),
        ("clock_res_get", (_I32, _I32), (_I32,)),
        ("random_get", (_I32, _I32), (_I32,)),
        ("sched_yield", (), (_I32,)),
        ("proc_exit", (_I32,), ()),
        ("poll_oneoff", (_I32, _I32, _I32, _I32), (_I32,)),
    )
}
#: the export a WASI command runs (its only call in the call plan besides the start function)
WASI_START = "_start"

SUSPEND = Import(HARNESS_MODULE, "suspend", Signature((), ()))
CAPPED = Import(HARNESS_MODULE, "capped", Signature(("i32", "i32", "i64"), ()))
#: CAPPED's kind argument
KIND_MEMORY, KIND_TABLE = 0, 1

# ---------------------------------------------------------------------------
# exports

START_CALL = "<start>"  # the call plan's name of the start function
START_EXPORT = f"{RESERVED_PREFIX}.start"
REDROP = f"{RESERVED_PREFIX}.redrop"
SAVE = f"{RESERVED_PREFIX}.save"
LOAD = f"{RESERVED_PREFIX}.load"
STATE_MEMORY = f"{RESERVED_PREFIX}.state"
FLAG_MEMORY = f"{RESERVED_PREFIX}.flag"
FLAG_OFFSET = 0  # the flag byte's address in FLAG_MEMORY
_CALL = f"{RESERVED_PREFIX}.call."
_FN = f"{RESERVED_PREFIX}.fn."
_KEY = f"{RESERVED_PREFIX}.key."


def call_export(number: int) -> str:
    """The wrapper of the program's NUMBER-th exported function."""
    return f"{_CALL}{number}"


def is_call_export(name: str) -> bool:
    return name.startswith(_CALL)


def fn_export(index: int) -> str:
    return f"{_FN}{index}"


def fn_index(export: str) -> int | None:
    """I of an ``__rfz.fn.I`` export, None for any other export."""
    return int(export[len(_FN):]) if export.startswith(_FN) else None


def key_export(key: str) -> str:
    return f"{_KEY}{key}"


def export_key(export: str) -> str | None:
    """KEY of an ``__rfz.key.KEY`` export, None for any other export."""
    return export[len(_KEY):] if export.startswith(_KEY) else None


def item_export(kind: str, index: int) -> str:
    """The export of the final module's KIND ("global", "memory", "table") INDEX."""
    return f"{RESERVED_PREFIX}.{kind}.{index}"


# ---------------------------------------------------------------------------
# keys

_HARNESS_KEY = f"{HARNESS_MODULE}."  # harness keys share the harness's import module name
_ENGINE_KEY = "engine."

CROSSINGS_KEY = f"{_HARNESS_KEY}crossings"
TARGET_KEY = f"{_HARNESS_KEY}target"
SITE_KEY = f"{_HARNESS_KEY}site"
DEPTH_KEY = f"{_HARNESS_KEY}depth"
FLAG_KEY = f"{_HARNESS_KEY}flag"
NEVER = (1 << 64) - 1  # TARGET_KEY's value meaning "never suspend"


def program_key(kind: str, index: int) -> str:
    """The key of the original module's KIND ("global", "memory", "table") INDEX."""
    return f"{kind[0]}{index}"


def engine_key(kind: str, index: int) -> str:
    """The key of an item the engine added: KIND INDEX of the final module."""
    return f"{_ENGINE_KEY}{program_key(kind, index)}"


def dropped_key(kind: str, number: str) -> str:
    """The key of the flag set once the program dropped KIND ("data", "elem") segment NUMBER."""
    return f"{_HARNESS_KEY}dropped.{kind}{number}"


# ---------------------------------------------------------------------------
# layout


@dataclass(frozen=True)
class CallSpec:
    """One entry of the driver's call plan."""

    name: str  # export name, or START_CALL
    wrapper: str  # the harness export to call
    params: tuple[str, ...]  # original parameter types
    results: tuple[str, ...]  # original result types


#: Slot.type of a memory: a 32-bit memory, a 64-bit one (memory64: addresses, sizes and grow deltas are i64)
MEMORY, MEMORY64 = "memory", "memory64"


@dataclass(frozen=True)
class Slot:
    """A global, memory or table of the final module, paired by key across runs."""

    index: int
    key: str  # see Keys in the module doc
    type: str  # value type, MEMORY or MEMORY64, or the table's element type
    mutable: bool
    export: str  # harness export of the item itself
    maximum: int | None = None
    offset: int = -1  # globals: where SAVE/LOAD keep its bits in STATE_MEMORY (-1: a reference, not there)

    @property
    def origin(self) -> str:
        """Who added the item: "harness", "engine" or "program"."""
        return "harness" if self.key.startswith(_HARNESS_KEY) else "engine" if self.key.startswith(_ENGINE_KEY) \
            else "program"


@dataclass(frozen=True)
class Layout:
    """The final module as the runtime and the engines drive it."""

    globals: tuple[Slot, ...]
    memories: tuple[Slot, ...]
    tables: tuple[Slot, ...]
    calls: tuple[CallSpec, ...]
    has_redrop: bool
    exports: frozenset[str]
    visible: frozenset[str]  # keys of items the program itself exports

    def keys(self) -> set[str]:
        return {s.key for s in (*self.globals, *self.memories, *self.tables)}


# ---------------------------------------------------------------------------
# module text


def symbol(name: str) -> str:
    """The name of something the harness adds inside the module text."""
    return f"${RESERVED_PREFIX}_{name}"


#: every harness symbol starts so
SYMBOL_PREFIX = symbol("")


# ---------------------------------------------------------------------------
# the flag memory's accesses (see Flag)

_NAME = r'\$"(?:[^"\\]|\\.)*"|\$[^\s()]+'
_MEMORY_DEF = re.compile(r'\(memory (%s)?(?:\s*\(@name "(?:[^"\\]|\\.)*"\))?\s*\(;(\d+);\)' % _NAME)
_FUNC_DEF = re.compile(r'^\s*\(func (%s)' % _NAME)
_OPERAND = re.compile(r'\s+(%s|\d+)' % _NAME)
#: instructions that address a memory (the memory operand, if any, follows the mnemonic)
_MEMORY_OP = re.compile(r'^(?:(?:[if](?:32|64)|v128)\.(?:atomic\.)?(?:load|store|rmw)\S*'
                        r'|memory\.(?:grow|fill|copy|init|atomic\.\S+))$')


@dataclass(frozen=True)
class FlagAudit:
    """What the module does with its flag memory: ATOMIC accesses, and every access that is not atomic
    (one line each: function, instruction, what it does, how many sites)."""

    atomic: int
    violations: tuple[str, ...]


def flag_audit(text: str) -> FlagAudit | None:
    """The accesses to the flag memory (exported as FLAG_MEMORY) in TEXT, a module printed by wasm-tools
    (every item named); None when the module has no flag memory.  A violation is any access that is not
    an atomic operation: a plain load (``reads``), a plain store, ``memory.fill``/``copy``/``init``
    (``writes``), ``memory.grow`` (``grows``).  ``memory.size`` reads no byte and is not counted."""
    names: dict[str, int] = {}
    for match in _MEMORY_DEF.finditer(text):
        if match.group(1):
            names[match.group(1)] = int(match.group(2))
    exported = re.search(r'\(export "%s" \(memory (%s|\d+)\)\)' % (re.escape(FLAG_MEMORY), _NAME), text)
    if exported is None:
        return None
    target = exported.group(1)
    flag = int(target) if target.isdigit() else names.get(target)
    if flag is None:
        return None
    atomic, bad, function = 0, {}, "?"
    for line in text.splitlines():
        defined = _FUNC_DEF.match(line)
        if defined:
            function = defined.group(1)
            continue
        stripped = line.strip()
        mnemonic = stripped.split(" ", 1)[0]
        if not _MEMORY_OP.match(mnemonic):
            continue
        rest, memories = stripped[len(mnemonic):], []
        while len(memories) < 2:
            operand = _OPERAND.match(rest)
            if operand is None or operand.group(1) not in names:
                break
            memories.append(names[operand.group(1)])
            rest = rest[operand.end():]
        if not memories:  # unqualified: memory 0
            memories = [0]
        if flag not in (memories if mnemonic == "memory.copy" else memories[:1]):
            continue
        if ".atomic." in mnemonic:
            atomic += 1
            continue
        what = "reads the flag with a plain (non-atomic) load" if ".load" in mnemonic else \
            "grows the flag memory" if mnemonic == "memory.grow" else \
            "writes the flag memory without an atomic store"
        key = (function, mnemonic, what)
        bad[key] = bad.get(key, 0) + 1

    def shown(name: str) -> str:  # $"#func3 #func3" -> #func3
        return name.lstrip("$").strip('"').split(" ")[0]

    return FlagAudit(atomic, tuple(f"function {shown(fn)}: {op} {what} ({n} site(s))"
                                   for (fn, op, what), n in bad.items()))
