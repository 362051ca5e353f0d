"""The call graph of a module: which functions can reach a given import.

Asyncify's list options (``asyncify-onlylist``, ``-removelist``,
``-addlist``) name functions, and a correct list is exactly the set of
functions that can be on the stack when the suspending import is called:
those that reach it directly, through calls (``call``, ``return_call``) or
through indirect calls (``call_indirect``, ``call_ref`` and their tail
forms).  An indirect call may reach every function whose reference the
module takes: any function named by an element segment, a global or table
initializer, or a ``ref.func`` instruction (the harness's host never hands
a function reference in, so nothing else can be called indirectly).  That is
an over-approximation (the callee's type is not used), which is safe: a
function listed needlessly is instrumented needlessly, never wrongly.

Functions are named as Binaryen names them when it reads the binary, since
that is what its lists match: the ``name`` section's function name where
there is one, otherwise ``fimport$I`` for an imported function (I its
index) and the decimal ordinal among defined functions for a defined one
(checked against binaryen 132).  A list entry is split on commas and treated
as a pattern when it holds ``*``, so a name Binaryen could not be given in a
list (with ``,``, ``*``, a line break or surrounding spaces), or one two
functions share, raises :class:`Unlistable`.

The module is read from ``wasm-tools print`` of its stripped binary, one
instruction per line (``$#funcN`` is function N), so every instruction
wasm-tools knows is read; a module it cannot print is the caller's to refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import wasmtools
from .moduletext import unescape

_FUNC_REF = re.compile(r"\$#func(\d+)\b")
_FIELD = re.compile(r"^  \((\w+)")
_FUNC_HEAD = re.compile(r"^  \(func \$#func(\d+) \(;\d+;\)")
_IMPORT_FUNC = re.compile(r'^  \(import "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)" \(func \$#func(\d+) ')
_DIRECT = re.compile(r"^\s+(?:return_)?call \$#func(\d+)\b")
_INDIRECT = re.compile(r"^\s+(?:return_)?call_(?:indirect|ref)\b")
_TAIL = re.compile(r"^\s+return_call(?:_indirect|_ref)?\b")
_TRY_TABLE = re.compile(r"^\s+try_table\b")
_EXPORT_FUNC = re.compile(r'^  \(export "((?:[^"\\]|\\.)*)" \(func \$#func(\d+)\)\)$')
#: fields whose function mentions are not references taken (a definition, an import, an export, the start)
_NOT_TAKEN = {"func", "import", "export", "start"}


class Unlistable(Exception):
    """A function of the module cannot be named in a Binaryen list (the message says which, and why)."""


@dataclass(frozen=True)
class Function:
    index: int  # in the function index space (imports first)
    name: str  # Binaryen's name for it
    imported: tuple[str, str] | None = None  # (module, field) of an imported function
    calls: frozenset[int] = frozenset()  # direct callees (tail calls included)
    indirect: bool = False  # has call_indirect / call_ref (tail forms included)
    tail_calls: bool = False  # has return_call / return_call_indirect / return_call_ref
    try_tables: bool = False  # has try_table
    exports: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallGraph:
    functions: tuple[Function, ...]
    #: functions an indirect call may reach (their references are taken)
    address_taken: frozenset[int] = field(default_factory=frozenset)

    def callees(self, index: int) -> frozenset[int]:
        function = self.functions[index]
        return function.calls | self.address_taken if function.indirect else function.calls

    def find_import(self, module: str, name: str) -> int | None:
        return next((f.index for f in self.functions if f.imported == (module, name)), None)

    def reaching(self, target: int | None) -> frozenset[int]:
        """The defined functions that can reach function TARGET (through any chain of calls)."""
        if target is None:
            return frozenset()
        callers: dict[int, set[int]] = {}
        for function in self.functions:
            if function.imported is None:
                for callee in self.callees(function.index):
                    callers.setdefault(callee, set()).add(function.index)
        found: set[int] = set()
        todo = [target]
        while todo:
            for caller in callers.get(todo.pop(), ()):
                if caller not in found:
                    found.add(caller)
                    todo.append(caller)
        return frozenset(found)

    def reaching_import(self, module: str, name: str) -> frozenset[int]:
        """The defined functions that can reach the imported function MODULE.NAME (none if not imported)."""
        return self.reaching(self.find_import(module, name))

    def defined(self) -> frozenset[int]:
        return frozenset(f.index for f in self.functions if f.imported is None)

    def names(self, indices: "frozenset[int] | set[int]") -> list[str]:
        """Binaryen's names of INDICES, in index order, checked to be listable (else :class:`Unlistable`)."""
        return [listable(self.functions[i]) for i in sorted(indices)]


