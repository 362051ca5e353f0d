"""Fault-injecting engines: Asyncify with one planted bug in the restore path.

``--engine faulty:FAULT`` runs the real Asyncify engine but breaks every
restore in one specific, realistic way.  They exist to prove the oracle
catches each class of bug (a harness that cannot see a broken restore proves
nothing).  Each fault names the facet it must be reported under.

Each fault is written as an external engine would write it: a doctored
snapshot or a changed step, through the harness's public restore steps
(``Machine.restore_*``), the engine's saved-stack accessors
(``saved_stack``/``with_saved_stack``) and the run context.  What a snapshot
holds is Asyncify's (see ``asyncify.py``).
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from ..errors import BadInput
from ..abi import NEVER, START_CALL, TARGET_KEY
from ..values import Value
from .asyncify import AsyncifyEngine
from .interface import RunContext

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Machine
    from ..state import Snapshot

#: A fault's restore: (engine, fresh instance, snapshot, run context); ``_restore`` is the correct one.
Restore = Callable[["FaultyEngine", "Machine", "Snapshot", RunContext], None]
_restore: Restore = AsyncifyEngine.restore


def _skip_hidden_global(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot",
                        context: RunContext) -> None:
    """Restore every global except the first mutable program global the program does not export."""
    hidden = next((s.index for s in machine.layout.globals
                   if s.origin == "program" and s.mutable and s.key not in machine.layout.visible), None)
    _restore(engine, machine, replace(snapshot, globals=tuple(g for g in snapshot.globals if g.index != hidden)),
             context)


def _quiet_nan(engine: "FaultyEngine", machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
    """Restore float globals through a Python float, as wasmtime-py's Global.set_value does."""
    globals_ = []
    for image in snapshot.globals:
        slot = machine.layout.globals[image.index]
        if slot.type in ("f32", "f64") and slot.mutable:
            assert image.value.bits is not None
            fmt, ctype = ("<f", ctypes.c_float) if slot.type == "f32" else ("<d", ctypes.c_double)
            as_float = struct.unpack(fmt, image.value.bits.to_bytes(struct.calcsize(fmt), "little"))[0]
            image = replace(image, value=Value(slot.type, int.from_bytes(bytes(ctype(as_float)), "little")))
        globals_.append(image)
    _restore(engine, machine, replace(snapshot, globals=tuple(globals_)), context)


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
    # a transform fault: the suspending import is not listed, so nothing is instrumented to unwind
    "uninstrumented-import": (_restore, "crossings"),
}


class FaultyEngine(AsyncifyEngine):
    """Asyncify with one planted restore fault; its options and option space are Asyncify's."""

    name = "faulty"

    def __init__(self, fault: str, *, name: str | None = None, **config: object) -> None:
        if fault not in FAULTS:
            raise BadInput(f"--engine {name or self.name}: unknown fault {fault!r} (faults: {', '.join(FAULTS)})")
        super().__init__(name=name, **config)
        self.fault = fault

    @classmethod
    def from_spec(cls, name: str, options: str) -> "FaultyEngine":
        """``NAME:FAULT[,key=value,...]``."""
        from .registry import parse_options

        fault, _, rest = options.partition(",")
        return cls(fault, name=name, **parse_options(rest))

    def spec(self) -> str:
        inner = super().spec().partition(":")[2]
        return f"{self.name}:{self.fault}" + (f",{inner}" if inner else "")

    def config_json(self) -> str:
        return super().config_json()[:-1] + f',"fault":"{self.fault}"}}'

    def restore(self, machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
        FAULTS[self.fault][0](self, machine, snapshot, context)

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        if self.fault == "uninstrumented-import":  # misconfigured: Asyncify is told of another import
            return super().transform(wasm, (suspend_import[0], "not_the_suspending_import"))
        return super().transform(wasm, suspend_import)
