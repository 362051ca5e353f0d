"""Harness instrumentation: make a module observable bit for bit.

Two text-level rewrites bracket the engine's transform:

``observe`` (on the original module, shared by every run)
    * checks the imports against the host interface and WASI preview 1
      (exactly :data:`~resumefuzz.abi.WASI_IMPORTS`), and the declared sizes
      against the judged caps (``bounds``: grows that could pass a cap are
      routed through a harness wrapper that stops the run there);
    * routes ``host.out_f32``/``out_f64`` through shims that pass integer bits
      to ``rfz.out_f32``/``rfz.out_f64`` (no Python float ever);
    * wraps each exported function in ``__rfz.call.K`` whose floats travel as
      integer bits (v128 as two i64); a WASI command (it imports WASI and
      exports ``_start``) has ``_start`` as its only call besides the start
      function;
    * removes the start section and exports the start function instead, so
      the driver runs it once and a restore never re-runs it;
    * records dropped data/elem segments in harness globals so a restore can
      drop them again (``__rfz.redrop``);
    * exports an identity for every function, global, memory and table of the
      original module (``__rfz.fn.I``, ``__rfz.key.KEY``).  Export names
      survive any engine transform, so they pair items across runs.

``expose`` (on the final module of each run kind)
    adds bulk, bit-exact save/load of every global, exported or not (the
    engine's own included) through a harness-only memory, and exports every
    global, memory and table, then returns
    the :class:`~resumefuzz.abi.Layout` the runtime drives the module with.

What the two leave in the module (names, keys, signatures) is the harness
ABI, stated in :mod:`resumefuzz.abi`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from . import bounds, wasmtools
from .abi import (DEPTH_KEY, HOST_IMPORTS, HOST_INTERFACE, HOST_MODULE, LOAD, MEMORY, MEMORY64, REDROP,
                  RESERVED_PREFIX, SAVE, START_CALL, START_EXPORT, STATE_MEMORY, WASI_IMPORTS, WASI_MODULE, WASI_START,
                  CallSpec, Layout, Slot, call_export,
                  dropped_key, engine_key, export_key, fn_export, item_export, key_export, program_key, symbol)
from .errors import BadInput, Unsupported
from .moduletext import ModuleText, body_start
from .values import CARRIER, REF_TYPES, WIDTH, Signature


@dataclass(frozen=True)
class Observed:
    wasm: bytes
    calls: tuple[CallSpec, ...]


_STATE = symbol("state")

# ---------------------------------------------------------------------------
# observe


def load_text(wasm: bytes) -> ModuleText:
    try:
        return ModuleText.parse(_printed(wasmtools.strip_all(wasm)))
    except wasmtools.WasmToolsError as exc:
        raise BadInput(f"invalid module: {exc}") from None


@functools.lru_cache(maxsize=8)
def _printed(wasm: bytes) -> str:
    """Canonical text of WASM (the observed module is printed for both expose and inject)."""
    return wasmtools.print_text(wasm)


def assemble(module: ModuleText) -> bytes:
    """Text back to binary; a failure here is a harness bug, reported with context."""
    text = module.render()
    try:
        return wasmtools.parse(text)
    except wasmtools.WasmToolsError as exc:
        raise RuntimeError(f"harness produced invalid WAT: {exc}") from None


def observe(wasm: bytes) -> Observed:
    module = load_text(wasm)
    for export in module.exports:
        if export.field.startswith(RESERVED_PREFIX):
            raise Unsupported(f"export name {export.field!r} uses the reserved prefix {RESERVED_PREFIX}")
    _check_imports(module)
    shared = next((m for m in module.memories if m.shared), None)
    if shared is not None:
        raise Unsupported(f"memory form: memory {shared.index} is shared (only unshared 32-bit or 64-bit memories)")
    bounds.check_declared(module)
    _shim_float_outputs(module)
    program = {fn.name for fn in module.funcs if fn.field is not None}
    bounds.cap_growth(module)
    calls = _wrap_calls(module)
    _track_drops(module)
    _track_depth(module, program)
    for fn in module.funcs:
        module.append("export", f'  (export "{fn_export(fn.index)}" (func {fn.name}))')
    for kind, items in (("global", module.globals), ("memory", module.memories), ("table", module.tables)):
        for item in items:
            module.append("export", f'  (export "{key_export(program_key(kind, item.index))}" ({kind} {item.name}))')
    return Observed(assemble(module), calls)


def _check_imports(module: ModuleText) -> None:
    for fn in module.funcs:
        if fn.imported is None:
            continue
        mod, name = fn.imported
        if mod == WASI_MODULE:
            if name not in WASI_IMPORTS:
                raise Unsupported(f"import {mod}.{name}: this WASI function is not supported (the harness's WASI host "
                                  f"provides {', '.join(WASI_IMPORTS)})")
            if fn.sig != WASI_IMPORTS[name]:
                raise Unsupported(f"import {mod}.{name} has type {str(fn.sig) or '[] -> []'}, "
                                  f"expected {WASI_IMPORTS[name]}")
            continue
        if mod != HOST_MODULE or name not in HOST_IMPORTS:
            raise Unsupported(f"import {mod}.{name}: only the host interface ({HOST_MODULE}.{{{','.join(HOST_IMPORTS)}}}) is available")
        if fn.sig != HOST_IMPORTS[name]:
            raise Unsupported(f"import {mod}.{name} has type {str(fn.sig) or '[] -> []'}, expected {HOST_IMPORTS[name]}")


_SHIMMED = {(HOST_MODULE, fn.name): fn for fn in HOST_INTERFACE if fn.shimmed}


def _shim_float_outputs(module: ModuleText) -> None:
    """host.out_fNN(fNN) becomes a defined function passing integer bits to rfz.out_fNN."""
    for fn in list(module.funcs):
        host_function = _SHIMMED.get(fn.imported) if fn.imported else None
        if host_function is None:
            continue
        float_type = host_function.type
        carrier = CARRIER[float_type]
        shim_import = symbol(f"out_{float_type}")
        import_field = next(f for f in module.fields if f.kind == "import" and f" (func {fn.name} " in f.lines[0])
        module.remove_field(import_field)
        if not any(shim_import in line for f in module.fields if f.kind == "import" for line in f.lines):
            module.insert_imports([host_function.prepared.declaration(shim_import)])
        module.append(
            "func",
            f"  (func {fn.name} (type {fn.type})\n    local.get 0\n    {carrier}.reinterpret_{float_type}\n"
            f"    call {shim_import}\n  )",
        )


def _wrap_calls(module: ModuleText) -> tuple[CallSpec, ...]:
    calls: list[CallSpec] = []
    if module.start is not None:
        start = module.func(module.start)
        module.remove_field(next(f for f in module.fields if f.kind == "start"))
        module.append("func", _wrapper_text(START_EXPORT, start.name, start.sig))
        calls.append(CallSpec(START_CALL, START_EXPORT, (), ()))
    exported = module.export_map("func")
    if WASI_START in exported and any(fn.imported and fn.imported[0] == WASI_MODULE for fn in module.funcs):
        exported = {WASI_START: exported[WASI_START]}  # a WASI command: _start is its program
    for number, (name, target) in enumerate(exported.items()):
        fn = module.func(target)
        wrapper = call_export(number)
        module.append("func", _wrapper_text(wrapper, fn.name, fn.sig))
        calls.append(CallSpec(name, wrapper, fn.sig.params, fn.sig.results))
    return tuple(calls)


def _carriers(type_: str) -> list[str]:
    """Host-side types carrying TYPE's bits (refs travel as themselves)."""
    return {"f32": ["i32"], "f64": ["i64"], "v128": ["i64", "i64"]}.get(type_, [type_])


