"""Judged sizes: a module's memories and tables stay within MAX_MEMORY_PAGES / MAX_TABLE_ENTRIES.

Two checks, both at ``observe`` time, before anything of that size exists:

* :func:`check_declared`: memories or tables that *start* above a cap make
  the module unsupported (exit 3) — nothing is compiled, instantiated or
  copied.
* :func:`cap_growth`: when the declared maxima would let the program grow
  past a cap, every ``memory.grow``/``table.grow`` is routed through a small
  harness function that calls the host import ``rfz.capped`` before a grow
  that would take the judged total over the cap (and could otherwise
  succeed).  The host stops the run there (the runtime raises
  :class:`~resumefuzz.runtime.CapExceeded`; the run is inconclusive, exit 4),
  so runs A, B and C behave identically and nothing grows past the cap.
  Modules whose maxima keep them within the caps (every campaign generator's)
  are left untouched.  64-bit memories (memory64) are capped alike: their
  sizes, grow deltas and results are i64, and a memory without a maximum may
  reach 2**48 pages, so ``(memory i64 1)`` and ``(memory i64 1 0x1_0000_0000)``
  get the wrapper too.

wasmtime's Store limits (set per instance by the runtime) are the safety net
behind this: no single memory or table can be allocated beyond the caps even
if a grow escaped the rewrite.
"""

from __future__ import annotations

import re
from typing import Callable

from .abi import CAPPED, KIND_MEMORY, KIND_TABLE, symbol
from .errors import Unsupported
from .limits import MAX_MEMORY_PAGES, MAX_TABLE_ENTRIES
from .moduletext import Memory, ModuleText, Table
from .state import PAGE_SIZE

#: Largest size a 32-bit memory (pages), a 64-bit memory (pages) or a table (slots) may have in wasm.
_MEMORY_LIMIT = 65536
_MEMORY64_LIMIT = 2**48
_TABLE_LIMIT = 2**32 - 1

_CAPPED = symbol("capped")

_MEMORY_GROW = re.compile(r"^(\s+)memory\.grow(?: (\S+))?$")
_TABLE_GROW = re.compile(r"^(\s+)table\.grow(?: (\S+))?$")


def _mib(pages: int) -> str:
    return f"{pages * PAGE_SIZE / 2**20:g} MiB"


def memory_cap_message() -> str:
    return f"the harness judges at most {MAX_MEMORY_PAGES} pages ({_mib(MAX_MEMORY_PAGES)}) of memory (MAX_MEMORY_PAGES)"


def table_cap_message() -> str:
    return f"the harness judges at most {MAX_TABLE_ENTRIES} table slots (MAX_TABLE_ENTRIES)"


def capped_message(kind: int, index: int | None, total: int) -> str:
    """Why a run stopped: the program grew item INDEX (None: some item) past the judged cap."""
    if kind == KIND_MEMORY:
        what = "its memories" if index is None else f"memory {index}"
        return (f"the program grew {what} so that its memories would hold {total} pages ({_mib(total)}); "
                + memory_cap_message())
    what = "its tables" if index is None else f"table {index}"
    return f"the program grew {what} so that its tables would hold {total} slots; " + table_cap_message()


def check_declared(module: ModuleText) -> None:
    """Unsupported if the module's memories or tables start above the judged caps."""
    pages = sum(m.minimum for m in module.memories)
    if pages > MAX_MEMORY_PAGES:
        raise Unsupported(f"the module's memories start at {pages} pages ({_mib(pages)}); "
                          + memory_cap_message())
    slots = sum(t.minimum for t in module.tables)
    if slots > MAX_TABLE_ENTRIES:
        raise Unsupported(f"the module's tables start at {slots} slots; " + table_cap_message())


