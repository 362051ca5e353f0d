"""wasmtime-py execution: a compiled module (Runtime) and its live instances (Machine).

The host side of the harness ABI (:mod:`resumefuzz.abi`): all values cross
the boundary as integer bits, and function references are identified by
their handle (:meth:`resumefuzz.wasmtime_api.Access.func_key`), mapped to the
function's *original* index through the ``__rfz.fn.I`` exports of the same
instance.  Everything beyond wasmtime-py's public API goes through
:mod:`resumefuzz.wasmtime_api`.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Callable

import wasmtime

from . import limits, wasmtime_api
from .abi import (CAPPED, FLAG_KEY, FLAG_MEMORY, FLAG_OFFSET, HOST_INTERFACE, KIND_MEMORY, KIND_TABLE, LOAD, MEMORY64, REDROP,
                  SAVE, STATE_MEMORY, SUSPEND, WASI_IMPORTS, WASI_MODULE, CallSpec, Layout, Slot, fn_export, fn_index,
                  program_key)
from .bounds import capped_message
from .errors import Inconclusive, Unsupported
from .host import HostState
from .limits import MEMORY_CHUNK
from .state import BLOCK_SIZE, PAGE_SIZE, GlobalImage, MemoryImage, TableImage
from .values import WIDTH, Signature, Value

#: trap codes that end a run as a budget, not a divergence (INTERRUPT: the wall-clock budget of a run
#: restored under epoch interruption, see :func:`epoch_deadline`)
EXHAUSTION = ("STACK_OVERFLOW", "OUT_OF_FUEL", "INTERRUPT")


class RestoreError(Exception):
    """A snapshot cannot be written into a fresh instance (e.g. it is smaller)."""


class CapExceeded(Exception):
    """The program asked for more memory or table slots than the harness judges (limits.py).

    Raised by the ``rfz.capped`` host import (see :mod:`resumefuzz.bounds`) or by a
    capture that finds the judged total over a cap; the run ends inconclusive.
    """


#: wasmtime Store limits per instance, the safety net behind the judged caps: no single memory
#: (program or engine) or table can be allocated larger, whatever the module does.
_STORE_MEMORY_BYTES = max(limits.MAX_MEMORY_PAGES, limits.MAX_ENGINE_MEMORY_PAGES) * PAGE_SIZE
_STORE_TABLE_ELEMENTS = limits.MAX_TABLE_ENTRIES


def trap_code(exc: wasmtime.Trap) -> str:
    code = exc.trap_code
    return code.name if code is not None else "UNKNOWN"


def _signed(bits: int, type_: str) -> int:
    width = 8 * WIDTH[type_]
    return bits - (1 << width) if bits >> (width - 1) else bits


def _config(opt_level: str, max_wasm_stack: int | None, canonicalize_nans: bool,
            epoch_interruption: bool = False, consume_fuel: bool = True, parallel_compilation: bool = True,
            simd: bool = True) -> wasmtime.Config:
    """The wasmtime configuration of every run (the compile child builds the same one); EPOCH_INTERRUPTION
    for a run bounded in wall-clock time too (the WASI reference run).  CONSUME_FUEL,
    PARALLEL_COMPILATION and SIMD are changed only by a restore configuration (:mod:`resumefuzz.hop`)."""
    config = wasmtime.Config()
    config.consume_fuel = consume_fuel
    config.epoch_interruption = epoch_interruption
    if not parallel_compilation:
        config.parallel_compilation = False
    if not simd:
        config.wasm_relaxed_simd = False
        config.wasm_simd = False
    config.wasm_memory64 = True  # 64-bit memories (memory64); on by default in wasmtime 50, stated here
    # the flag memory of yield-point mode ``flag`` (abi.FLAG_MEMORY) is shared: threads and shared memories on
    config.wasm_threads = True
    config.shared_memory = True
    config.cranelift_nan_canonicalization = canonicalize_nans
    if max_wasm_stack is not None:
        config.max_wasm_stack = max_wasm_stack
    config.cranelift_opt_level = opt_level
    return config


def compile_module(wasm: bytes, settings: dict[str, Any], what: str = "prepared",
                   timeout: float | None = None) -> tuple[wasmtime.Engine, wasmtime.Module]:
    """(wasmtime engine, module) for WASM under ``_config(**settings)``, compiled within the compile budget.

    Modules under COMPILE_OUT_OF_PROCESS_BYTES compile in-process (campaigns
    compile hundreds per second).  Larger ones compile in a child process
    that is killed, with its process group, after TIMEOUT seconds (default:
    :func:`limits.compile_timeout`), which makes the case inconclusive; the
    child hands back wasmtime's serialized artifact, deserialized here by a
    wasmtime engine of the same configuration.
    """
    wasmtime_engine = wasmtime.Engine(_config(**settings))
    try:
        if len(wasm) < limits.COMPILE_OUT_OF_PROCESS_BYTES:
            return wasmtime_engine, wasmtime.Module(wasmtime_engine, wasm)
        budget = limits.compile_timeout() if timeout is None else timeout
        artifact = _compile_in_child(wasm, settings, what, budget)
        return wasmtime_engine, wasmtime.Module.deserialize(wasmtime_engine, artifact)
    except wasmtime.WasmtimeError as exc:
        raise Unsupported(f"wasmtime cannot compile the {what} module: {_first_line(str(exc))}") from None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "unknown error")[:300]


_CHILD = "from resumefuzz.runtime import _compile_child; _compile_child()"
_EXIT_COMPILE_ERROR = 3


def _compile_in_child(wasm: bytes, settings: dict[str, Any], what: str, timeout: float) -> bytes:
    from .process import run_bounded

    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        code, artifact, error = run_bounded([sys.executable, "-c", _CHILD, json.dumps(settings)], input=wasm,
                                            timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise Inconclusive(f"compiling the {what} module ({len(wasm)} bytes) took longer than {timeout:g} s "
                           f"(COMPILE_TIMEOUT; override with {limits.COMPILE_TIMEOUT_ENV})") from None
    if code == _EXIT_COMPILE_ERROR:
        raise Unsupported(f"wasmtime cannot compile the {what} module: {_first_line(error.decode(errors='replace'))}")
    if code != 0 or not artifact:
        raise Inconclusive(f"compiling the {what} module ({len(wasm)} bytes) in a child process failed "
                           f"(exit {code}): {_first_line(error.decode(errors='replace'))}")
    return artifact


def _compile_child() -> None:
    """Child side of :func:`_compile_in_child`: module bytes on stdin, serialized artifact on stdout."""
    settings = json.loads(sys.argv[1])
    wasmtime_engine = wasmtime.Engine(_config(**settings))
    try:
        module = wasmtime.Module(wasmtime_engine, sys.stdin.buffer.read())
    except wasmtime.WasmtimeError as exc:
        sys.stderr.write(str(exc))
        sys.exit(_EXIT_COMPILE_ERROR)
    sys.stdout.buffer.write(module.serialize())


#: seconds a store of a runtime without fuel (a restore configuration's ``interrupt=epoch``) may run
#: before it traps with INTERRUPT (one epoch tick per second, see _start_epoch_ticker)
EPOCH_BUDGET = 60
_EPOCH_ENGINES: "weakref.WeakSet[wasmtime.Engine]" = weakref.WeakSet()
_ticker: list[threading.Thread] = []


def _start_epoch_ticker() -> None:
    """Once per process: a daemon thread that advances every unmetered engine's epoch each second."""
    if _ticker:
        return

    def tick() -> None:
        while True:
            time.sleep(1.0)
            for engine in list(_EPOCH_ENGINES):
                engine.increment_epoch()

    thread = threading.Thread(target=tick, name="resumefuzz-epoch", daemon=True)
    _ticker.append(thread)
    thread.start()


