"""A structured view of a module as printed by `wasm-tools print --name-unnamed`.

Modules are first stripped of every custom section, so the printer names each
item regularly (`$#func3` is function 3, `$#global0` global 0, ...).  The
printer's output is canonical: one module field per line (function bodies one
instruction per line), which makes textual rewriting exact and cheap.  The
rewritten text goes back through `wasm-tools parse`, which resolves names, so
inserting imports or functions never requires renumbering by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import Unsupported
from .values import VALUE_TYPES, Signature

_FIELD = re.compile(r"^  \((\w+)\b")
_TYPE = re.compile(r"^  \(type (\$[^\s)]+) \(;\d+;\) \(func(.*)\)\)$")
_IMPORT = re.compile(r'^  \(import "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)" \((\w+) (\$[^\s)]+) \(;(\d+);\)(.*)\)\)$')
_FUNC = re.compile(r"^  \(func (\$[^\s)]+) \(;(\d+);\) \(type (\$[^\s)]+)\)")
_TABLE = re.compile(r"^  \(table (\$[^\s)]+) \(;(\d+);\) (i64 )?(\d+)(?: (\d+))? (funcref|externref)\)$")
_MEMORY = re.compile(r"^  \(memory (\$[^\s)]+) \(;(\d+);\) (i64 )?(\d+)(?: (\d+))?( shared)?\)$")
_GLOBAL = re.compile(r"^  \(global (\$[^\s)]+) \(;(\d+);\) (?:\(mut (\w+)\)|(\w+)) ")
_EXPORT = re.compile(r'^  \(export "((?:[^"\\]|\\.)*)" \((\w+) (\$[^\s)]+)\)\)$')
_START = re.compile(r"^  \(start (\$[^\s)]+)\)$")

#: Module fields the harness understands; anything else is reported as unsupported.
_KNOWN_FIELDS = {"type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data"}


@dataclass
class Func:
    name: str
    index: int
    type: str
    sig: Signature
    imported: tuple[str, str] | None = None  # (module, field)
    field: "Field | None" = None  # the defining field (None for imports)


@dataclass(frozen=True)
class Table:
    name: str
    index: int
    minimum: int
    maximum: int | None
    type: str


@dataclass(frozen=True)
class Memory:
    name: str
    index: int
    minimum: int
    maximum: int | None
    index_type: str = "i32"  # "i64": a 64-bit memory (memory64): addresses, sizes and grow deltas are i64
    shared: bool = False  # only the harness's flag memory (abi.FLAG_MEMORY); observe refuses it in programs

    @property
    def is64(self) -> bool:
        return self.index_type == "i64"


@dataclass(frozen=True)
class Global:
    name: str
    index: int
    type: str
    mutable: bool


@dataclass(frozen=True)
class Export:
    field: str
    kind: str
    target: str  # $name of the exported item


@dataclass
class Field:
    kind: str
    lines: list[str]


@dataclass
class ModuleText:
    fields: list[Field]
    types: dict[str, Signature] = field(default_factory=dict)
    funcs: list[Func] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    memories: list[Memory] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: str | None = None

    @classmethod
    def parse(cls, text: str) -> "ModuleText":
        lines = text.rstrip("\n").split("\n")
        if lines == ["(module)"]:  # an empty module prints on one line
            lines = ["(module", ")"]
        if not lines or lines[0] != "(module" or lines[-1] != ")":
            raise Unsupported("not a core WebAssembly module (components are not supported)")
        fields: list[Field] = []
        for line in lines[1:-1]:
            match = _FIELD.match(line)
            if match:
                fields.append(Field(match.group(1), [line]))
            elif fields and (line.startswith("   ") or line == "  )"):
                fields[-1].lines.append(line)
            else:
                raise Unsupported(f"unexpected printed line: {line.strip()[:60]}")
        module = cls(fields)
        for f in fields:
            module._index(f)
        module.funcs.sort(key=lambda fn: fn.index)
        return module

    def _index(self, f: Field) -> None:
        head = f.lines[0]
        if f.kind not in _KNOWN_FIELDS:
            raise Unsupported(f"module field `{f.kind}` (e.g. exception tags, GC recursion groups)")
        if f.kind == "type":
            match = _TYPE.match(head)
            if not match:
                raise Unsupported(f"non-function type definition: {head.strip()[:60]}")
            self.types[match.group(1)] = parse_signature(match.group(2))
        elif f.kind == "import":
            match = _IMPORT.match(head)
            if not match or match.group(3) != "func":
                raise Unsupported(f"import of a non-function: {head.strip()[:80]}")
            type_name = _type_ref(match.group(6), head)
            self.funcs.append(
                Func(match.group(4), int(match.group(5)), type_name, self.types[type_name],
                     imported=(unescape(match.group(1)), unescape(match.group(2))))
            )
        elif f.kind == "func":
            match = _FUNC.match(head)
            if not match:
                raise Unsupported(f"unrecognised function header: {head.strip()[:60]}")
            type_name = match.group(3)
            if len(f.lines) == 1:  # an empty body prints on one line: give it a closing line
                f.lines[:] = [head[:-1], "  )"]
            self.funcs.append(Func(match.group(1), int(match.group(2)), type_name, self.types[type_name], field=f))
        elif f.kind == "table":
            match = _TABLE.match(head)
            if not match or match.group(3):
                raise Unsupported(f"table form: {head.strip()[:60]} (only 32-bit funcref/externref tables)")
            self.tables.append(Table(match.group(1), int(match.group(2)), int(match.group(4)),
                                     _opt_int(match.group(5)), match.group(6)))
        elif f.kind == "memory":
            match = _MEMORY.match(head)
            if not match:
                raise Unsupported(f"memory form: {head.strip()[:60]} (only unshared 32-bit or 64-bit memories)")
            self.memories.append(Memory(match.group(1), int(match.group(2)), int(match.group(4)),
                                        _opt_int(match.group(5)), "i64" if match.group(3) else "i32",
                                        bool(match.group(6))))
        elif f.kind == "global":
            match = _GLOBAL.match(head)
            type_ = match and (match.group(3) or match.group(4))
            if not match or type_ not in VALUE_TYPES:
                raise Unsupported(f"global type: {head.strip()[:60]}")
            self.globals.append(Global(match.group(1), int(match.group(2)), type_, bool(match.group(3))))
        elif f.kind == "export":
            match = _EXPORT.match(head)
            if not match:
                raise Unsupported(f"export form: {head.strip()[:60]}")
            self.exports.append(Export(unescape(match.group(1)), match.group(2), match.group(3)))
        elif f.kind == "start":
            match = _START.match(head)
            assert match, head
            self.start = match.group(1)

    # -- lookups -------------------------------------------------------------
    def func(self, name: str) -> Func:
        for fn in self.funcs:
            if fn.name == name:
                return fn
        raise KeyError(name)

    def export_map(self, kind: str) -> dict[str, str]:
        """export field -> $target for exports of KIND."""
        return {e.field: e.target for e in self.exports if e.kind == kind}

    # -- editing -------------------------------------------------------------
    def remove_field(self, f: Field) -> None:
        self.fields.remove(f)

    def insert_imports(self, lines: list[str]) -> None:
        """Imports must precede every definition in the text format."""
        at = next((i for i, f in enumerate(self.fields) if f.kind not in ("type", "import")), len(self.fields))
        self.fields[at:at] = [Field("import", [line]) for line in lines]

    def append(self, kind: str, text: str) -> None:
        self.fields.append(Field(kind, text.rstrip("\n").split("\n")))

    def render(self) -> str:
        return "\n".join(["(module", *(line for f in self.fields for line in f.lines), ")"]) + "\n"


def body_start(lines: list[str]) -> int:
    """Index in a function field's lines of the first instruction (after header and locals)."""
    i = 1
    while i < len(lines) - 1 and lines[i].lstrip().startswith("(local "):
        i += 1
    return i


