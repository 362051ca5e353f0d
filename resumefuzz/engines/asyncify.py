"""Binaryen's Asyncify (npm `binaryen`, pinned), driven through the resident worker.

Resume buffer placement: Asyncify runs with ``asyncify-in-secondary-memory``,
so its buffer lives in a linear memory of its own that no program
instruction can address (the program's loads/stores name its own memories
only).  The program therefore cannot clobber the saved stack, and an
overflowing buffer cannot clobber the program: it traps out of bounds of the
private memory instead.  The buffer is ``{i32 current, i32 end}`` at offset
``BUFFER``, data growing up to the end of that memory; an overflow Binaryen
only notices afterwards (Binaryen #3839) is caught by checking ``current <=
end`` after every unwind.

Declared private (excluded from the oracle): exactly the two globals
(``__asyncify_state``, ``__asyncify_data``) and the one memory that the
transform adds.  Anything else the transform adds is compared.

What a snapshot holds: the program's memories, globals and tables, the host
state, and Asyncify's own state: its two globals and its private memory,
whose used part ``[BUFFER + 8, current)`` is the saved stack (every unwound
frame's locals, operand-stack values and call position, in Binaryen's
layout).  The resume data is only the 4-byte address of the buffer header
(``BUFFER``), handed back to ``asyncify_start_rewind``; ``saved_stack`` /
``with_saved_stack`` read and replace the saved stack without anyone else
knowing this layout.
"""

from __future__ import annotations

import re
import struct
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .. import binaryen
from ..errors import EngineDefect, EngineError, Unsupported
from .interface import Engine, RunContext

if TYPE_CHECKING:  # pragma: no cover
    from ..abi import Layout, Slot
    from ..runtime import Machine
    from ..state import Snapshot

BUFFER = 16  # offset of the {current, end} header in the private memory

# Features Binaryen may read and write here: what wasmtime, Binaryen and the
# harness accept together (no compact imports, custom page sizes, GC, EH...).
_FEATURES = {
    "MutableGlobals": 2, "NontrappingFPToInt": 4, "SIMD128": 8, "BulkMemory": 16, "SignExt": 32,
    "TailCall": 128, "ReferenceTypes": 256, "Multivalue": 512, "MultiMemory": 32768,
    "BulkMemoryOpt": 524288, "CallIndirectOverlong": 1048576,
}
FEATURES = sum(_FEATURES.values())


#: Binaryen's own words for a module it cannot read: its binary parser gave up
_PARSE_FAILURE = re.compile(r"pars(?:e|ing)", re.IGNORECASE)
#: ... and for a feature the transform was not given (FEATURES): out of scope, not a defect
_FEATURE_MISSING = re.compile(r"--enable-|feature", re.IGNORECASE)


def rejects_valid(exc: binaryen.BinaryenError) -> bool:
    """Does EXC say Binaryen's front end refused a module (one the harness has validated)?

    Its validator rejecting the input (``rejected``) or its binary parser failing, unless the
    complaint is a feature left out of FEATURES.  A documented Asyncify limitation ("Fatal:
    Asyncify does not support ...", tail calls, reference-typed locals live across a yield) is
    ``fatal`` with other words, and stays Unsupported.
    """
    text = str(exc)
    if _FEATURE_MISSING.search(text):
        return False
    return exc.kind == "rejected" or (exc.kind == "fatal" and bool(_PARSE_FAILURE.search(text)))


class ResumeBufferExhausted(Exception):
    """The unwound stack did not fit the resume buffer (a capacity limit, not a divergence)."""