def _alive(me: "weakref.ref[Runtime]") -> "Runtime":
    runtime = me()
    assert runtime is not None, "host function called after its Runtime was collected"
    return runtime


def _output(me: "weakref.ref[Runtime]", kind: str) -> Callable[[int], None]:
    return lambda bits: _alive(me)._host().output(kind, bits)


def _input(me: "weakref.ref[Runtime]", kind: str) -> Callable[[], int]:
    return lambda: _alive(me)._host().next_input(kind)


def _wasi(me: "weakref.ref[Runtime]", name: str) -> Callable[..., int | None]:
    return lambda caller, *args: _alive(me)._wasi(caller, name, args)


class Runtime:
    """One compiled module, instantiated many times (host functions defined once).

    ``wasmtime_engine`` is the ``wasmtime.Engine`` it is compiled for (not an
    engine under test: those are :class:`resumefuzz.engines.Engine`).
    """

    def __init__(self, wasm: bytes, layout: Layout, *, fuel: int, opt_level: str = "speed",
                 max_wasm_stack: int | None = None, canonicalize_nans: bool = False,
                 what: str = "prepared", compile_timeout: float | None = None,
                 settings: dict[str, Any] | None = None, artifact: bytes | None = None) -> None:
        """SETTINGS: further ``_config`` settings (a restore configuration); ARTIFACT: wasmtime's
        serialized artifact of WASM compiled under the same settings, loaded instead of compiling."""
        settings = {"opt_level": opt_level, "max_wasm_stack": max_wasm_stack, "canonicalize_nans": canonicalize_nans,
                    **(settings or {})}
        #: fuel bounds each instance (else epoch interruption does, in wall-clock time)
        self.metered = settings.get("consume_fuel", True)
        if artifact is not None:
            self.wasmtime_engine = wasmtime.Engine(_config(**settings))
            try:
                self.module = wasmtime.Module.deserialize(self.wasmtime_engine, artifact)
            except wasmtime.WasmtimeError as exc:
                raise Unsupported(f"wasmtime cannot load the serialized {what} module: {_first_line(str(exc))}") \
                    from None
        else:
            self.wasmtime_engine, self.module = compile_module(wasm, settings, what, compile_timeout)
        if settings.get("epoch_interruption") and not self.metered:
            _EPOCH_ENGINES.add(self.wasmtime_engine)
        self.what = what
        self.sha256 = hashlib.sha256(wasm).digest()
        self.layout = layout
        self.fuel = fuel
        self.host: HostState | None = None
        self.machine: Machine | None = None
        self.on_suspend: Callable[[], None] | None = None
        # The host functions reach this Runtime through a weak reference: wasmtime keeps them in native
        # memory (the linker, then self.pre), where Python's collector cannot see a cycle back to
        # self, so a strong one would keep every Runtime, its compiled modules and their memory
        # images alive for the life of the process (a long campaign ran out of mappings).
        me = weakref.ref(self)
        linker = wasmtime.Linker(self.wasmtime_engine)
        for fn in HOST_INTERFACE:  # as the prepared module imports them (float outputs as bits)
            handler = _output(me, fn.type) if fn.direction == "out" else _input(me, fn.type)
            linker.define_func(fn.prepared.module, fn.prepared.name, _func_type(fn.prepared.signature), handler)
        linker.define_func(SUSPEND.module, SUSPEND.name, _func_type(SUSPEND.signature),
                           lambda caller: _alive(me)._suspend(caller), access_caller=True)
        linker.define_func(CAPPED.module, CAPPED.name, _func_type(CAPPED.signature), _capped)
        for name, signature in WASI_IMPORTS.items():  # the harness's own WASI host (resumefuzz.wasi.host)
            linker.define_func(WASI_MODULE, name, _func_type(signature), _wasi(me, name), access_caller=True)
        #: the module imports WASI: its runs carry a WasiState (HostState.wasi)
        self.wasi = any(i.module == WASI_MODULE for i in self.module.imports)
        #: the module polls a flag memory (yield-point mode ``flag``, abi.FLAG_MEMORY)
        self.flagged = FLAG_MEMORY in layout.exports
        #: the memory WASI functions address: the program's memory 0
        self.wasi_memory = next((s.export for s in layout.memories if s.key == program_key("memory", 0)), None)
        self.pre = linker.instantiate_pre(self.module)
        self._kinds: dict[str, tuple[tuple[int, ...], tuple[int, ...]] | None] = {}
        self.state_size = max((s.offset + WIDTH[s.type] for s in layout.globals if s.offset >= 0), default=0)
        #: memories and tables exactly as instantiation leaves them (the same for every fresh
        #: instance), read once: a restore writes only what differs from them.
        self.initial_memories: dict[int, bytes] | None = None
        self.initial_tables: dict[int, tuple[int | None, ...]] | None = None

    def _host(self) -> HostState:
        assert self.host is not None
        return self.host

    def integer_kinds(self, name: str, func: wasmtime.Func, ctx: Any) -> wasmtime_api.Kinds | None:
        """(param kinds, result kinds) of export NAME if all are i32/i64, else None (asked once per module)."""
        if name not in self._kinds:
            self._kinds[name] = wasmtime_api.integer_kinds(func.type(ctx))
        return self._kinds[name]

    def _suspend(self, caller: wasmtime.Caller) -> None:
        assert self.machine is not None and self.on_suspend is not None, "suspend import reached with no handler"
        with self.machine.inside(caller):
            self.on_suspend()

    def _wasi(self, caller: wasmtime.Caller, name: str, args: tuple[int, ...]) -> int | None:
        """WASI function NAME, on the run's WasiState, addressing the program's memory 0."""
        wasi = self._host().wasi
        assert self.machine is not None and wasi is not None, f"WASI import {name} reached with no WASI state"
        with self.machine.inside(caller):
            return wasi.call(name, _GuestMemory(self.machine, self.wasi_memory), args)

    def refuel(self, store: wasmtime.Store) -> None:
        """Give STORE this runtime's budget again: its fuel, or (unmetered) EPOCH_BUDGET seconds."""
        if self.metered:
            store.set_fuel(self.fuel)
        else:
            store.set_epoch_deadline(EPOCH_BUDGET)
            _start_epoch_ticker()

    def instantiate(self, host: HostState) -> "Machine":
        store = wasmtime.Store(self.wasmtime_engine)
        self.refuel(store)
        store.set_limits(memory_size=_STORE_MEMORY_BYTES, table_elements=_STORE_TABLE_ELEMENTS)
        self.host = host
        try:
            instance = self.pre.instantiate(store)
        except wasmtime.Trap:
            raise
        except wasmtime.WasmtimeError as exc:  # an engine-added memory or table over the Store limits
            raise Unsupported(f"cannot instantiate the {self.what} module within the harness's limits "
                              f"(limits.py): {_first_line(str(exc))}") from None
        machine = Machine(self, store, instance)
        if self.initial_memories is None:
            self.initial_memories = {m.index: m.data for m in machine.capture_memories()}
            self.initial_tables = {t.index: t.entries for t in machine.capture_tables()}
        self.machine = machine
        return machine


