"""The state model: what a suspended run consists of, as plain data.

A :class:`Snapshot` holds the complete state of a suspended run (host state,
every global, memory and table, the engine's resume data); the Store and
Instance that produced it are dropped, so nothing is carried over in Python
memory.  :mod:`resumefuzz.snapshot` turns it into bytes and back
(docs/snapshot-format.md); the runtime captures and restores it; the oracle
compares the images of finished runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .values import Value

if TYPE_CHECKING:  # pragma: no cover
    from .wasi.host import WasiState

__all__ = ["BLOCK_SIZE", "PAGE_SIZE", "CallRecord", "Event", "GlobalImage", "HostImage", "MemoryImage", "Snapshot",
           "TableImage"]

PAGE_SIZE = 65536  # a wasm page
#: Memory images are compared, restored and stored in blocks of this size: a restore writes only
#: blocks that differ from a fresh instance, a snapshot stores only blocks with a non-zero byte.
BLOCK_SIZE = 4096


@dataclass(frozen=True, slots=True)
class MemoryImage:
    index: int  # memory index in the module that was run
    pages: int  # current size in 64 KiB pages
    maximum: int | None  # declared maximum in pages, None if unbounded (a 64-bit memory's may exceed 2**32)
    data: bytes  # exactly pages * PAGE_SIZE bytes
    index_type: str = "i32"  # "i64": a 64-bit memory (memory64)


@dataclass(frozen=True, slots=True)
class GlobalImage:
    index: int  # global index in the module that was run
    mutable: bool
    value: Value  # numeric: raw bits; funcref: original function index or None


@dataclass(frozen=True, slots=True)
class TableImage:
    index: int
    type: str  # "funcref" | "externref"
    maximum: int | None
    entries: tuple[int | None, ...]  # original function index per slot, None = null


@dataclass(frozen=True, slots=True)
class Event:
    """One host output event: which ``out_*`` import, with the raw bits it received."""

    value: Value


@dataclass(frozen=True, slots=True)
class CallRecord:
    """The outcome of one call of the driver's call plan."""

    name: str  # export name, or "<start>" for the start function
    trap: str | None  # wasmtime trap code name, None if it returned
    results: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class HostImage:
    outputs: tuple[Event, ...]  # every output event emitted so far
    input_position: int  # how many values of the input stream were consumed
    call_position: int  # index in the call plan of the call in progress
    completed: tuple[CallRecord, ...]  # calls finished before the suspension
    #: a WASI program's host state (descriptors, offsets, files, clocks, random position, output), a
    #: copy owned by the image; None for a program that does not import WASI
    wasi: "WasiState | None" = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    module_sha256: bytes  # 32 bytes: sha256 of the exact module bytes that ran
    engine: str  # engine id, e.g. "asyncify"
    engine_config: str  # canonical JSON of the engine configuration
    host: HostImage
    globals: tuple[GlobalImage, ...]
    memories: tuple[MemoryImage, ...]
    tables: tuple[TableImage, ...]
    resume: bytes  # engine-private resume data (opaque to the harness)
