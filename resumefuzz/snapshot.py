"""The snapshot format (version :data:`FORMAT_VERSION`): a :class:`~resumefuzz.state.Snapshot` as bytes.

See docs/snapshot-format.md for the byte layout; the state it carries is
modelled in :mod:`resumefuzz.state`.  Version 4 added the WASI host state of a
WASI program at the end of section HOST (:class:`resumefuzz.wasi.host.WasiState`,
whose own byte form bounds every count and length by limits.WASI_*); a version 3
snapshot is refused in one line.

Version rule: any change of the encoding bumps :data:`FORMAT_VERSION` (the
decoder accepts exactly its own version, so an old snapshot is refused in one
line instead of misread), and docs/snapshot-format.md and the fuzz seed corpus
(`make snapshot-seeds`) follow.  Every size a snapshot claims is checked
against resumefuzz.limits before anything of that size is allocated.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from typing import TypeVar

from .limits import MAX_SNAPSHOT_MEMORY_PAGES, MAX_TABLE_ENTRIES
from .state import BLOCK_SIZE, PAGE_SIZE, CallRecord, Event, GlobalImage, HostImage, MemoryImage, Snapshot, TableImage
from .values import REF_TYPES, WIDTH, Value
from .wasi.host import WasiState, WasiStateError

__all__ = ["FORMAT_VERSION", "MAGIC", "SnapshotError", "decode", "encode", "nonzero_pages"]


class SnapshotError(ValueError):
    """The bytes are not a valid snapshot of the supported format version (or not one for this module)."""


MAGIC = b"RFZSNAP\0"
#: 4: the HOST section ends with the WASI host state of a WASI program (a flag, then the
#: :meth:`~resumefuzz.wasi.host.WasiState.encode` bytes: descriptors, offsets, files, clocks, random
#: position, stdout/stderr, exit code); 3: each memory records its index type (i32 or i64, memory64) and its page count and maximum as u64
#: (a 64-bit memory's declared maximum may exceed u32); 2: memory stored in 4 KiB blocks (1 stored
#: whole 64 KiB pages)
FORMAT_VERSION = 4

#: The fixed section sequence: every tag exactly once, in this order.
_TAGS = (b"MODL", b"ENGN", b"HOST", b"GLOB", b"MEMS", b"TABL", b"RSUM")

_HEADER = struct.Struct("<8sHHI")  # magic, version, flags, section count
_FRAME = struct.Struct("<4sII")  # tag, payload length, CRC-32 of the payload

#: unpack_from of the fixed-size unsigned little-endian integers (the decoder's hot path)
_UNPACK = {size: struct.Struct(f"<{code}").unpack_from for size, code in ((1, "B"), (2, "H"), (4, "I"), (8, "Q"))}
_PACK = {size: struct.Struct(f"<{code}").pack for size, code in ((1, "B"), (4, "I"), (8, "Q"))}
_NONE_U32 = 0xFFFFFFFF  # "absent": null reference
_NONE_U64 = 0xFFFFFFFFFFFFFFFF  # "absent": unbounded memory maximum
#: a memory's index type -> its code (the value type's) and the most pages such a memory can have:
#: 65536 (4 GiB) for a 32-bit memory, 2**48 for a 64-bit one (the spec's limits; the snapshot's
#: own limit, MAX_SNAPSHOT_MEMORY_PAGES, is far lower and checked as well)
_INDEX_TYPES = {"i32": (0x7F, 65536), "i64": (0x7E, 2**48)}
_CODE_INDEX_TYPE = {code: name for name, (code, _) in _INDEX_TYPES.items()}
_ZERO_PAGE = bytes(PAGE_SIZE)
_BLOCKS_PER_PAGE = PAGE_SIZE // BLOCK_SIZE
_ZERO_BLOCK = bytes(BLOCK_SIZE)

_T = TypeVar("_T")


def _memory_limit_problem(what: str, pages: int, total: int) -> str | None:
    """Why ``pages`` more pages (``total`` in all memories so far) break the snapshot limit, or None."""
    if total <= MAX_SNAPSHOT_MEMORY_PAGES:
        return None
    mib = MAX_SNAPSHOT_MEMORY_PAGES * PAGE_SIZE >> 20
    limit = f"the limit of {MAX_SNAPSHOT_MEMORY_PAGES} pages ({mib} MiB) for all memories of a snapshot"
    if total == pages:
        return f"{what}: {pages} pages exceed {limit}"
    return f"{what}: {pages} pages bring all memories to {total} pages, over {limit}"


def _table_limit_problem(what: str, entries: int, total: int) -> str | None:
    if total <= MAX_TABLE_ENTRIES:
        return None
    limit = f"the limit of {MAX_TABLE_ENTRIES} slots for all tables of a snapshot"
    if total == entries:
        return f"{what}: {entries} slots exceed {limit}"
    return f"{what}: {entries} slots bring all tables to {total} slots, over {limit}"


#: Value type codes: the WebAssembly binary-format type bytes.
_TYPE_CODE = {
    "i32": 0x7F,
    "i64": 0x7E,
    "f32": 0x7D,
    "f64": 0x7C,
    "v128": 0x7B,
    "funcref": 0x70,
    "externref": 0x6F,
}
_CODE_TYPE = {code: name for name, code in _TYPE_CODE.items()}


def _tag_name(tag: bytes) -> str:
    return tag.decode("ascii") if tag.isalnum() else repr(tag)


_FRAME_WHERE = [f"section #{position} {tag.decode()} frame" for position, tag in enumerate(_TAGS)]
_SECTION_WHERE = {tag: f"section {tag.decode()}" for tag in _TAGS}


# -- writing ----------------------------------------------------------------


class _Writer:
    """Accumulates one section payload, validating every field it is given."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._parts: list[bytes] = []

    def error(self, message: str) -> SnapshotError:
        return SnapshotError(f"cannot encode snapshot section {self._where}: {message}")

    def pieces(self) -> list[bytes]:
        return self._parts

    def raw(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def uint(self, n: object, size: int, what: str) -> None:
        if type(n) is not int:  # exactly int: bools and int subclasses are refused
            raise self.error(f"{what} must be an int, got {n!r}")
        if not 0 <= n < 1 << (8 * size):
            raise self.error(f"{what} {n} does not fit in u{8 * size}")
        pack = _PACK.get(size)
        self._parts.append(pack(n) if pack is not None else n.to_bytes(size, "little"))

    def u8(self, n: int, what: str) -> None:
        self.uint(n, 1, what)

    def u32(self, n: int, what: str) -> None:
        self.uint(n, 4, what)

    def u64(self, n: int, what: str) -> None:
        self.uint(n, 8, what)

    def flag(self, b: object, what: str) -> None:
        if not isinstance(b, bool):
            raise self.error(f"{what} must be a bool, got {b!r}")
        self._parts.append(b"\1" if b else b"\0")

    def optional_u32(self, n: int | None, what: str) -> None:
        """u32 where 0xFFFFFFFF means None (so that value itself is not encodable)."""
        if n is None:
            self._parts.append(_NONE_U32.to_bytes(4, "little"))
        elif n == _NONE_U32:
            raise self.error(f"{what} 0xFFFFFFFF is reserved for 'none'")
        else:
            self.u32(n, what)

    def optional_u64(self, n: int | None, what: str) -> None:
        """u64 where 0xFFFFFFFFFFFFFFFF means None (so that value itself is not encodable)."""
        if n is None:
            self._parts.append(_NONE_U64.to_bytes(8, "little"))
        elif n == _NONE_U64:
            raise self.error(f"{what} 0xFFFFFFFFFFFFFFFF is reserved for 'none'")
        else:
            self.u64(n, what)

    def string(self, s: object, what: str) -> None:
        if not isinstance(s, str):
            raise self.error(f"{what} must be a str, got {s!r}")
        try:
            data = s.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise self.error(f"{what} is not encodable as UTF-8: {exc.reason}") from None
        self.u32(len(data), f"{what} length")
        self._parts.append(data)

    def ref(self, type_: str, bits: int | None, what: str) -> None:
        if type_ == "externref" and bits is not None:
            raise self.error(f"{what}: a non-null externref cannot be snapshotted")
        self.optional_u32(bits, f"{what} function index")

    def value(self, v: object, what: str) -> None:
        if not isinstance(v, Value) or v.type not in _TYPE_CODE:
            raise self.error(f"{what} must be a Value, got {v!r}")
        self._parts.append(bytes([_TYPE_CODE[v.type]]))
        if v.type in WIDTH:
            self.uint(v.bits, WIDTH[v.type], f"{what} ({v.type}) bits")
        else:
            self.ref(v.type, v.bits, what)

    def count(self, items: Sequence[object], what: str) -> None:
        self.u32(len(items), f"number of {what}")

    def ascending(self, indices: Sequence[int], what: str) -> None:
        for previous, index in zip(indices, indices[1:]):
            if not index > previous:
                raise self.error(
                    f"{what} not strictly ascending by index ({index} after {previous})"
                )


def _encode_host(w: _Writer, host: HostImage) -> None:
    w.count(host.outputs, "outputs")
    for i, event in enumerate(host.outputs):
        w.value(event.value, f"output #{i}")
    w.u64(host.input_position, "input_position")
    w.u32(host.call_position, "call_position")
    w.count(host.completed, "completed calls")
    for i, call in enumerate(host.completed):
        w.string(call.name, f"call #{i} name")
        w.flag(call.trap is not None, f"call #{i} trap flag")
        if call.trap is not None:
            w.string(call.trap, f"call #{i} trap")
        w.count(call.results, f"call #{i} results")
        for j, result in enumerate(call.results):
            w.value(result, f"call #{i} result #{j}")
    w.flag(host.wasi is not None, "WASI state flag")
    if host.wasi is not None:
        if not isinstance(host.wasi, WasiState):
            raise w.error(f"WASI state must be a WasiState, got {type(host.wasi).__name__}")
        data = host.wasi.encode()
        w.u32(len(data), "WASI state length")
        w.raw(data)


def _encode_globals(w: _Writer, globals_: Sequence[GlobalImage]) -> None:
    w.ascending([g.index for g in globals_], "globals")
    w.count(globals_, "globals")
    for g in globals_:
        w.u32(g.index, "global index")
        w.flag(g.mutable, f"global {g.index} mutable flag")
        w.value(g.value, f"global {g.index} value")


def _encode_memories(w: _Writer, memories: Sequence[MemoryImage]) -> None:
    w.ascending([m.index for m in memories], "memories")
    w.count(memories, "memories")
    total = 0
    for m in memories:
        what = f"memory {m.index}"
        w.u32(m.index, "memory index")
        if m.index_type not in _INDEX_TYPES:
            raise w.error(f"{what}: index type must be i32 or i64, got {m.index_type!r}")
        code, limit = _INDEX_TYPES[m.index_type]
        w.u8(code, f"{what} index type")
        w.u64(m.pages, f"{what} pages")
        if m.pages > limit:
            raise w.error(f"{what}: {m.pages} pages exceeds the limit of {limit} ({m.index_type} memory)")
        total += m.pages
        problem = _memory_limit_problem(what, m.pages, total)
        if problem:
            raise w.error(problem)
        w.optional_u64(m.maximum, f"{what} maximum")
        if not isinstance(m.data, (bytes, bytearray)):
            raise w.error(f"{what}: data must be bytes, got {type(m.data).__name__}")
        if len(m.data) != m.pages * PAGE_SIZE:
            raise w.error(
                f"{what}: data is {len(m.data)} bytes, expected {m.pages} pages * {PAGE_SIZE}"
            )
        # bytes slices compare with memcmp: the all-zero tests run at memory speed, a whole
        # page first (most pages of most memories are untouched), then its blocks.
        data = m.data
        stored = [
            block
            for page in range(m.pages)
            if data[page * PAGE_SIZE : (page + 1) * PAGE_SIZE] != _ZERO_PAGE
            for block in range(page * _BLOCKS_PER_PAGE, (page + 1) * _BLOCKS_PER_PAGE)
            if data[block * BLOCK_SIZE : (block + 1) * BLOCK_SIZE] != _ZERO_BLOCK
        ]
        w.count(stored, f"{what} stored blocks")
        for block in stored:
            w.u32(block, "block index")
            w.raw(data[block * BLOCK_SIZE : (block + 1) * BLOCK_SIZE])


def _encode_tables(w: _Writer, tables: Sequence[TableImage]) -> None:
    w.ascending([t.index for t in tables], "tables")
    w.count(tables, "tables")
    total = 0
    for t in tables:
        what = f"table {t.index}"
        w.u32(t.index, "table index")
        total += len(t.entries)
        problem = _table_limit_problem(what, len(t.entries), total)
        if problem:
            raise w.error(problem)
        if t.type not in REF_TYPES:
            raise w.error(f"{what}: element type must be funcref or externref, got {t.type!r}")
        w.u8(_TYPE_CODE[t.type], f"{what} type")
        w.flag(t.maximum is not None, f"{what} maximum flag")
        if t.maximum is not None:
            w.u32(t.maximum, f"{what} maximum")
        w.count(t.entries, f"{what} entries")
        for i, entry in enumerate(t.entries):
            w.ref(t.type, entry, f"{what} entry {i}")


def _encode_module(w: _Writer, sha256: bytes) -> None:
    if not isinstance(sha256, bytes) or len(sha256) != 32:
        raise w.error(f"module_sha256 must be 32 bytes, got {sha256!r}")
    w.raw(sha256)


def _encode_engine(w: _Writer, snapshot: Snapshot) -> None:
    w.string(snapshot.engine, "engine id")
    w.string(snapshot.engine_config, "engine config")


def _encode_resume(w: _Writer, resume: bytes) -> None:
    if not isinstance(resume, (bytes, bytearray)):
        raise w.error(f"resume must be bytes, got {type(resume).__name__}")
    w.raw(resume)


def encode(snapshot: Snapshot) -> bytes:
    """Serialize ``snapshot`` to its unique (canonical) encoding.

    Raises :class:`SnapshotError` if the snapshot is inconsistent (e.g. memory
    data not ``pages * PAGE_SIZE`` bytes, indices not ascending, a non-null
    externref) or holds a value the format cannot represent.
    """
    s = snapshot
    fillers: dict[bytes, Callable[[_Writer], None]] = {
        b"MODL": lambda w: _encode_module(w, s.module_sha256),
        b"ENGN": lambda w: _encode_engine(w, s),
        b"HOST": lambda w: _encode_host(w, s.host),
        b"GLOB": lambda w: _encode_globals(w, s.globals),
        b"MEMS": lambda w: _encode_memories(w, s.memories),
        b"TABL": lambda w: _encode_tables(w, s.tables),
        b"RSUM": lambda w: _encode_resume(w, s.resume),
    }
    parts = [_HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(_TAGS))]
    for tag in _TAGS:
        w = _Writer(tag.decode())
        fillers[tag](w)
        pieces = w.pieces()  # framed without joining them first: the final join copies memory once
        length = sum(map(len, pieces))
        if length > 0xFFFFFFFF:
            raise w.error(f"payload of {length} bytes does not fit in a u32 length")
        crc = 0
        for piece in pieces:
            crc = zlib.crc32(piece, crc)
        parts.append(_FRAME.pack(tag, length, crc))
        parts += pieces
    return b"".join(parts)