def _load(type_: str, locals_: list[str]) -> list[str]:
    """Instructions rebuilding a TYPE value from its carrier locals."""
    if type_ == "v128":
        return [f"local.get {locals_[0]}", "i64x2.splat", f"local.get {locals_[1]}", "i64x2.replace_lane 1"]
    code = [f"local.get {locals_[0]}"]
    if type_ in CARRIER:
        code.append(f"{type_}.reinterpret_{CARRIER[type_]}")
    return code


def _to_bits(type_: str, push: str) -> list[str]:
    """Instructions turning the TYPE value that PUSH (e.g. `local.get $r0`) pushes into its carrier(s)."""
    if type_ == "v128":
        return [push, "i64x2.extract_lane 0", push, "i64x2.extract_lane 1"]
    code = [push]
    if type_ in CARRIER:
        code.append(f"{CARRIER[type_]}.reinterpret_{type_}")
    return code


def _wrapper_text(export: str, target: str, sig: Signature) -> str:
    params: list[str] = []
    body: list[str] = []
    for i, type_ in enumerate(sig.params):
        if type_ in REF_TYPES:
            body.append(f"ref.null {type_[:-3]}")
            continue
        names = [f"$p{i}_{j}" for j in range(len(_carriers(type_)))]
        params += [f"(param {n} {c})" for n, c in zip(names, _carriers(type_))]
        body += _load(type_, names)
    body.append(f"call {target}")
    locals_ = [f"(local $r{i} {t})" for i, t in enumerate(sig.results)]
    body += [f"local.set $r{i}" for i in reversed(range(len(sig.results)))]
    for i, type_ in enumerate(sig.results):
        body += _to_bits(type_, f"local.get $r{i}")
    results = [c for t in sig.results for c in _carriers(t)]
    head = f'  (func (export "{export}") {" ".join(params)} (result {" ".join(results)})'
    return "\n".join([head, *(f"    {l}" for l in locals_), *(f"    {i}" for i in body), "  )"])


