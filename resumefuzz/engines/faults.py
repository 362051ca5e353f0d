"""Fault-injecting engines: any engine with one planted bug in its restore path.

``--engine faulty:FAULT`` runs the real Asyncify engine but breaks every
restore in one specific, realistic way; ``faulty:FAULT@BASE`` plants the
same bug into the engine ``BASE`` instead (a built-in or a plug-in; options
after the fault are the base's: ``faulty:lose-local@my-engine,buffer-pages=2``
is ``my-engine:buffer-pages=2`` with ``lose-local``).  They exist to prove the
oracle catches each class of bug (a harness that cannot see a broken restore
proves nothing).  Each fault names the facet it must be reported under.

A faulty engine delegates everything to its base and changes only
``restore``, so each fault is written as an external engine would write it: a
doctored snapshot handed to the base's own ``restore``, or a changed step,
through the harness's public restore steps (``Machine.restore_*``), the
base's saved-stack accessors (``saved_stack``/``with_saved_stack``) and the
run context.  What a snapshot holds is the base's.  The transform faults,
``uninstrumented-import`` and ``wrong-list``, can only be planted into a
base whose transform is Binaryen's Asyncify pass (see :func:`inapplicable`).

The flag faults (:data:`FLAG_FAULTS`) are bugs of a module in yield-point mode
``flag`` (:mod:`resumefuzz.yieldpoints`), planted into the module the base's
transform is given, so they apply to every base and leave any other module
alone: ``flag-not-cleared`` (the resume path leaves the flag set: the run
suspends again at the next crossing, a spurious suspension, facet
``suspensions``), ``flag-in-program-memory`` (the flag byte is byte 0 of the
program's memory 0, which the program may write: it suspends with no signal,
or the host's raise and clear write over the program's byte) and
``flag-at-loops-only`` (the yield points after calls are left out: calls never
yield; no divergence can show it, a liveness figure does -- suspensions by
yield-site kind in a thread run's report, and its note) and
``flag-read-non-atomically`` (the poll reads the flag byte with a plain
``i32.load8_u`` instead of ``i32.atomic.load8_u``: a data race no run on one
machine shows reliably, so the checker's audit of the prepared module's flag
accesses, :func:`resumefuzz.abi.flag_audit`, reports it: facet ``flag``).

The host-state faults (:data:`WASI_FAULTS`) are bugs of a host restoring a
WASI program's state: the base restores, then the restored
:class:`~resumefuzz.wasi.host.WasiState` (``machine.runtime.host.wasi``) is
perturbed -- stdout's last line lost, stdout since the previous restore
written again, open files' offsets at 0, the highest opened descriptor
missing, clocks back at their initial values, the random stream back at 0.
Like every fault, one with nothing to perturb (no WASI, nothing written or
opened or read yet) leaves the restore alone.

The restore-elsewhere faults (:data:`ELSEWHERE_FAULTS`) are bugs of a
restoring *process* (``check --restore-in process``, :mod:`resumefuzz.hop`);
in-process they restore correctly.  ``foreign-module``: the restoring process
loads a differently prepared module (the prepared bytes with one more custom
section), which the snapshot's module identity must refuse (a ``hop``
finding).  ``drop-host-across-processes``: the host state the snapshot
carries -- outputs so far, a WASI program's stdout and stderr -- is dropped
on the way into the restoring process.
"""

from __future__ import annotations

import copy
import json
import struct
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from ..errors import BadInput
from ..limits import WASI_MAX_OUTPUT_BYTES
from ..abi import NEVER, START_CALL, START_EXPORT, TARGET_KEY, fn_index, is_call_export
from ..values import Value
from ..wasi import PREOPEN_FD
from ..wasi.host import FILE, initial_clocks
from .. import yieldpoints
from .asyncify import AsyncifyEngine
from .interface import Engine, RunContext

if TYPE_CHECKING:  # pragma: no cover
    from ..abi import Layout
    from ..callgraph import CallGraph
    from ..runtime import Machine
    from ..state import Snapshot
    from ..wasi.host import WasiState

#: the engine a fault is planted into when the spec names no base
DEFAULT_BASE = "asyncify"

#: A fault's restore: (engine, fresh instance, snapshot, run context); ``_restore`` is the correct one.
Restore = Callable[["FaultyEngine", "Machine", "Snapshot", RunContext], None]