_VALUE_TYPES = {"i32": wasmtime.ValType.i32, "i64": wasmtime.ValType.i64}


def _func_type(signature: Signature) -> wasmtime.FuncType:
    return wasmtime.FuncType([_VALUE_TYPES[t]() for t in signature.params],
                             [_VALUE_TYPES[t]() for t in signature.results])


def _capped(kind: int, index: int, total: int) -> None:
    raise CapExceeded(capped_message(kind, index, total))


class _GuestMemory:
    """The program's memory 0 as the WASI host sees it (:class:`resumefuzz.wasi.host.GuestMemory`);
    a module without one has a memory of size 0 (every access is EFAULT)."""

    def __init__(self, machine: "Machine", export: str | None) -> None:
        self.machine, self.export = machine, export

    def size(self) -> int:
        if self.export is None:
            return 0
        return int(self.machine.exports[self.export].data_len(self.machine.ctx))

    def read(self, offset: int, length: int) -> bytes:
        assert self.export is not None
        return self.machine.read_memory(self.export, offset, length)

    def write(self, offset: int, data: bytes) -> None:
        assert self.export is not None
        self.machine.write_memory(self.export, offset, data)


class _Inside:
    def __init__(self, machine: "Machine", ctx: Any) -> None:
        self.machine, self.ctx, self.saved = machine, ctx, machine.ctx

    def __enter__(self) -> None:
        self.machine.ctx = self.ctx

    def __exit__(self, *exc: object) -> None:
        self.machine.ctx = self.saved