def nonzero_pages(memory: MemoryImage) -> int:
    """How many 64 KiB pages of MEMORY hold a non-zero byte (compared in place, no page copied)."""
    data = memory.data
    return sum(1 for page in range(memory.pages) if not data.startswith(_ZERO_PAGE, page * PAGE_SIZE))


# -- reading ----------------------------------------------------------------


class _Reader:
    """Bounds-checked cursor over ``data[start:end]``; every failure is a SnapshotError.

    Offsets in messages are absolute offsets into the whole snapshot.
    """

    def __init__(
        self, data: memoryview, where: str, start: int = 0, end: int | None = None
    ) -> None:
        self._data = data
        self._pos = start
        self._end = len(data) if end is None else end
        self.where = where

    def error(self, message: str) -> SnapshotError:
        return SnapshotError(f"snapshot {self.where}: {message}")

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def take(self, n: int) -> memoryview:
        pos = self._pos
        if n > self._end - pos:
            raise self._truncated(n)
        self._pos = pos + n
        return self._data[pos : pos + n]

    def _truncated(self, n: int) -> SnapshotError:
        return self.error(f"truncated (needs {n} bytes at offset {self._pos}, has {self.remaining})")

    def uint(self, size: int) -> int:
        unpack = _UNPACK.get(size)
        if unpack is None:
            return int.from_bytes(self.take(size), "little")
        pos = self._pos
        if size > self._end - pos:
            raise self._truncated(size)
        self._pos = pos + size
        return unpack(self._data, pos)[0]

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u32(self) -> int:
        return self.uint(4)

    def u64(self) -> int:
        return self.uint(8)

    def flag(self, what: str) -> bool:
        b = self.u8()
        if b > 1:
            raise self.error(
                f"{what}: bool byte must be 0 or 1, found {b} at offset {self._pos - 1}"
            )
        return b == 1

    def optional_u32(self) -> int | None:
        n = self.u32()
        return None if n == _NONE_U32 else n

    def optional_u64(self) -> int | None:
        n = self.u64()
        return None if n == _NONE_U64 else n

    def count(self, what: str, min_item_size: int) -> int:
        """A u32 item count, checked against the bytes left before anything is built."""
        n = self.u32()
        if n * min_item_size > self.remaining:
            raise self.error(
                f"truncated ({n} {what} need at least {n * min_item_size} bytes"
                f" at offset {self._pos}, has {self.remaining})"
            )
        return n

    def string(self, what: str) -> str:
        raw = self.take(self.u32())
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(f"{what} is not valid UTF-8 ({exc.reason})") from None

    def ref(self, type_: str, what: str) -> int | None:
        bits = self.optional_u32()
        if type_ == "externref" and bits is not None:
            raise self.error(f"{what}: externref must be null (0xFFFFFFFF), found 0x{bits:08x}")
        return bits

    def value(self, what: str) -> Value:
        code = self.u8()
        type_ = _CODE_TYPE.get(code)
        if type_ is None:
            raise self.error(
                f"{what}: unknown value type code 0x{code:02x} at offset {self._pos - 1}"
            )
        bits = self.uint(WIDTH[type_]) if type_ in WIDTH else self.ref(type_, what)
        return Value(type_, bits)

    def ascending(self, index: int, previous: int | None, what: str) -> int:
        if previous is not None and index <= previous:
            raise self.error(f"{what} not strictly ascending by index ({index} after {previous})")
        return index

    def finish(self, message: str) -> None:
        if self.remaining:
            raise self.error(f"{message} ({self.remaining} unread bytes at offset {self._pos})")