_DEPTH = symbol("depth")


def _depth_step(indent: str, op: str) -> list[str]:
    return [f"{indent}global.get {_DEPTH}", f"{indent}i32.const 1", f"{indent}i32.{op}", f"{indent}global.set {_DEPTH}"]


def _track_depth(module: ModuleText, program: set[str]) -> None:
    """Count the program's call depth in harness global DEPTH_KEY (a liveness probe).

    +1 at each program function's entry, -1 right after each call of a
    program function (and after call_indirect, whose targets are program
    functions unless a table holds a host import).  Net stack effect zero.
    """
    module.append("global", f"  (global {_DEPTH} (mut i32) i32.const 0)")
    module.append("export", f'  (export "{key_export(DEPTH_KEY)}" (global {_DEPTH}))')
    calls = {f"call {name}" for name in program}
    for f in module.fields:
        if f.kind != "func":
            continue
        lines = f.lines
        for i in range(len(lines) - 2, 0, -1):
            text = lines[i].strip()
            if text in calls or text.startswith("call_indirect"):
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
                lines[i + 1:i + 1] = _depth_step(indent, "sub")
        name = re.match(r"^  \(func (\$[^\s)]+)", lines[0])
        if name and name.group(1) in program:
            start = body_start(lines)
            lines[start:start] = _depth_step("    ", "add")


_DROP = re.compile(r"^(\s+)(data|elem)\.drop (\$\S+)$")