class Machine:
    """A live Store + Instance of a Runtime's module."""

    def __init__(self, runtime: Runtime, store: wasmtime.Store, instance: wasmtime.Instance) -> None:
        self.runtime = runtime
        self.layout = runtime.layout
        self.store = store
        self._access = wasmtime_api.ACCESS
        self.exports = self._access.exports(store, instance)
        self.ctx: Any = store  # the wasmtime.Caller while inside a host call
        self._func_ids: dict[Hashable, int] | None = None
        self._sizes: dict[str, int] = {}  # memory export -> a size it had (a lower bound: memories only grow)

    def inside(self, caller: wasmtime.Caller) -> _Inside:
        return _Inside(self, caller)

    # -- calls -------------------------------------------------------------
    def invoke(self, name: str, *args: int) -> Any:
        """Call export NAME; like ``Func.__call__``: None, one value, or a list."""
        raw = self._call(name, args)
        return None if not raw else raw[0] if len(raw) == 1 else raw

    def _call(self, name: str, args: tuple[int, ...]) -> list[Any]:
        func = self.exports[name]
        kinds = self.runtime.integer_kinds(name, func, self.ctx)
        if kinds is not None:
            return self._access.call_integers(self.ctx, func, kinds, args)
        raw = func(self.ctx, *args)
        return [] if raw is None else list(raw) if isinstance(raw, list) else [raw]

    def call(self, spec: CallSpec, args: list[Value]) -> tuple[Value, ...]:
        """Call SPEC's wrapper with raw-bit ARGS; return raw-bit results."""
        carriers: list[int] = []
        for value in args:
            if value.type == "v128":
                assert value.bits is not None
                carriers += [_signed(value.bits & (2**64 - 1), "i64"), _signed(value.bits >> 64, "i64")]
            elif value.type in WIDTH:
                assert value.bits is not None
                carriers.append(_signed(value.bits, value.type))
        return tuple(self._values(spec.results, self._call(spec.wrapper, tuple(carriers))))

    def _values(self, types: tuple[str, ...], flat: list[Any]) -> list[Value]:
        out = []
        for type_ in types:
            if type_ == "v128":
                low, high = flat.pop(0), flat.pop(0)
                out.append(Value("v128", (low & (2**64 - 1)) | ((high & (2**64 - 1)) << 64)))
            elif type_ in WIDTH:
                out.append(Value.from_signed(type_, flat.pop(0)))
            else:
                out.append(Value(type_, self.func_id(flat.pop(0)) if type_ == "funcref" else None))
        return out

    # -- function identity ----------------------------------------------------
    def func_id(self, func: Any) -> int | None:
        if not isinstance(func, wasmtime.Func):
            return None
        key = self._access.func_key
        if self._func_ids is None:
            ids: dict[Hashable, int] = {}
            for name in self.layout.exports:
                index = fn_index(name)
                if index is not None:
                    handle = key(self.exports[name])
                    ids[handle] = min(index, ids.get(handle, index))
            self._func_ids = ids
        return self._func_ids[key(func)]

    def merged_functions(self) -> dict[int, int]:
        """Original function index -> the smallest original index whose identity export names the same
        function in this instance (an optimizing transform may have merged several into one)."""
        groups: dict[Hashable, list[int]] = {}
        for name in self.layout.exports:
            index = fn_index(name)
            if index is not None:
                groups.setdefault(self._access.func_key(self.exports[name]), []).append(index)
        return {i: min(group) for group in groups.values() for i in group}

    def func_by_id(self, index: int | None) -> wasmtime.Func | None:
        return None if index is None else self.exports[fn_export(index)]

    # -- memory ---------------------------------------------------------------
    def _base(self, export: str, offset: int, length: int, what: str) -> int:
        """Address of byte OFFSET of memory EXPORT, after checking [OFFSET, OFFSET+LENGTH) lies inside it.

        Memories never shrink, so a size seen once stays a valid bound: wasmtime
        is asked again only for accesses beyond it.
        """
        memory = self.exports[export]
        if offset < 0 or length < 0 or offset + length > self._sizes.get(export, 0):
            size = self._sizes[export] = memory.data_len(self.ctx)
            if offset < 0 or length < 0 or offset + length > size:
                raise RestoreError(f"{what} past the end of memory {export}")
        return ctypes.addressof(memory.data_ptr(self.ctx).contents) + offset

    def read_memory(self, export: str, offset: int, length: int) -> bytes:
        """LENGTH bytes at OFFSET: one copy into the result, through a view (no C length argument
        to overflow at any size)."""
        base = self._base(export, offset, length, "read")
        if length <= MEMORY_CHUNK:
            return ctypes.string_at(base, length)
        return bytes(memoryview((ctypes.c_ubyte * length).from_address(base)))

    def write_memory(self, export: str, offset: int, data: bytes) -> None:
        """Write DATA at OFFSET, at most MEMORY_CHUNK bytes per copy."""
        base = self._base(export, offset, len(data), "write")
        if len(data) <= MEMORY_CHUNK:
            ctypes.memmove(base, data, len(data))
            return
        view = memoryview(data)
        for start in range(0, len(data), MEMORY_CHUNK):
            piece = bytes(view[start:start + MEMORY_CHUNK])
            ctypes.memmove(base + start, piece, len(piece))

    def flag_address(self) -> tuple[int, Any]:
        """(address of the flag byte, the memory object that keeps it alive) of a module in yield-point
        mode ``flag``.  A shared memory (``wasmtime.SharedMemory``) lives as long as that object; any other
        memory exported under the name (a planted fault) only as long as this Store."""
        memory = self.exports[FLAG_MEMORY]
        if isinstance(memory, wasmtime.SharedMemory):
            base = ctypes.addressof(memory.data_ptr().contents)
        else:
            base = ctypes.addressof(memory.data_ptr(self.ctx).contents)
        return base + FLAG_OFFSET, memory

    # -- state -------------------------------------------------------------------
    def _state(self) -> bytes:
        """Every numeric global's bits, stored by the module's own SAVE function (one call)."""
        self.invoke(SAVE)
        return self.read_memory(STATE_MEMORY, 0, self.runtime.state_size)

    @staticmethod
    def _decode(slot: Slot, state: bytes) -> Value:
        return Value(slot.type, int.from_bytes(state[slot.offset:slot.offset + WIDTH[slot.type]], "little"))

    def read_global(self, slot: Slot) -> Value:
        if slot.offset < 0:
            return Value(slot.type, self.func_id(self.exports[slot.export].value(self.ctx)))
        return self._decode(slot, self._state())

    def write_global(self, slot: Slot, value: Value) -> None:
        self.restore_globals((GlobalImage(slot.index, slot.mutable, value),))

    def capture_globals(self) -> tuple[GlobalImage, ...]:
        state = self._state()
        return tuple(GlobalImage(s.index, s.mutable, self._decode(s, state) if s.offset >= 0 else self.read_global(s))
                     for s in self.layout.globals)

    def restore_globals(self, images: "tuple[GlobalImage, ...]") -> None:
        """Write the mutable globals among IMAGES; every other global keeps its value."""
        state = bytearray(self._state())
        for image in images:
            slot = self.layout.globals[image.index]
            if not slot.mutable:
                continue
            if slot.offset < 0:
                self.exports[slot.export].set_value(self.ctx, self.func_by_id(image.value.bits))
                continue
            assert image.value.bits is not None
            width = WIDTH[slot.type]
            state[slot.offset:slot.offset + width] = image.value.bits.to_bytes(width, "little")
        self.write_memory(STATE_MEMORY, 0, bytes(state))
        self.invoke(LOAD)

    def check_bounds(self) -> None:
        """CapExceeded if the program's memories or tables together exceed the judged caps.

        Sizes only, nothing copied: every capture checks this first, so no
        snapshot or observation ever holds more than the caps allow.
        """
        pages = sum(self.program_pages())
        if pages > limits.MAX_MEMORY_PAGES:
            raise CapExceeded(capped_message(KIND_MEMORY, None, pages))
        slots = sum(self.exports[s.export].size(self.ctx) for s in self.layout.tables if s.origin == "program")
        if slots > limits.MAX_TABLE_ENTRIES:
            raise CapExceeded(capped_message(KIND_TABLE, None, slots))

    def capture_memories(self) -> tuple[MemoryImage, ...]:
        self.check_bounds()
        images = []
        for slot in self.layout.memories:
            if slot.key == FLAG_KEY:  # the host's signal, not state (abi: Flag)
                continue
            memory = self.exports[slot.export]
            pages = memory.size(self.ctx)
            images.append(MemoryImage(slot.index, pages, slot.maximum, self.read_memory(slot.export, 0, pages * PAGE_SIZE),
                                      memory_index_type(slot)))
        return tuple(images)

    def program_pages(self) -> list[int]:
        """Current page count of each program memory (no bytes copied)."""
        return [self.exports[s.export].size(self.ctx) for s in self.layout.memories if s.origin == "program"]

    def capture_tables(self) -> tuple[TableImage, ...]:
        self.check_bounds()
        images = []
        for slot in self.layout.tables:
            table = self.exports[slot.export]
            entries = tuple(self.func_id(table.get(self.ctx, i)) for i in range(table.size(self.ctx)))
            images.append(TableImage(slot.index, slot.type, slot.maximum, entries))
        return tuple(images)

    # -- restore steps (Engine.restore composes them; an engine may replace any one) ----------
    def restore_memories(self, images: "tuple[MemoryImage, ...]", *, grow: bool = True) -> None:
        """Write each memory image back, growing the memory to its page count first (unless not GROW:
        then what does not fit is cut off).  Only blocks differing from a fresh instance are written."""
        for image in images:
            self._restore_memory(image, grow)

    def _restore_memory(self, image: MemoryImage, grow: bool) -> None:
        slot = self.layout.memories[image.index]
        if image.index_type != memory_index_type(slot):
            raise RestoreError(f"memory {image.index}: snapshot has a {image.index_type} memory, the module a "
                               f"{memory_index_type(slot)} one")
        memory = self.exports[slot.export]
        current = memory.size(self.ctx)
        if image.pages < current:
            raise RestoreError(f"memory {image.index}: snapshot has {image.pages} pages, fresh instance {current}")
        if grow and image.pages > current:
            memory.grow(self.ctx, image.pages - current)
        size = memory.data_len(self.ctx)
        data = image.data if len(image.data) <= size else image.data[:size]
        assert self.runtime.initial_memories is not None
        # A fresh instance holds its initial image, then zeros where it grew: write only what differs.
        for start, end in differing_blocks(data, self.runtime.initial_memories[image.index]):
            self.write_memory(slot.export, start, data[start:end])

    def restore_tables(self, images: "tuple[TableImage, ...]") -> None:
        """Write each table image back, growing the table first; only slots differing from a fresh
        instance are written."""
        for image in images:
            self._restore_table(image)

    def _restore_table(self, image: TableImage) -> None:
        slot = self.layout.tables[image.index]
        table = self.exports[slot.export]
        current = table.size(self.ctx)
        if len(image.entries) < current:
            raise RestoreError(f"table {image.index}: snapshot has {len(image.entries)} slots, fresh instance {current}")
        if len(image.entries) > current:
            table.grow(self.ctx, len(image.entries) - current, None)
        assert self.runtime.initial_tables is not None
        before = self.runtime.initial_tables[image.index]  # a fresh instance's entries (null where it grew)
        for i, entry in enumerate(image.entries):
            if i >= len(before) or entry != before[i]:
                table.set(self.ctx, i, self.func_by_id(entry))

    def replay_drops(self) -> None:
        """Drop again the data and element segments the program had dropped (harness globals record them;
        run after ``restore_globals``)."""
        if self.layout.has_redrop:
            self.invoke(REDROP)

    def slot(self, key: str) -> Slot:
        return next(s for s in self.layout.globals if s.key == key)