_VALUE_MIN = 5  # smallest encoded Value: type byte + u32
_MEMORY_MIN = 4 + 1 + 8 + 8 + 4  # smallest encoded memory: index, index type, pages, maximum, n_stored


def _decode_host(r: _Reader) -> HostImage:
    outputs = tuple(Event(r.value(f"output #{i}")) for i in range(r.count("outputs", _VALUE_MIN)))
    input_position = r.u64()
    call_position = r.u32()
    completed = []
    for i in range(r.count("completed calls", 9)):
        name = r.string(f"call #{i} name")
        trap = r.string(f"call #{i} trap") if r.flag(f"call #{i} trap flag") else None
        n_results = r.count(f"results of call #{i}", _VALUE_MIN)
        results = tuple(r.value(f"call #{i} result #{j}") for j in range(n_results))
        completed.append(CallRecord(name, trap, results))
    wasi = None
    if r.flag("WASI state flag"):
        raw = r.take(r.u32())
        try:
            wasi = WasiState.decode(raw)
        except WasiStateError as exc:
            raise r.error(str(exc)) from None
    return HostImage(outputs, input_position, call_position, tuple(completed), wasi)


def _decode_globals(r: _Reader) -> tuple[GlobalImage, ...]:
    globals_: list[GlobalImage] = []
    previous = None
    for _ in range(r.count("globals", 4 + 1 + _VALUE_MIN)):
        index = previous = r.ascending(r.u32(), previous, "globals")
        mutable = r.flag(f"global {index} mutable flag")
        globals_.append(GlobalImage(index, mutable, r.value(f"global {index} value")))
    return tuple(globals_)