def _restore(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """The base engine's own restore."""
    engine.base.restore(machine, snapshot, context)


def _skip_hidden_global(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                        context: RunContext) -> None:
    """Restore every global except the first mutable program global the program does not export."""
    hidden = next((s.index for s in machine.layout.globals
                   if s.origin == "program" and s.mutable and s.key not in machine.layout.visible), None)
    _restore(engine, machine, replace(snapshot, globals=tuple(g for g in snapshot.globals if g.index != hidden)),
             context)


def _quiet_nan(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore, then write every mutable float global again through a Python float and wasmtime-py's
    public ``Global.set_value`` (the realistic bug: a host that restores globals through its embedding
    API quiets signalling NaNs, f32 and f64 alike)."""
    import wasmtime

    _restore(engine, machine, snapshot, context)
    for image in snapshot.globals:
        slot = machine.layout.globals[image.index]
        if slot.type in ("f32", "f64") and slot.mutable:
            assert image.value.bits is not None
            fmt = "<f" if slot.type == "f32" else "<d"
            as_float = struct.unpack(fmt, image.value.bits.to_bytes(struct.calcsize(fmt), "little"))[0]
            val = wasmtime.Val.f32(as_float) if slot.type == "f32" else wasmtime.Val.f64(as_float)
            machine.exports[slot.export].set_value(machine.ctx, val)


def _skip_memory_grow(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                      context: RunContext) -> None:
    """The harness's steps, but memory is written back without first growing it to the saved page count."""
    machine.restore_memories(snapshot.memories, grow=False)
    machine.restore_globals(snapshot.globals)
    machine.restore_tables(snapshot.tables)
    machine.replay_drops()


def _drop_output(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    _restore(engine, machine, snapshot, context)
    host = machine.runtime.host
    if host is not None and host.outputs:
        host.outputs.pop()


def _duplicate_output(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                      context: RunContext) -> None:
    _restore(engine, machine, snapshot, context)
    host = machine.runtime.host
    if host is not None and host.outputs:
        host.outputs.append(host.outputs[-1])


def _restart_input(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    _restore(engine, machine, snapshot, context)
    if machine.runtime.host is not None:
        machine.runtime.host.input_position = 0


def _rerun_start(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore, then run the start function again (as instantiating with a start section would)."""
    _restore(engine, machine, snapshot, context)
    start = next((c for c in machine.layout.calls if c.name == START_CALL), None)
    if start is not None:
        machine.write_global(machine.slot(TARGET_KEY), Value("i64", NEVER))
        machine.invoke(start.wrapper)


def _corrupt_table_entry(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                         context: RunContext) -> None:
    """Restore the first non-null table slot pointing at a different function (null if there is none)."""
    tables = list(snapshot.tables)
    for number, image in enumerate(tables):
        slot_index = next((i for i, entry in enumerate(image.entries) if entry is not None), None)
        if slot_index is not None:
            entry = image.entries[slot_index]
            other = next((e for e in image.entries if e is not None and e != entry), None)
            entries = image.entries[:slot_index] + (other,) + image.entries[slot_index + 1:]
            tables[number] = replace(image, entries=entries)
            break
    _restore(engine, machine, replace(snapshot, tables=tuple(tables)), context)


def _zero_last_byte(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore every program memory without its last byte (an off-by-one copy)."""
    memories = tuple(replace(m, data=m.data[:-1] + b"\0")
                     if machine.layout.memories[m.index].origin == "program" and m.data else m
                     for m in snapshot.memories)
    _restore(engine, machine, replace(snapshot, memories=memories), context)


def _lose_local(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore with one saved word (a local or operand-stack slot) of the saved stack overwritten."""
    stack = engine.saved_stack(snapshot, machine.layout)
    if len(stack) >= 8:
        snapshot = engine.with_saved_stack(snapshot, machine.layout, b"\xa5" * 4 + stack[4:])
    _restore(engine, machine, snapshot, context)


def _truncate_resume_buffer(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                            context: RunContext) -> None:
    """Restore only the first half of the saved stack (the rest reads as zero)."""
    stack = engine.saved_stack(snapshot, machine.layout)
    keep = len(stack) // 2
    snapshot = engine.with_saved_stack(snapshot, machine.layout, stack[:keep] + bytes(len(stack) - keep))
    _restore(engine, machine, snapshot, context)


def _swap_globals(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore two program globals of the same type into each other's place."""
    slots = {s.index: s for s in machine.layout.globals}
    by_type: dict[str, list[int]] = {}
    for image in snapshot.globals:
        slot = slots[image.index]
        if slot.origin == "program" and slot.mutable:
            by_type.setdefault(slot.type, []).append(image.index)
    pair = next((p for p in by_type.values() if len(p) >= 2), None)
    if pair is not None:
        first, second = pair[0], pair[1]
        values = {g.index: g.value for g in snapshot.globals}
        snapshot = replace(snapshot, globals=tuple(
            replace(g, value=values[second] if g.index == first else values[first] if g.index == second
                    else g.value) for g in snapshot.globals))
    _restore(engine, machine, snapshot, context)


def _stale_snapshot(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore the previous snapshot of this run instead of the current one (a stale checkpoint)."""
    stale = context.state.get("previous")
    context.state["previous"] = snapshot
    if stale is not None and stale.host.call_position == snapshot.host.call_position:
        snapshot = stale
    _restore(engine, machine, snapshot, context)


def _truncate_memory64(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                       context: RunContext) -> None:
    """Restore every 64-bit program memory at its initial page count: the saved size is cut to what a
    fresh instance has, so pages grown before the snapshot are lost with their bytes (a restore path
    that handles 64-bit sizes wrongly)."""
    from ..abi import MEMORY64
    from ..state import PAGE_SIZE

    initial = machine.runtime.initial_memories or {}
    memories = tuple(replace(m, pages=len(initial[m.index]) // PAGE_SIZE, data=m.data[:len(initial[m.index])])
                     if machine.layout.memories[m.index].type == MEMORY64
                     and machine.layout.memories[m.index].origin == "program" and m.index in initial else m
                     for m in snapshot.memories)
    _restore(engine, machine, replace(snapshot, memories=memories), context)


def _lose_table_growth(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                       context: RunContext) -> None:
    """Restore every program table at the size a fresh instance has (instantiation's): the slots the
    program grew are lost (a restore that writes tables back in place, never growing them)."""
    layout = machine.layout
    sizes = {s.index: machine.exports[s.export].size(machine.ctx) for s in layout.tables if s.origin == "program"}
    tables = tuple(replace(t, entries=t.entries[:sizes[t.index]]) if t.index in sizes else t
                   for t in snapshot.tables)
    _restore(engine, machine, replace(snapshot, tables=tables), context)


def _forget_drops(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """The harness's steps without replaying segment drops: the fresh instance has every data and
    element segment again (the drop flags themselves are restored, as globals)."""
    machine.restore_memories(snapshot.memories)
    machine.restore_globals(snapshot.globals)
    machine.restore_tables(snapshot.tables)


def _skip_second_memory(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                        context: RunContext) -> None:
    """Restore every memory but the program's second one (a restore that knows only memory 0 and
    the engine's own): that memory keeps what instantiation put there, at its initial size."""
    program = [s.index for s in machine.layout.memories if s.origin == "program"]
    second = program[1] if len(program) > 1 else None
    _restore(engine, machine, replace(snapshot, memories=tuple(m for m in snapshot.memories if m.index != second)),
             context)


def _wasi(machine: "Machine") -> "WasiState | None":
    """The restored WASI host state of MACHINE (None: the program imports no WASI)."""
    host = machine.runtime.host
    return None if host is None else host.wasi


def _lose_stdout_tail(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                      context: RunContext) -> None:
    """Restore, then drop stdout's last line (everything after the newline before it: a host that
    saves only what it has flushed line by line, and loses the line written last)."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    if wasi is not None and wasi.stdout:
        del wasi.stdout[wasi.stdout.rfind(b"\n", 0, len(wasi.stdout) - 1) + 1:]


def _repeat_stdout(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore, then write again what the program wrote to stdout since the previous restore of this
    run (since its start, at the first): a journal of host calls replayed on resume, as Wasmer's
    was until ``--skip-journal-stdio``."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    if wasi is not None:
        mark = context.state.get("stdout_mark", 0)
        room = max(0, WASI_MAX_OUTPUT_BYTES - len(wasi.stdout))  # what a snapshot's WASI state may hold
        wasi.stdout.extend(wasi.stdout[mark:mark + room])
        context.state["stdout_mark"] = len(wasi.stdout)


def _reset_file_offset(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                       context: RunContext) -> None:
    """Restore, then set every open file's offset to 0 (a descriptor table restored by reopening
    each file by path, without seeking it back)."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    if wasi is not None:
        for descriptor in wasi.fds.values():
            if descriptor.kind == FILE:
                descriptor.offset = 0


def _close_descriptor(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                      context: RunContext) -> None:
    """Restore, then drop the highest descriptor the program opened (above the preopened
    directory): a descriptor table restored one entry short."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    opened = [] if wasi is None else [fd for fd in wasi.fds if fd > PREOPEN_FD]
    if wasi is not None and opened:
        del wasi.fds[max(opened)]


def _restart_clock(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore, then set every clock back to its value at the start of the run (a host whose
    virtual clocks are not part of the snapshot: time goes backwards after a resume)."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    if wasi is not None:
        wasi.clocks = initial_clocks(wasi.seed)


def _restart_random(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                    context: RunContext) -> None:
    """Restore, then rewind the seeded random stream to its start (a host that reseeds its
    generator on instantiation: the resumed program reads the same bytes again)."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    if wasi is not None:
        wasi.random_position = 0


def _lose_stderr(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore, then start stderr empty (a host that journals stdout but not stderr: what the program
    wrote to stderr before the snapshot is gone)."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    if wasi is not None and wasi.stderr:
        wasi.stderr = bytearray()


def _lose_environment(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                      context: RunContext) -> None:
    """Restore, then give the program no arguments and no environment variables (a host that rebuilds
    its WASI context from defaults on restore: wasi-libc reads the environment lazily, at the first
    getenv, so a program asking after the resume sees it empty)."""
    _restore(engine, machine, snapshot, context)
    wasi = _wasi(machine)
    if wasi is not None and (wasi.env or wasi.args):
        wasi.env, wasi.args = [], []


def _unwind_path_function(graph: "CallGraph", reaching: frozenset[int]) -> frozenset[int]:
    """``wrong-list``'s omission: one function on the unwind path, deterministically chosen.

    A non-leaf function that can reach the suspending import (it calls another that can), and a
    program function (exported by the harness as ``__rfz.fn.I``), so that leaving it
    uninstrumented breaks a resume: it runs on after its callee unwound, and runs again from its
    start on the rewind (the harness's call wrappers, which hold no state across the call, would
    survive it).  The lowest-indexed one an export's wrapper calls directly (it is on the stack
    whenever that export is suspended), else the lowest-indexed one; none if there is none.
    """
    def program(index: int) -> bool:
        return any(fn_index(e) is not None for e in graph.functions[index].exports)

    candidates = sorted(i for i in reaching if program(i) and graph.callees(i) & reaching)
    entries = {callee for f in graph.functions if any(is_call_export(e) or e == START_EXPORT for e in f.exports)
               for callee in f.calls}
    chosen = next((i for i in candidates if i in entries), candidates[0] if candidates else None)
    return frozenset() if chosen is None else frozenset({chosen})


#: fault name -> (restore procedure, facet the oracle must report)
FAULTS: dict[str, tuple[Restore, str]] = {
    "skip-hidden-global": (_skip_hidden_global, "global"),
    "quiet-nan": (_quiet_nan, "global"),
    "skip-memory-grow": (_skip_memory_grow, "memory"),
    "drop-output": (_drop_output, "output"),
    "duplicate-output": (_duplicate_output, "output"),
    "restart-input": (_restart_input, "output"),
    "rerun-start": (_rerun_start, "output"),
    "corrupt-table-entry": (_corrupt_table_entry, "table"),
    "zero-last-byte": (_zero_last_byte, "memory"),
    "lose-local": (_lose_local, "trap"),
    "truncate-resume-buffer": (_truncate_resume_buffer, "crossings"),
    "swap-globals": (_swap_globals, "global"),
    "stale-snapshot": (_stale_snapshot, "output"),
    "lose-table-growth": (_lose_table_growth, "table"),
    "forget-drops": (_forget_drops, "trap"),
    "skip-second-memory": (_skip_second_memory, "memory"),
    "truncate-memory64": (_truncate_memory64, "memory"),
    # host-state faults: the WASI state (resumefuzz.wasi.host.WasiState) restored wrongly
    "lose-stdout-tail": (_lose_stdout_tail, "stdout"),
    "repeat-stdout": (_repeat_stdout, "stdout"),
    "reset-file-offset": (_reset_file_offset, "files"),
    "close-descriptor": (_close_descriptor, "files"),
    "restart-clock": (_restart_clock, "clock"),
    "restart-random": (_restart_random, "stdout"),
    "lose-stderr": (_lose_stderr, "stderr"),
    "lose-environment": (_lose_environment, "exit"),
    # restore-elsewhere faults (act only when another process restores, see ELSEWHERE_FAULTS)
    "foreign-module": (_restore, "hop"),
    "drop-host-across-processes": (_restore, "output"),
    # a transform fault: the suspending import is not listed, so nothing is instrumented to unwind
    "uninstrumented-import": (_restore, "crossings"),
    # a transform fault: Asyncify's only-list (see the list option) misses one function on the unwind path
    "wrong-list": (_restore, "crossings"),
    # flag faults (yield-point mode flag): planted into the module the transform is given
    "flag-not-cleared": (_restore, "suspensions"),
    "flag-in-program-memory": (_restore, "suspensions"),
    "flag-at-loops-only": (_restore, "liveness"),
    "flag-read-non-atomically": (_restore, "flag"),
}

#: faults of a module in yield-point mode ``flag`` (no-ops in any other module): see the module doc
FLAG_FAULTS = frozenset({"flag-not-cleared", "flag-in-program-memory", "flag-at-loops-only",
                         "flag-read-non-atomically"})


def plant_flag_fault(fault: str, wasm: bytes) -> bytes:
    """WASM (an instrumented module, before the transform) with flag fault FAULT planted; WASM itself when
    it polls no flag (or, for ``flag-in-program-memory``, has no program memory).  The harness's items are
    found by their exports (names do not survive): the flag memory (abi.FLAG_MEMORY), the site global
    (abi.SITE_KEY) and the yield function (the one loading the flag)."""
    from ..abi import FLAG_MEMORY, SITE_KEY, key_export
    from ..instrumentation import assemble, load_text

    module = load_text(wasm)
    flag_name = module.export_map("memory").get(FLAG_MEMORY)
    flag = next((m for m in module.memories if m.name == flag_name), None)
    poll = f"i32.atomic.load8_u {flag_name}"
    function = next((fn for fn in module.funcs if fn.field is not None
                     and any(line.strip() == poll for line in fn.field.lines)), None)
    if flag is None or function is None or function.field is None:
        return wasm
    if fault == "flag-at-loops-only":
        site = f"global.set {module.export_map('global').get(key_export(SITE_KEY))}"
        call = f"call {function.name}"
        for fn in module.funcs:
            if fn.field is None or fn is function:
                continue
            lines = fn.field.lines
            for i in range(len(lines) - 3, 0, -1):  # each yield: i32.const SITE / global.set $site / call $yield
                if lines[i + 1].strip() == site and lines[i + 2].strip() == call \
                        and lines[i - 1].lstrip().startswith(("call ", "call_indirect", "call_ref")):
                    del lines[i:i + 3]
        return assemble(module)
    if fault == "flag-read-non-atomically":  # the poll's load only; the stores stay atomic
        function.field.lines[:] = [line.replace(poll, f"i32.load8_u {flag_name}") for line in function.field.lines]
        return assemble(module)
    if fault == "flag-not-cleared":
        body = yieldpoints.flag_yield_body(flag.name, clear=False)
    else:  # flag-in-program-memory
        memory = next((m for m in module.memories if m.index == 0 and m is not flag), None)
        if memory is None:
            return wasm
        body = yieldpoints.flag_yield_body(memory.name, memory.index_type)
        for field_ in module.fields:  # the host raises the flag where the module reads it
            if field_.kind == "export" and field_.lines[0].startswith(f'  (export "{FLAG_MEMORY}" '):
                field_.lines[0] = f'  (export "{FLAG_MEMORY}" (memory {memory.name}))'
    # the yield function's body again, with the names of this text (the crossing counter and target, suspend)
    names = _yield_names(module, function.field.lines)
    text = yieldpoints.yield_function(body)
    for symbol, name in names.items():
        text = text.replace(symbol, name)
    function.field.lines[:] = [function.field.lines[0], *text.split("\n")[1:]]
    return assemble(module)


def _yield_names(module: Any, lines: list[str]) -> dict[str, str]:
    """The yield function's harness symbols -> their names in the printed text LINES come from."""
    from ..abi import CROSSINGS_KEY, TARGET_KEY, key_export

    globals_ = module.export_map("global")
    suspend = next(line.strip().split()[1] for line in lines if line.strip().startswith("call "))
    return {yieldpoints.symbol("crossings"): globals_[key_export(CROSSINGS_KEY)],
            yieldpoints.symbol("target"): globals_[key_export(TARGET_KEY)],
            yieldpoints.symbol("suspend"): suspend}


#: faults in the WASI host state a restore hands the program (no-ops for programs without WASI)
WASI_FAULTS = frozenset({"lose-stdout-tail", "repeat-stdout", "reset-file-offset", "close-descriptor",
                         "restart-clock", "restart-random", "lose-stderr", "lose-environment"})

#: faults of a restoring process: they act only with ``--restore-in process`` (FaultyEngine.elsewhere_*)
ELSEWHERE_FAULTS = frozenset({"foreign-module", "drop-host-across-processes"})

#: faults planted in the transform rather than in restore: they need Binaryen's Asyncify pass as the transform
TRANSFORM_FAULTS = frozenset({"uninstrumented-import", "wrong-list"})


def inapplicable(fault: str, base: Engine) -> str | None:
    """Why FAULT cannot be planted into BASE, or None when it can.

    A restore fault acts through the public restore steps and the base's
    saved-stack accessors, so it applies to every engine.  A transform fault
    misconfigures Binaryen's Asyncify pass (it names another suspending
    import), so it applies only where the base's transform is that pass
    (``AsyncifyEngine.transform``, inherited unchanged); elsewhere the wrong
    import may change nothing, and a miss would blame the oracle.
    """
    if fault in TRANSFORM_FAULTS and type(base).transform is not AsyncifyEngine.transform:
        return f"{fault} is planted in Binaryen's Asyncify transform, which engine {base.name} does not use"
    return None


def planted(fault: str, spec: str, *, name: str = "faulty") -> str:
    """The spec of the engine SPEC (``BASE[:OPTIONS]``) with FAULT planted: ``faulty:FAULT[@BASE][,OPTIONS]``."""
    base, _, options = spec.partition(":")
    return f"{name}:{fault}" + (f"@{base}" if base != DEFAULT_BASE else "") + (f",{options}" if options else "")


class FaultyEngine(Engine):
    """A base engine (Asyncify unless the spec names another) with one planted fault.

    Everything but ``restore`` (and, for a transform fault, ``transform``) is
    the base's, its options and option space included.
    """

    name = "faulty"

    def __init__(self, fault: str, base: Engine | None = None, *, name: str | None = None) -> None:
        from .registry import get_engine

        label = f"--engine {name or self.name}"
        if fault not in FAULTS:
            raise BadInput(f"{label}: unknown fault {fault!r} (faults: {', '.join(FAULTS)})")
        base = get_engine(DEFAULT_BASE) if base is None else base
        if isinstance(base, FaultyEngine):
            raise BadInput(f"{label}:{fault}@{base.name}: the base engine ({base.spec()}) already has a planted fault")
        reason = inapplicable(fault, base)
        if reason is not None:
            raise BadInput(f"{label}:{fault}@{base.name}: {reason}")
        super().__init__(name=name)  # no options of its own: they are the base's
        self.fault = fault
        self._adopt(base)

    def _adopt(self, base: Engine) -> None:
        self.base = base
        self.config, self.given = base.config, base.given
        self.defaults, self.ranges, self.option_space = base.defaults, base.ranges, base.option_space

    @classmethod
    def from_spec(cls, name: str, options: str) -> "FaultyEngine":
        """``NAME:FAULT[@BASE][,OPTIONS]``: OPTIONS are what ``--engine BASE:OPTIONS`` would take."""
        from .registry import get_engine

        head, comma, rest = options.partition(",")
        fault, at, base = head.partition("@")
        if at and not base:
            raise BadInput(f"--engine {name}:{head}: name the base engine after '@' (e.g. {fault}@asyncify)")
        base = base or DEFAULT_BASE
        return cls(fault, get_engine(f"{base}:{rest}" if comma else base), name=name)

    def reconfigured(self, **options: Any) -> "FaultyEngine":
        engine = copy.copy(self)
        engine._adopt(self.base.reconfigured(**options))
        return engine

    def spec(self) -> str:
        return planted(self.fault, self.base.spec(), name=self.name)

    def config_json(self) -> str:
        """The base's configuration under this engine's name, then the base's name (unless Asyncify) and the fault."""
        config = json.loads(self.base.config_json())
        base = config.pop("engine")
        head = json.dumps({"engine": self.name, **config}, sort_keys=True, separators=(",", ":"))[:-1]
        return head + (f',"base":{json.dumps(base)}' if base != DEFAULT_BASE else "") + f',"fault":"{self.fault}"}}'

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        if self.fault == "uninstrumented-import":  # misconfigured: Asyncify is told of another import
            return self.base.transform(wasm, (suspend_import[0], "not_the_suspending_import"))
        if self.fault == "wrong-list":  # an only-list missing one function the unwind passes through
            assert isinstance(self.base, AsyncifyEngine)  # inapplicable() saw its transform is Asyncify's
            return self.base.transform_listed(wasm, suspend_import, "only", leave_out=_unwind_path_function)
        if self.fault in FLAG_FAULTS:
            return self.base.transform(plant_flag_fault(self.fault, wasm), suspend_import)
        return self.base.transform(wasm, suspend_import)

    def restore(self, machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
        FAULTS[self.fault][0](self, machine, snapshot, context)

    def elsewhere_module(self, wasm: bytes) -> bytes:
        """The prepared module a restoring process loads (resumefuzz.hop): foreign-module's differs."""
        if self.fault != "foreign-module":
            return wasm
        name, payload = b"resumefuzz.prepared-elsewhere", b"\x01"
        body = bytes([len(name)]) + name + payload
        return wasm + b"\x00" + bytes([len(body)]) + body  # one more custom section (sizes < 128: one-byte LEB)

    def elsewhere_snapshot(self, data: bytes) -> bytes:
        """The snapshot bytes as a restoring process receives them: drop-host-across-processes loses
        the host state's outputs and a WASI program's stdout and stderr on the way."""
        if self.fault != "drop-host-across-processes":
            return data
        from .. import snapshot as codec

        snap = codec.decode(data)
        wasi = snap.host.wasi
        if wasi is not None:
            wasi = wasi.copy()
            wasi.stdout, wasi.stderr = bytearray(), bytearray()
        return codec.encode(replace(snap, host=replace(snap.host, outputs=(), wasi=wasi)))

    def private_keys(self, layout: "Layout") -> set[str]:
        return self.base.private_keys(layout)

    def start_suspend(self, machine: "Machine", context: RunContext) -> None:
        self.base.start_suspend(machine, context)

    def finish_suspend(self, machine: "Machine", context: RunContext) -> bytes:
        return self.base.finish_suspend(machine, context)

    def start_resume(self, machine: "Machine", resume: bytes, context: RunContext) -> None:
        self.base.start_resume(machine, resume, context)

    def finish_resume(self, machine: "Machine", context: RunContext) -> None:
        self.base.finish_resume(machine, context)

    def saved_stack(self, snapshot: "Snapshot", layout: "Layout") -> bytes:
        return self.base.saved_stack(snapshot, layout)

    def with_saved_stack(self, snapshot: "Snapshot", layout: "Layout", stack: bytes) -> "Snapshot":
        return self.base.with_saved_stack(snapshot, layout, stack)

    def optimizes(self) -> bool:
        return self.base.optimizes()

    def folds_nans(self) -> bool:
        return self.base.folds_nans()

    @property
    def transform_timeout(self) -> float:
        """An external transform's wall-clock limit is its base's (absent when the base has none)."""
        return self.base.transform_timeout  # type: ignore[attr-defined, no-any-return]

    @transform_timeout.setter
    def transform_timeout(self, seconds: float) -> None:
        self.base.transform_timeout = seconds  # type: ignore[attr-defined]