_ZERO_PAGE = bytes(PAGE_SIZE)


def memory_index_type(slot: Slot) -> str:
    """The index type of a memory SLOT: "i64" for a 64-bit memory (Slot.type "memory64"), else "i32"."""
    return "i64" if slot.type == MEMORY64 else "i32"


def differing_blocks(new: bytes, old: bytes) -> list[tuple[int, int]]:
    """[start, end) ranges where NEW differs from OLD, in snapshot blocks; OLD may be shorter
    and counts as zeros beyond its end (a memory grown since instantiation), without a
    zero-extended copy of it being made.

    Equal lengths compare whole at memcmp speed first; then only pages that
    differ are looked at block by block, and adjacent ranges are merged.
    """
    n = len(new)
    if n == len(old) and new == old:
        return []
    common = min(n, len(old))

    def reference(start: int, end: int) -> bytes:
        if end <= common:
            return old[start:end]
        if start >= common:
            return _ZERO_PAGE[:end - start]
        return old[start:common] + _ZERO_PAGE[:end - common]

    runs: list[tuple[int, int]] = []
    for chunk in range(0, n, PAGE_SIZE):
        stop = min(chunk + PAGE_SIZE, n)
        if new[chunk:stop] == reference(chunk, stop):
            continue
        for start in range(chunk, stop, BLOCK_SIZE):
            end = min(start + BLOCK_SIZE, stop)
            if new[start:end] != reference(start, end):
                if runs and runs[-1][1] == start:
                    runs[-1] = (runs[-1][0], end)
                else:
                    runs.append((start, end))
    return runs