def _decode_memory_data(r: _Reader, what: str, pages: int, pos: int, n_stored: int) -> bytes:
    """The contents of one memory whose N_STORED blocks start at absolute offset POS.

    :func:`_decode_memories` has checked that the blocks are there and that the pages are
    within the limits: no further bounds checks.
    """
    if not n_stored:
        # bytes(n) is calloc'd: the pages of a memory with no stored block cost no RAM until read
        return bytes(pages * PAGE_SIZE)
    blocks = pages * _BLOCKS_PER_PAGE
    view = r._data
    parts: list[bytes] = []  # zero pages and zero blocks are shared objects; join copies each once
    filled = 0  # blocks emitted so far
    previous = None
    for _ in range(n_stored):
        block = _UNPACK[4](view, pos)[0]
        if block >= blocks:
            raise r.error(f"{what}: stored block index {block} >= blocks {blocks}")
        if previous is not None and block <= previous:
            raise r.error(f"{what}: stored blocks not strictly ascending ({block} after {previous})")
        previous = block
        data = bytes(view[pos + 4 : pos + 4 + BLOCK_SIZE])  # bytes, not memoryview: == is then a memcmp
        pos += 4 + BLOCK_SIZE
        if data == _ZERO_BLOCK:
            raise r.error(f"{what}: stored block {block} is all zeros (zero blocks must be omitted)")
        filled = _zeros(parts, filled, block)
        parts.append(data)
        filled += 1
    _zeros(parts, filled, blocks)
    return b"".join(parts)