def _track_drops(module: ModuleText) -> None:
    """Record every data.drop/elem.drop in a harness global; __rfz.redrop replays them."""
    flags: dict[tuple[str, str], str] = {}
    for fn in module.funcs:
        if fn.field is None:
            continue
        lines = fn.field.lines
        for i in range(len(lines) - 1, 0, -1):
            match = _DROP.match(lines[i])
            if not match:
                continue
            indent, kind, segment = match.groups()
            flag = flags.setdefault((kind, segment), symbol(f"dropped_{kind}_{len(flags)}"))
            lines[i:i + 1] = [f"{indent}i32.const 1", f"{indent}global.set {flag}", lines[i]]
    if not flags:
        return
    redrop = []
    for (kind, segment), flag in flags.items():
        number = segment.rsplit(kind, 1)[-1]
        module.append("global", f"  (global {flag} (mut i32) i32.const 0)")
        module.append("export", f'  (export "{key_export(dropped_key(kind, number))}" (global {flag}))')
        redrop += [f"    global.get {flag}", "    if", f"      {kind}.drop {segment}", "    end"]
    module.append("func", "\n".join([f'  (func (export "{REDROP}")', *redrop, "  )"]))


# ---------------------------------------------------------------------------
# expose


def expose(wasm: bytes, calls: tuple[CallSpec, ...]) -> tuple[bytes, Layout]:
    """Add bulk bit-exact save/load of all globals; export every global, memory and table."""
    module = load_text(wasm)
    keys: dict[tuple[str, str], str] = {}
    for export in module.exports:
        key = export_key(export.field)
        if key is not None:
            keys[(export.kind, export.target)] = key

    def key_of(kind: str, name: str, index: int) -> str:
        return keys.get((kind, name)) or engine_key(kind, index)

    global_slots = []
    offset = 0
    save: list[str] = []
    load: list[str] = []
    for g in module.globals:
        export = item_export("global", g.index)
        module.append("export", f'  (export "{export}" (global {g.name}))')
        slot_offset = -1
        if g.type not in REF_TYPES:
            slot_offset = offset
            offset += WIDTH[g.type]
            store = CARRIER.get(g.type, g.type)  # the integer type carrying its bits (v128 as itself)
            bits = [f"{store}.reinterpret_{g.type}"] if g.type in CARRIER else []
            save += [f"i32.const {slot_offset}", f"global.get {g.name}", *bits, f"{store}.store {_STATE} align=1"]
            if g.mutable:
                load += [f"i32.const {slot_offset}", f"{store}.load {_STATE} align=1"]
                if g.type in CARRIER:
                    load.append(f"{g.type}.reinterpret_{store}")
                load.append(f"global.set {g.name}")
        global_slots.append(Slot(g.index, key_of("global", g.name, g.index), g.type, g.mutable, export,
                                 offset=slot_offset))
    pages = max(1, -(-offset // 65536))
    module.append("memory", f"  (memory {_STATE} {pages} {pages})")
    module.append("export", f'  (export "{STATE_MEMORY}" (memory {_STATE}))')
    for name, body in ((SAVE, save), (LOAD, load)):
        module.append("func", "\n".join([f'  (func (export "{name}")', *(f"    {l}" for l in body), "  )"]))
    memory_slots = []
    for m in module.memories:
        export = item_export("memory", m.index)
        module.append("export", f'  (export "{export}" (memory {m.name}))')
        memory_slots.append(Slot(m.index, key_of("memory", m.name, m.index), MEMORY64 if m.is64 else MEMORY, True,
                                 export, m.maximum))
    table_slots = []
    for t in module.tables:
        export = item_export("table", t.index)
        module.append("export", f'  (export "{export}" (table {t.name}))')
        table_slots.append(Slot(t.index, key_of("table", t.name, t.index), t.type, True, export, t.maximum))
    final = assemble(module)
    exports = frozenset(
        m.group(1) for f in module.fields for m in re.finditer(r'\(export "((?:[^"\\]|\\.)*)"', f.lines[0])
    )
    visible = frozenset(
        keys[(e.kind, e.target)] for e in module.exports
        if not e.field.startswith(RESERVED_PREFIX) and (e.kind, e.target) in keys
    )
    layout = Layout(tuple(global_slots), tuple(memory_slots), tuple(table_slots), calls,
                    REDROP in exports, exports, visible)
    return final, layout


__all__ = ["observe", "expose", "Observed"]