def parse_signature(text: str) -> Signature:
    """Parse ' (param i32 f64) (result i64)' (params may be named: '(param $x i32)')."""
    params: list[str] = []
    results: list[str] = []
    for kind, body in re.findall(r"\((param|result)((?:[^()]|\([^()]*\))*)\)", text):
        tokens = [t for t in re.findall(r"\([^()]*\)|\S+", body) if not t.startswith("$")]
        for token in tokens:
            if token not in VALUE_TYPES:
                raise Unsupported(f"value type {token} (typed function references, GC)")
        (params if kind == "param" else results).extend(tokens)
    return Signature(tuple(params), tuple(results))


def _type_ref(rest: str, head: str) -> str:
    match = re.match(r" \(type (\$[^\s)]+)\)", rest)
    if not match:
        raise Unsupported(f"import without a type reference: {head.strip()[:60]}")
    return match.group(1)


def _opt_int(text: str | None) -> int | None:
    return None if text is None else int(text)


_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|[0-9a-fA-F]{2}|.)")


def unescape(text: str) -> str:
    """Decode a WAT string literal body (names are UTF-8)."""
    out = bytearray()
    pos = 0
    for match in _ESCAPE.finditer(text):
        out += text[pos:match.start()].encode()
        esc = match.group(1)
        if esc.startswith("u{"):
            out += chr(int(esc[2:-1], 16)).encode()
        elif len(esc) == 2:
            out.append(int(esc, 16))
        else:
            out += {"t": b"\t", "n": b"\n", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}.get(esc, esc.encode())
        pos = match.end()
    out += text[pos:].encode()
    return out.decode("utf-8", errors="replace")


def escape(name: str) -> str:
    """Encode a name as a WAT string literal body."""
    return "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else
                   "".join(f"\\{b:02x}" for b in ch.encode()) for ch in name)