def _zeros(parts: list[bytes], start: int, end: int) -> int:
    """Append zero blocks START..END-1 to PARTS (whole pages as one part); return END."""
    while start < end:
        if start % _BLOCKS_PER_PAGE == 0 and start + _BLOCKS_PER_PAGE <= end:
            parts.append(_ZERO_PAGE)
            start += _BLOCKS_PER_PAGE
        else:
            parts.append(_ZERO_BLOCK)
            start += 1
    return end


def _decode_memories(r: _Reader) -> tuple[MemoryImage, ...]:
    # Two passes: first every memory's header -- the pages all memories claim together are
    # checked against the limit, and each memory's stored blocks against the bytes present --
    # then the contents.  Nothing of a claimed size is allocated before every claim is checked.
    headers: list[tuple[str, int, int, int | None, int, int, str]] = []
    previous = None
    total = 0
    for _ in range(r.count("memories", _MEMORY_MIN)):
        index = previous = r.ascending(r.u32(), previous, "memories")
        what = f"memory {index}"
        code = r.u8()
        index_type = _CODE_INDEX_TYPE.get(code)
        if index_type is None:
            raise r.error(f"{what}: index type code 0x{code:02x} is not i32 (0x7f) or i64 (0x7e)"
                          f" at offset {r.pos - 1}")
        limit = _INDEX_TYPES[index_type][1]
        pages = r.u64()
        if pages > limit:
            raise r.error(f"{what}: {pages} pages exceeds the limit of {limit} ({index_type} memory)")
        total += pages
        problem = _memory_limit_problem(what, pages, total)
        if problem:
            raise r.error(problem)
        maximum = r.optional_u64()
        n_stored = r.count(f"stored blocks of {what}", 4 + BLOCK_SIZE)
        if n_stored > pages * _BLOCKS_PER_PAGE:
            raise r.error(f"{what}: {n_stored} stored blocks but only {pages * _BLOCKS_PER_PAGE} blocks")
        headers.append((what, index, pages, maximum, r.pos, n_stored, index_type))
        r.take(n_stored * (4 + BLOCK_SIZE))  # a view, not a copy: the blocks are read below
    return tuple(
        MemoryImage(index, pages, maximum, _decode_memory_data(r, what, pages, pos, n_stored), index_type)
        for what, index, pages, maximum, pos, n_stored, index_type in headers
    )


