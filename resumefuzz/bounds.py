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
  are left untouched.

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
from .moduletext import ModuleText
from .state import PAGE_SIZE

#: Largest size a 32-bit memory (pages) or table (slots) may have in wasm.
_MEMORY_LIMIT = 65536
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
    memories = module.memories if sum(_max(m.maximum, _MEMORY_LIMIT) for m in module.memories) > MAX_MEMORY_PAGES \
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


def _total(size_op: str, items: list) -> list[str]:
    """Push (delta + the current size of every item) as an i64: the judged total after the grow."""
    code = ["local.get $n", "i64.extend_i32_u"]
    for item in items:
        code += [f"{size_op} {item.name}", "i64.extend_i32_u", "i64.add"]
    return code


def _wrapper(name: str, params: str, kind: int, items: list, index: int, size_op: str, limit: int, cap: int,
             grow: list[str]) -> str:
    item = next(i for i in items if i.index == index)
    body = [
        # the grow could succeed without the cap (else it fails anyway: the program's own business)
        "local.get $n", "i64.extend_i32_u", f"{size_op} {item.name}", "i64.extend_i32_u", "i64.add",
        f"i64.const {_max(item.maximum, limit)}", "i64.le_u",
        # ... and would take the judged total over the cap
        *_total(size_op, items), f"i64.const {cap}", "i64.gt_u",
        "i32.and",
        "if",
        f"  i32.const {kind}", f"  i32.const {index}", *(f"  {op}" for op in _total(size_op, items)),
        f"  call {_CAPPED}",
        "end",
        *grow,
    ]
    return "\n".join([f"  (func {name} {params} (result i32)", *(f"    {op}" for op in body), "  )"])


def _memory_wrapper(memories: list, index: int) -> str:
    item = next(m for m in memories if m.index == index)
    return _wrapper(_grower("m", index), "(param $n i32)", KIND_MEMORY, memories, index, "memory.size",
                    _MEMORY_LIMIT, MAX_MEMORY_PAGES, ["local.get $n", f"memory.grow {item.name}"])


def _table_wrapper(tables: list, index: int) -> str:
    item = next(t for t in tables if t.index == index)
    return _wrapper(_grower("t", index), f"(param $init {item.type}) (param $n i32)", KIND_TABLE, tables, index,
                    "table.size", _TABLE_LIMIT, MAX_TABLE_ENTRIES,
                    ["local.get $init", "local.get $n", f"table.grow {item.name}"])