def cap_growth(module: ModuleText) -> None:
    """Route grows that could pass a cap through ``$__rfz_grow_*`` wrappers (see the module doc)."""
    memories = module.memories if sum(_max(m.maximum, _memory_limit(m)) for m in module.memories) > MAX_MEMORY_PAGES \
        else []
    tables = module.tables if sum(_max(t.maximum, _TABLE_LIMIT) for t in module.tables) > MAX_TABLE_ENTRIES else []
    if not memories and not tables:
        return
    memory_index = _indexer(memories)
    table_index = _indexer(tables)
    used: set[tuple[str, int]] = set()
    for fn in module.funcs:
        if fn.field is None:
            continue
        lines = fn.field.lines
        for i, line in enumerate(lines):
            text = line.lstrip()
            if not text.startswith(("memory.grow", "table.grow")):
                continue
            kind, pattern, index_of = ("m", _MEMORY_GROW, memory_index) if text[0] == "m" \
                else ("t", _TABLE_GROW, table_index)
            match = pattern.match(line)
            index = index_of(match.group(2)) if match else None
            if index is not None:
                lines[i] = f"{match.group(1)}call {_grower(kind, index)}"
                used.add((kind, index))
    if not used:
        return
    module.insert_imports([CAPPED.declaration(_CAPPED)])
    for kind, index in sorted(used):
        if kind == "m":
            module.append("func", _memory_wrapper(memories, index))
        else:
            module.append("func", _table_wrapper(tables, index))


def _grower(kind: str, index: int) -> str:
    """The wrapper of grows of memory ("m") or table ("t") INDEX."""
    return symbol(f"grow_{kind}{index}")


def _max(maximum: int | None, limit: int) -> int:
    return limit if maximum is None else maximum


def _memory_limit(memory: Memory) -> int:
    return _MEMORY64_LIMIT if memory.is64 else _MEMORY_LIMIT


def _index_type(item: Memory | Table) -> str:
    """The type of ITEM's sizes and grow deltas: i64 for a 64-bit memory, else i32."""
    return "i64" if isinstance(item, Memory) and item.is64 else "i32"


def _as_i64(item: Memory | Table) -> list[str]:
    """Instructions turning a size or delta of ITEM's index type into an i64."""
    return [] if _index_type(item) == "i64" else ["i64.extend_i32_u"]


def _indexer(items: list) -> Callable[[str | None], int | None]:
    by_name = {item.name: item.index for item in items}
    indices = {item.index for item in items}

    def index_of(immediate: str | None) -> int | None:
        if immediate is None:
            return 0 if 0 in indices else None
        if immediate.isdigit():
            return int(immediate) if int(immediate) in indices else None
        return by_name.get(immediate)

    return index_of


def _total(size_op: str, items: list, grown: Memory | Table) -> list[str]:
    """Push (delta + the current size of every item) as an i64: the judged total after the grow of GROWN."""
    code = ["local.get $n", *_as_i64(grown)]
    for item in items:
        code += [f"{size_op} {item.name}", *_as_i64(item), "i64.add"]
    return code


def _wrapper(name: str, params: str, kind: int, items: list, index: int, size_op: str, limit: int, cap: int,
             grow: list[str]) -> str:
    item = next(i for i in items if i.index == index)
    body = [
        # the grow could succeed without the cap (else it fails anyway: the program's own business):
        # delta <= maximum - size (no overflow: a size never exceeds the maximum; a 64-bit delta may be
        # anything up to 2**64 - 1, where delta + size would wrap)
        "local.get $n", *_as_i64(item),
        f"i64.const {_max(item.maximum, limit)}", f"{size_op} {item.name}", *_as_i64(item), "i64.sub",
        "i64.le_u",
        # ... and would take the judged total over the cap (a wrapped sum only where the above is false)
        *_total(size_op, items, item), f"i64.const {cap}", "i64.gt_u",
        "i32.and",
        "if",
        f"  i32.const {kind}", f"  i32.const {index}", *(f"  {op}" for op in _total(size_op, items, item)),
        f"  call {_CAPPED}",
        "end",
        *grow,
    ]
    return "\n".join([f"  (func {name} {params} (result {_index_type(item)})", *(f"    {op}" for op in body),
                      "  )"])


def _memory_wrapper(memories: list, index: int) -> str:
    item = next(m for m in memories if m.index == index)
    return _wrapper(_grower("m", index), f"(param $n {_index_type(item)})", KIND_MEMORY, memories, index,
                    "memory.size", _memory_limit(item), MAX_MEMORY_PAGES,
                    ["local.get $n", f"memory.grow {item.name}"])


def _table_wrapper(tables: list, index: int) -> str:
    item = next(t for t in tables if t.index == index)
    return _wrapper(_grower("t", index), f"(param $init {item.type}) (param $n i32)", KIND_TABLE, tables, index,
                    "table.size", _TABLE_LIMIT, MAX_TABLE_ENTRIES,
                    ["local.get $init", "local.get $n", f"table.grow {item.name}"])