def _decode_tables(r: _Reader) -> tuple[TableImage, ...]:
    tables: list[TableImage] = []
    previous = None
    total = 0
    for _ in range(r.count("tables", 10)):
        index = previous = r.ascending(r.u32(), previous, "tables")
        what = f"table {index}"
        code = r.u8()
        type_ = _CODE_TYPE.get(code)
        if type_ not in REF_TYPES:
            raise r.error(
                f"{what}: element type code 0x{code:02x} is not funcref (0x70) or externref (0x6f)"
            )
        maximum = r.u32() if r.flag(f"{what} maximum flag") else None
        n_entries = r.count(f"entries of {what}", 4)
        total += n_entries
        problem = _table_limit_problem(what, n_entries, total)
        if problem:
            raise r.error(problem)
        entries = tuple(r.ref(type_, f"{what} entry {i}") for i in range(n_entries))
        tables.append(TableImage(index, type_, maximum, entries))
    return tuple(tables)


def _read_frames(data: memoryview) -> list[tuple[bytes, _Reader]]:
    """Check the header, the framing and every CRC; return (tag, payload reader) pairs."""
    if bytes(data[: len(MAGIC)]) != MAGIC[: len(data)]:
        raise SnapshotError(f"not a resumefuzz snapshot (bad magic {bytes(data[: len(MAGIC)])!r})")
    cursor = _Reader(data, "header")
    cursor.take(len(MAGIC))
    version = cursor.u16()
    if version != FORMAT_VERSION:
        raise cursor.error(
            f"unsupported format version {version} (this decoder supports version {FORMAT_VERSION})"
        )
    flags = cursor.u16()
    if flags:
        raise cursor.error(f"flags must be 0, found 0x{flags:04x}")
    n_sections = cursor.u32()  # no pre-check: frames are only built as they are read

    frames: list[tuple[bytes, _Reader]] = []
    for position in range(n_sections):
        cursor.where = _FRAME_WHERE[position] if position < len(_TAGS) else f"section #{position} (extra) frame"
        tag = bytes(cursor.take(4))
        length = cursor.u32()
        crc = cursor.u32()
        start = cursor.pos
        cursor.where = _SECTION_WHERE.get(tag) or f"section {_tag_name(tag)}"
        payload = cursor.take(length)
        actual = zlib.crc32(payload)
        if actual != crc:
            raise cursor.error(f"CRC mismatch (stored 0x{crc:08x}, computed 0x{actual:08x})")
        frames.append((tag, _Reader(data, cursor.where, start, start + length)))
    cursor.where = "framing"
    cursor.finish("trailing bytes after the last section")
    return frames


