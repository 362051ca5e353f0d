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