class AsyncifyEngine(Engine):
    name = "asyncify"
    defaults: dict[str, Any] = {
        "buffer_pages": 16,  # size of the private memory holding the resume buffer
        "optimize_level": 0,  # Binaryen optimize level while running the pass (0-4)
        "shrink_level": 0,  # Binaryen shrink level (0-2)
        "optimize_before": False,  # run Binaryen's default pipeline before --asyncify
        "optimize_after": False,  # ... and/or after it
    }
    ranges = {"buffer_pages": (1, 4096), "optimize_level": (0, 4), "shrink_level": (0, 2)}
    option_space = {
        "optimize_level": (0, 0, 1, 2, 3),
        "shrink_level": (0, 0, 1, 2),
        "optimize_before": (False, False, True),
        "optimize_after": (False, False, True),
        # small buffers are cheap to snapshot (the whole private memory is captured at every
        # suspension) and test the overflow path; 16 pages fit deep stacks
        "buffer_pages": (1, 1, 2, 16),
    }

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        args = {
            "asyncify-imports": f"{suspend_import[0]}.{suspend_import[1]}",
            "asyncify-in-secondary-memory": "1",
            "asyncify-secondary-memory-size": str(self.config["buffer_pages"]),
        }
        try:
            return binaryen.worker().run_passes(
                wasm, ["asyncify"], args, features=FEATURES,
                optimize_level=int(self.config["optimize_level"]),
                shrink_level=int(self.config["shrink_level"]),
                optimize_before=bool(self.config["optimize_before"]),
                optimize_after=bool(self.config["optimize_after"]),
            )
        except binaryen.BinaryenError as exc:
            if exc.kind in ("invalid-output", "died"):  # Binaryen failed on a module it accepted
                raise EngineError(f"engine {self.name}: {exc}") from None
            if rejects_valid(exc):  # the harness validated this module: Binaryen's front end is wrong
                raise EngineDefect(f"engine {self.name} rejects a valid module: Binaryen {exc}",
                                   engine=self.name, detail=str(exc)) from None
            # what Binaryen documents as out of scope (Asyncify limitations, features left off)
            raise Unsupported(f"Binaryen Asyncify cannot transform this module: {exc}") from None

    def optimizes(self) -> bool:
        config = self.config
        return bool(config["optimize_level"] or config["shrink_level"] or config["optimize_before"]
                    or config["optimize_after"])

    def private_keys(self, layout: "Layout") -> set[str]:
        added_globals = [s.key for s in layout.globals if s.origin == "engine"]
        added_memories = [s.key for s in layout.memories if s.origin == "engine"]
        if len(added_globals) != 2 or len(added_memories) != 1:
            return set()  # not the shape Asyncify is known to add: declare nothing private
        return {*added_globals, *added_memories}

    def _buffer(self, machine: "Machine") -> tuple[str, int]:
        """(export of the private memory, the buffer's end: the memory's size)."""
        export = _private_memory(machine.layout).export
        return export, self._buffer_end(machine, export)

    def _buffer_end(self, machine: "Machine", export: str) -> int:
        return int(self.config["buffer_pages"]) * 65536

    def start_suspend(self, machine: "Machine", context: RunContext) -> None:
        export, end = self._buffer(machine)
        machine.write_memory(export, BUFFER, struct.pack("<II", BUFFER + 8, end))
        machine.invoke("asyncify_start_unwind", BUFFER)

    def finish_suspend(self, machine: "Machine", context: RunContext) -> bytes:
        machine.invoke("asyncify_stop_unwind")
        export, end = self._buffer(machine)
        current, stored_end = struct.unpack("<II", machine.read_memory(export, BUFFER, 8))
        if current > stored_end or stored_end != end:
            raise ResumeBufferExhausted(f"Asyncify resume buffer overflowed ({current} > {stored_end})")
        return struct.pack("<I", BUFFER)

    def start_resume(self, machine: "Machine", resume: bytes, context: RunContext) -> None:
        (pointer,) = struct.unpack("<I", resume)
        machine.invoke("asyncify_start_rewind", pointer)

    def finish_resume(self, machine: "Machine", context: RunContext) -> None:
        machine.invoke("asyncify_stop_rewind")

    def saved_stack(self, snapshot: "Snapshot", layout: "Layout") -> bytes:
        """The used part of the buffer in SNAPSHOT's image of the private memory."""
        data, current = self._saved(snapshot, layout)
        return data[BUFFER + 8:current]

    def with_saved_stack(self, snapshot: "Snapshot", layout: "Layout", stack: bytes) -> "Snapshot":
        data, current = self._saved(snapshot, layout)
        if len(stack) != current - (BUFFER + 8):
            raise ValueError(f"saved stack of {current - (BUFFER + 8)} bytes replaced by {len(stack)}")
        index = _private_memory(layout).index
        data = data[:BUFFER + 8] + stack + data[current:]
        return replace(snapshot, memories=tuple(replace(m, data=data) if m.index == index else m
                                                for m in snapshot.memories))

    @staticmethod
    def _saved(snapshot: "Snapshot", layout: "Layout") -> tuple[bytes, int]:
        """(the private memory's bytes, the buffer's current end) in SNAPSHOT."""
        index = _private_memory(layout).index
        data = next(m.data for m in snapshot.memories if m.index == index)
        return data, int.from_bytes(data[BUFFER:BUFFER + 4], "little")


def _private_memory(layout: "Layout") -> "Slot":
    """The memory the transform added (the resume buffer's)."""
    return next(s for s in layout.memories if s.origin == "engine")