def _check_sequence(tags: list[bytes]) -> None:
    """Every section of :data:`_TAGS` exactly once, in order, nothing else."""
    if tuple(tags) == _TAGS:
        return
    order = " ".join(t.decode() for t in _TAGS)

    def missing(tag: bytes) -> SnapshotError:
        return SnapshotError(f"snapshot section {tag.decode()}: missing (sections must be {order})")

    for position, tag in enumerate(tags):
        where = f"snapshot section {_tag_name(tag)}"
        if tag not in _TAGS:
            raise SnapshotError(f"{where}: unknown section tag (at position {position})")
        if tag in tags[:position]:
            raise SnapshotError(f"{where}: duplicate section (at position {position})")
        expected = _TAGS[position]
        if tag != expected:
            if expected not in tags:
                raise missing(expected)
            raise SnapshotError(
                f"{where}: out of order at position {position}, expected"
                f" {expected.decode()} (sections must be {order})"
            )
    if len(tags) < len(_TAGS):
        raise missing(_TAGS[len(tags)])


def decode(data: bytes, *, module_sha256: bytes | None = None) -> Snapshot:
    """Parse a snapshot of format version :data:`FORMAT_VERSION`; inverse of :func:`encode`.

    Only the canonical encoding is accepted (``encode(decode(b)) == b`` for every
    accepted ``b``); anything else raises :class:`SnapshotError`.  With
    ``module_sha256``, a snapshot taken from a different module is rejected.
    """
    view = memoryview(data).cast("B")
    frames = _read_frames(view)
    _check_sequence([tag for tag, _ in frames])
    readers = dict(frames)

    def section(tag: bytes, decode_payload: Callable[[_Reader], _T]) -> _T:
        r = readers[tag]
        result = decode_payload(r)
        r.finish("payload not fully consumed")
        return result

    sha = section(b"MODL", lambda r: bytes(r.take(32)))
    if module_sha256 is not None and sha != module_sha256:
        theirs, ours = sha.hex()[:16], bytes(module_sha256).hex()[:16]
        raise SnapshotError(
            "snapshot section MODL: snapshot belongs to another module"
            f" (its module sha256 is {theirs}..., expected {ours}...)"
        )
    engine, engine_config = section(
        b"ENGN", lambda r: (r.string("engine id"), r.string("engine config"))
    )
    return Snapshot(
        module_sha256=sha,
        engine=engine,
        engine_config=engine_config,
        host=section(b"HOST", _decode_host),
        globals=section(b"GLOB", _decode_globals),
        memories=section(b"MEMS", _decode_memories),
        tables=section(b"TABL", _decode_tables),
        resume=section(b"RSUM", lambda r: bytes(r.take(r.remaining))),
    )