def listable(function: Function) -> str:
    name = function.name
    if not name or any(c in name for c in ",*\n\r") or name != name.strip():
        raise Unlistable(f"function {function.index} is named {name!r}, which a Binaryen list cannot name")
    return name


def call_graph(wasm: bytes) -> CallGraph:
    """The call graph of the core module WASM (valid; wasm-tools must print it)."""
    text = wasmtools.print_text(wasmtools.strip_all(wasm))
    imports: dict[int, tuple[str, str]] = {}
    exports: dict[int, list[str]] = {}
    bodies: dict[int, list[str]] = {}
    taken: set[int] = set()
    kind, current = "", None
    for line in text.splitlines():
        head = _FIELD.match(line)
        if head:
            kind = head.group(1)
            current = None
            if kind == "func":
                match = _FUNC_HEAD.match(line)
                if match is None:
                    raise ValueError(f"unexpected function header: {line[:120]}")
                current = int(match.group(1))
                bodies[current] = []
                continue
            if kind == "import":
                match = _IMPORT_FUNC.match(line)
                if match:
                    imports[int(match.group(3))] = (unescape(match.group(1)), unescape(match.group(2)))
                continue
            if kind == "export":
                match = _EXPORT_FUNC.match(line)
                if match:
                    exports.setdefault(int(match.group(2)), []).append(unescape(match.group(1)))
                continue
        if current is not None:
            bodies[current].append(line)
        elif kind not in _NOT_TAKEN:  # element segments, globals, tables: references taken
            taken.update(int(n) for n in _FUNC_REF.findall(line))
    count = len(imports) + len(bodies)
    if set(imports) | set(bodies) != set(range(count)):
        raise ValueError("function indices of the printed module are not contiguous")
    names = binaryen_names(wasm, imports, count)
    functions = []
    for index in range(count):
        if index in imports:
            functions.append(Function(index, names[index], imports[index], exports=tuple(exports.get(index, ()))))
            continue
        calls: set[int] = set()
        indirect = tail = try_tables = False
        for line in bodies[index]:
            direct = _DIRECT.match(line)
            if direct:
                calls.add(int(direct.group(1)))
            elif _INDIRECT.match(line):
                indirect = True
            elif _TRY_TABLE.match(line):
                try_tables = True
            elif "ref.func" in line:
                taken.update(int(n) for n in _FUNC_REF.findall(line))
            if _TAIL.match(line):
                tail = True
        functions.append(Function(index, names[index], None, frozenset(calls), indirect, tail, try_tables,
                                  tuple(exports.get(index, ()))))
    return CallGraph(tuple(functions), frozenset(taken))


def binaryen_names(wasm: bytes, imports: "dict[int, tuple[str, str]] | set[int]", count: int) -> list[str]:
    """Binaryen's name of each of the COUNT functions of WASM (IMPORTS: the imported indices).

    A duplicated name (two functions named alike, or a name equal to another function's
    default name) is renamed by Binaryen in a way lists should not guess: such names are
    returned as "" and :func:`listable` refuses them.
    """
    given = _name_section_functions(wasm)
    defined = 0
    names: list[str] = []
    for index in range(count):
        if index in given and given[index]:
            names.append(given[index])
        elif index in imports:
            names.append(f"fimport${index}")
        else:
            names.append(str(defined))
        if index not in imports:
            defined += 1
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [name if seen[name] == 1 else "" for name in names]


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 35:
            raise ValueError("bad LEB128")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _name_section_functions(wasm: bytes) -> dict[int, str]:
    """Function index -> name from WASM's ``name`` section (its function-names subsection), if any."""
    pos = 8
    try:
        while pos < len(wasm):
            section = wasm[pos]
            size, pos = _leb(wasm, pos + 1)
            end = pos + size
            if section == 0:
                length, at = _leb(wasm, pos)
                if wasm[at:at + length] == b"name":
                    return _function_names(wasm[at + length:end])
            pos = end
    except (ValueError, IndexError, UnicodeDecodeError):
        return {}
    return {}


def _function_names(data: bytes) -> dict[int, str]:
    pos = 0
    while pos < len(data):
        kind = data[pos]
        size, pos = _leb(data, pos + 1)
        if kind == 1:
            names: dict[int, str] = {}
            count, at = _leb(data, pos)
            for _ in range(count):
                index, at = _leb(data, at)
                length, at = _leb(data, at)
                names[index] = data[at:at + length].decode("utf-8")
                at += length
            return names
        pos += size
    return {}
