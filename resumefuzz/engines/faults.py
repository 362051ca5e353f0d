"""Fault-injecting engines: Asyncify with one planted bug in the restore path.

``--engine faulty:FAULT`` runs the real Asyncify engine but breaks every
restore in one specific, realistic way.  They exist to prove the oracle
catches each class of bug (a harness that cannot see a broken restore proves
nothing).  Each fault names the facet it must be reported under.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable

import wasmtime

from ..errors import BadInput
from ..instrumentation import START_CALL
from ..values import Value
from ..yieldpoints import NEVER, TARGET_KEY
from .asyncify import AsyncifyEngine

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Machine
    from ..snapshot import Snapshot


def _skip_hidden_global(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore every global except the first mutable program global the program does not export."""
    hidden = next((s.index for s in machine.layout.globals
                   if s.origin == "program" and s.mutable and s.key not in machine.layout.visible), None)
    machine.restore(_without_global(snapshot, hidden))


def _quiet_nan(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore float globals through a Python float, as wasmtime-py's Global.set_value does."""
    machine.restore(snapshot)
    for image in snapshot.globals:
        slot = machine.layout.globals[image.index]
        if slot.type in ("f32", "f64") and slot.mutable:
            assert image.value.bits is not None
            fmt = "<f" if slot.type == "f32" else "<d"
            as_float = struct.unpack(fmt, image.value.bits.to_bytes(struct.calcsize(fmt), "little"))[0]
            val = wasmtime.Val.f32(as_float) if slot.type == "f32" else wasmtime.Val.f64(as_float)
            machine.exports[slot.export].set_value(machine.ctx, val)


def _skip_memory_grow(machine: "Machine", snapshot: "Snapshot") -> None:
    """Write memory back without first growing it to the saved page count."""
    machine.restore(snapshot, grow=False)


def _drop_output(machine: "Machine", snapshot: "Snapshot") -> None:
    machine.restore(snapshot)
    host = machine.runtime.host
    if host is not None and host.outputs:
        host.outputs.pop()


def _duplicate_output(machine: "Machine", snapshot: "Snapshot") -> None:
    machine.restore(snapshot)
    host = machine.runtime.host
    if host is not None and host.outputs:
        host.outputs.append(host.outputs[-1])


def _restart_input(machine: "Machine", snapshot: "Snapshot") -> None:
    machine.restore(snapshot)
    if machine.runtime.host is not None:
        machine.runtime.host.input_position = 0


def _rerun_start(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore, then run the start function again (as instantiating with a start section would)."""
    machine.restore(snapshot)
    start = next((c for c in machine.layout.calls if c.name == START_CALL), None)
    if start is not None:
        machine.write_global(machine.slot(TARGET_KEY), Value("i64", NEVER))
        machine.invoke(start.wrapper)


def _corrupt_table_entry(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore, then point the first non-null table slot at a different function."""
    machine.restore(snapshot)
    for image in snapshot.tables:
        for slot_index, entry in enumerate(image.entries):
            if entry is not None:
                export = machine.layout.tables[image.index].export
                other = next((i for e in image.entries if e is not None and (i := e) != entry), None)
                machine.exports[export].set(machine.ctx, slot_index, machine.func_by_id(other))
                return


def _zero_last_byte(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore, then lose the last byte of every program memory (an off-by-one copy)."""
    machine.restore(snapshot)
    for slot in machine.layout.memories:
        if slot.origin == "program":
            size = machine.exports[slot.export].data_len(machine.ctx)
            if size:
                machine.write_memory(slot.export, size - 1, b"\0")


def _resume_data(machine: "Machine") -> tuple[str, int, int]:
    """(export, start, end) of the saved stack inside Asyncify's private buffer memory."""
    from .asyncify import BUFFER

    slot = next(s for s in machine.layout.memories if s.origin == "engine")
    current = int.from_bytes(machine.read_memory(slot.export, BUFFER, 4), "little")
    return slot.export, BUFFER + 8, current


def _lose_local(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore, then zero one saved word (a local or operand-stack slot) of the resume data."""
    machine.restore(snapshot)
    export, start, end = _resume_data(machine)
    if end - start >= 8:
        machine.write_memory(export, start, b"\xa5" * 4)


def _truncate_resume_buffer(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore, but keep only the first half of the saved stack (the rest reads as zero)."""
    machine.restore(snapshot)
    export, start, end = _resume_data(machine)
    keep = start + (end - start) // 2
    if end > keep:
        machine.write_memory(export, keep, bytes(end - keep))


def _swap_globals(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore two program globals of the same type into each other's place."""
    from dataclasses import replace

    slots = {s.index: s for s in machine.layout.globals}
    by_type: dict[str, list[int]] = {}
    for image in snapshot.globals:
        slot = slots[image.index]
        if slot.origin == "program" and slot.mutable:
            by_type.setdefault(slot.type, []).append(image.index)
    pair = next((p for p in by_type.values() if len(p) >= 2), None)
    if pair is None:
        machine.restore(snapshot)
        return
    first, second = pair[0], pair[1]
    values = {g.index: g.value for g in snapshot.globals}
    swapped = tuple(replace(g, value=values[second] if g.index == first else values[first] if g.index == second
                            else g.value) for g in snapshot.globals)
    machine.restore(replace(snapshot, globals=swapped))


_previous: dict[int, "Snapshot"] = {}


def _stale_snapshot(machine: "Machine", snapshot: "Snapshot") -> None:
    """Restore the previous snapshot of this run instead of the current one (a stale checkpoint)."""
    key = id(machine.runtime)
    stale = _previous.get(key)
    _previous[key] = snapshot
    if stale is not None and stale.host.call_position == snapshot.host.call_position:
        machine.restore(stale)
    else:
        machine.restore(snapshot)


def _without_global(snapshot: "Snapshot", index: int | None) -> "Snapshot":
    from dataclasses import replace

    return replace(snapshot, globals=tuple(g for g in snapshot.globals if g.index != index))


#: fault name -> (restore procedure, facet the oracle must report)
FAULTS: dict[str, tuple[Callable[["Machine", "Snapshot"], None], str]] = {
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
    "uninstrumented-import": (lambda machine, snapshot: machine.restore(snapshot), "crossings"),
}


class FaultyEngine(AsyncifyEngine):
    """Asyncify with one planted restore fault."""

    id = "faulty"

    def __init__(self, fault: str, **config: object) -> None:
        if fault not in FAULTS:
            raise BadInput(f"--engine faulty: unknown fault {fault!r} (faults: {', '.join(FAULTS)})")
        super().__init__(**config)
        self.fault = fault

    @classmethod
    def from_spec(cls, spec: str) -> "FaultyEngine":
        """``FAULT[,key=value,...]`` (the options are Asyncify's)."""
        from . import parse_options

        fault, _, options = spec.partition(",")
        return cls(fault, **parse_options(options))

    def spec(self) -> str:
        inner = super().spec().partition(":")[2]
        return f"faulty:{self.fault}" + (f",{inner}" if inner else "")

    def config_json(self) -> str:
        return super().config_json()[:-1] + f',"fault":"{self.fault}"}}'

    def restore(self, machine: "Machine", snapshot: "Snapshot") -> None:
        FAULTS[self.fault][0](machine, snapshot)

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        if self.fault == "uninstrumented-import":  # misconfigured: Asyncify is told of another import
            return super().transform(wasm, (suspend_import[0], "not_the_suspending_import"))
        return super().transform(wasm, suspend_import)
