"""Snapshot format (v2): round trips, canonicality, and rejection of every malformed input.

The byte-level helpers here follow docs/snapshot-format.md, not the
implementation, so they also check that the documentation is right.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resumefuzz import snapshot as snapshot_module
from resumefuzz.cli import main
from resumefuzz.limits import MAX_SNAPSHOT_MEMORY_PAGES, MAX_TABLE_ENTRIES
from resumefuzz.snapshot import FORMAT_VERSION, MAGIC, SnapshotError, decode, encode, nonzero_pages
from resumefuzz.state import (
    BLOCK_SIZE,
    PAGE_SIZE,
    CallRecord,
    Event,
    GlobalImage,
    HostImage,
    MemoryImage,
    Snapshot,
    TableImage,
)
from resumefuzz.values import VALUE_TYPES, WIDTH, Value

NONE = 0xFFFFFFFF
NONE64 = 2**64 - 1  # an unbounded memory maximum (u64)
TAGS = [b"MODL", b"ENGN", b"HOST", b"GLOB", b"MEMS", b"TABL", b"RSUM"]
CODES = {
    "i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "v128": 0x7B, "funcref": 0x70, "externref": 0x6F,
}

# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

u32s = st.integers(0, 2**32 - 1)
func_indices = st.none() | st.integers(0, NONE - 1)
SPECIAL_BITS = {
    "f32": [0x7FA00001, 0x7F800001, 0xFFC00000, 0x7F800000, 0x80000000, 0x00000001],
    "f64": [0x7FF0000000000001, 0x7FF8000000000000, 0xFFF0000000000000, 0x8000000000000000],
}


def values(type_: str) -> st.SearchStrategy[Value]:
    if type_ == "funcref":
        bits: st.SearchStrategy[int | None] = func_indices
    elif type_ == "externref":
        bits = st.none()
    else:
        bits = st.integers(0, 2 ** (8 * WIDTH[type_]) - 1)
        if type_ in SPECIAL_BITS:
            bits = st.sampled_from(SPECIAL_BITS[type_]) | bits
    return bits.map(lambda b: Value(type_, b))


any_values = st.sampled_from(VALUE_TYPES).flatmap(values)


def ascending_indices(max_size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(u32s, max_size=max_size, unique=True).map(sorted)


@st.composite
def memory_images(draw: st.DrawFn, index: int) -> MemoryImage:
    pages = draw(st.integers(0, 3))
    data = bytearray(pages * PAGE_SIZE)
    if pages:
        pokes = st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255))
        for offset, byte in draw(st.lists(pokes, max_size=6)):
            data[offset] = byte
    index_type = draw(st.sampled_from(["i32", "i64"]))  # a 64-bit memory's maximum may pass u32
    maximum = draw(st.none() | st.integers(pages, 65536) | st.integers(0, NONE - 1 if index_type == "i32" else NONE64 - 1))
    return MemoryImage(index, pages, maximum, bytes(data), index_type)


@st.composite
def table_images(draw: st.DrawFn, index: int) -> TableImage:
    type_ = draw(st.sampled_from(["funcref", "externref"]))
    entry = func_indices if type_ == "funcref" else st.none()
    maximum = draw(st.none() | u32s)  # table maxima may be 0xFFFFFFFF
    return TableImage(index, type_, maximum, tuple(draw(st.lists(entry, max_size=8))))


call_records = st.builds(
    CallRecord,
    name=st.text(max_size=12),
    trap=st.none() | st.sampled_from(["unreachable", "int_divide_by_zero"]) | st.text(max_size=8),
    results=st.lists(any_values, max_size=3).map(tuple),
)

host_images = st.builds(
    HostImage,
    outputs=st.lists(any_values.map(Event), max_size=6).map(tuple),
    input_position=st.integers(0, 2**64 - 1),
    call_position=u32s,
    completed=st.lists(call_records, max_size=4).map(tuple),
)


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    globals_ = tuple(
        GlobalImage(i, draw(st.booleans()), draw(any_values)) for i in draw(ascending_indices(8))
    )
    memories = tuple(draw(memory_images(i)) for i in draw(ascending_indices(2)))
    tables = tuple(draw(table_images(i)) for i in draw(ascending_indices(3)))
    return Snapshot(
        module_sha256=draw(st.binary(min_size=32, max_size=32)),
        engine=draw(st.text(max_size=12)),
        engine_config=draw(st.text(max_size=40)),
        host=draw(host_images),
        globals=globals_,
        memories=memories,
        tables=tables,
        resume=draw(st.binary(max_size=64)),
    )


# ---------------------------------------------------------------------------
# Byte-level helpers (written from docs/snapshot-format.md)
# ---------------------------------------------------------------------------


def u8(n: int) -> bytes:
    return struct.pack("<B", n)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def string(raw: bytes) -> bytes:
    return u32(len(raw)) + raw


def value(type_: str, bits: int | None) -> bytes:
    if type_ in WIDTH:
        assert bits is not None
        return u8(CODES[type_]) + bits.to_bytes(WIDTH[type_], "little")
    return u8(CODES[type_]) + u32(NONE if bits is None else bits)


def glob(index: int, mutable: int = 1, val: bytes = value("i32", 7)) -> bytes:
    return u32(index) + u8(mutable) + val


def memory(index: int, pages: int, stored: list[tuple[int, bytes]], maximum: int = NONE64, code: int = 0x7F) -> bytes:
    """A MEMS entry: index, index type (0x7f i32, 0x7e i64), pages and maximum as u64, stored blocks."""
    return (u32(index) + u8(code) + u64(pages) + u64(maximum) + u32(len(stored))
            + b"".join(u32(i) + p for i, p in stored))


def table(index: int, code: int = 0x70, max_flag: bytes = b"\0", entries: tuple[int, ...] = ()) -> bytes:
    return u32(index) + u8(code) + max_flag + u32(len(entries)) + b"".join(u32(e) for e in entries)


def host(calls: bytes = b"", n_calls: int = 0) -> bytes:
    return u32(0) + u64(0) + u32(0) + u32(n_calls) + calls + b"\0"  # no WASI state


def split(data: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, payload) of every section of a well-formed snapshot."""
    assert data[:8] == MAGIC
    (count,) = struct.unpack_from("<I", data, 12)
    pos, sections = 16, []
    for _ in range(count):
        tag, length, crc = struct.unpack_from("<4sII", data, pos)
        payload = data[pos + 12 : pos + 12 + length]
        assert zlib.crc32(payload) == crc
        sections.append((tag, payload))
        pos += 12 + length
    assert pos == len(data)
    return sections


def assemble(
    sections: list[tuple[bytes, bytes]],
    *,
    magic: bytes = MAGIC,
    version: int = FORMAT_VERSION,
    flags: int = 0,
    count: int | None = None,
) -> bytes:
    """Frame sections with correct lengths and CRCs."""
    out = magic + struct.pack("<HHI", version, flags, len(sections) if count is None else count)
    for tag, payload in sections:
        out += struct.pack("<4sII", tag, len(payload), zlib.crc32(payload)) + payload
    return out


def block(fill: int = 0xAB) -> bytes:
    return bytes([fill]) * BLOCK_SIZE


def one_byte_page(offset: int = 100) -> bytes:
    return bytes(offset) + b"\x01" + bytes(PAGE_SIZE - offset - 1)


BASE = Snapshot(
    module_sha256=hashlib.sha256(b"module").digest(),
    engine="asyncify",
    engine_config='{"stack":1024}',
    host=HostImage(
        outputs=(Event(Value("f32", 0x7FA00001)), Event(Value("funcref", None))),
        input_position=3,
        call_position=1,
        completed=(CallRecord("<start>", None, ()), CallRecord("run", "unreachable", (Value("i64", 1),))),
    ),
    globals=(
        GlobalImage(0, True, Value("f64", 0x7FF0000000000001)),
        GlobalImage(4, False, Value("v128", 1 << 127)),
    ),
    memories=(MemoryImage(0, 2, None, bytes(PAGE_SIZE) + one_byte_page()),),
    tables=(TableImage(0, "funcref", 8, (None, 2)), TableImage(1, "externref", None, (None,))),
    resume=b"\x01\x02resume",
)
BASE_BYTES = encode(BASE)


def with_section(tag: bytes, payload: bytes) -> bytes:
    return assemble([(t, payload if t == tag else p) for t, p in split(BASE_BYTES)])


def rejects_or_canonical(data: bytes) -> None:
    """Malformed input raises SnapshotError; anything accepted re-encodes to itself."""
    try:
        snapshot = decode(data)
    except SnapshotError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    assert encode(snapshot) == data


def expect_error(data: bytes, *fragments: str, **kwargs: bytes) -> str:
    with pytest.raises(SnapshotError) as info:
        decode(data, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------
# Round trips and properties
# ---------------------------------------------------------------------------


def test_documented_layout() -> None:
    sections = split(BASE_BYTES)
    assert [t for t, _ in sections] == TAGS
    assert BASE_BYTES[8:12] == struct.pack("<HH", FORMAT_VERSION, 0)
    modl, engn, _, glob_, mems, tabl, rsum = (p for _, p in sections)
    assert modl == BASE.module_sha256
    assert engn == string(b"asyncify") + string(b'{"stack":1024}')
    assert glob_ == (
        u32(2) + glob(0, 1, value("f64", 0x7FF0000000000001)) + glob(4, 0, value("v128", 1 << 127))
    )
    assert mems == u32(1) + memory(0, 2, [(16, one_byte_page()[:BLOCK_SIZE])])  # page 1, its first block
    assert tabl == u32(2) + table(0, 0x70, b"\1" + u32(8), (NONE, 2)) + table(1, 0x6F, b"\0", (NONE,))
    assert rsum == BASE.resume


def test_documented_example() -> None:
    example = Snapshot(bytes(range(32)), "asyncify", "{}", HostImage((), 0, 0, ()),
                       (GlobalImage(0, True, Value("i32", 42)),), (), (), b"")
    data = encode(example)
    assert len(data) == 193
    assert data[0x10:0x1C].hex() == "4d4f444c200000008a7e2691"
    assert data[0x87:0x95] == u32(1) + glob(0, 1, value("i32", 42))
    assert decode(data) == example


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_round_trip(snapshot: Snapshot) -> None:
    data = encode(snapshot)
    decoded = decode(data, module_sha256=snapshot.module_sha256)
    assert decoded == snapshot
    assert encode(decoded) == data
    assert all(isinstance(m.data, bytes) for m in decoded.memories)


@settings(max_examples=100, deadline=None)
@given(snapshots(), st.data())
def test_single_byte_flip_is_rejected(snapshot: Snapshot, data: st.DataObject) -> None:
    encoded = bytearray(encode(snapshot))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] ^= data.draw(st.integers(1, 255))
    rejects_or_canonical(bytes(encoded))


@settings(max_examples=100, deadline=None)
@given(snapshots(), st.data())
def test_truncation_is_rejected(snapshot: Snapshot, data: st.DataObject) -> None:
    encoded = encode(snapshot)
    length = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(SnapshotError):
        decode(encoded[:length])


@settings(max_examples=100, deadline=None)
@given(snapshots(), st.binary(min_size=1, max_size=16))
def test_trailing_bytes_are_rejected(snapshot: Snapshot, extra: bytes) -> None:
    expect_error(encode(snapshot) + extra, "trailing bytes after the last section")


@settings(max_examples=100, deadline=None)
@given(snapshots(), st.data())
def test_payload_mutation_with_valid_crc(snapshot: Snapshot, data: st.DataObject) -> None:
    """Mutations that get past the CRC reach the parsers: still only SnapshotError."""
    sections = split(encode(snapshot))
    index = data.draw(st.integers(0, len(sections) - 1))
    tag, payload = sections[index]
    mutated = bytearray(payload)
    action = data.draw(st.sampled_from(["flip", "cut", "grow"]))
    if action == "flip" and mutated:
        mutated[data.draw(st.integers(0, len(mutated) - 1))] ^= data.draw(st.integers(1, 255))
    elif action == "cut" and mutated:
        del mutated[data.draw(st.integers(0, len(mutated) - 1)) :]
    else:
        at = data.draw(st.integers(0, len(mutated)))
        mutated[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    sections[index] = (tag, bytes(mutated))
    rejects_or_canonical(assemble(sections))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_is_rejected(garbage: bytes) -> None:
    rejects_or_canonical(garbage)
    rejects_or_canonical(MAGIC + garbage)
    rejects_or_canonical(BASE_BYTES[:16] + garbage)


# ---------------------------------------------------------------------------
# Sparse memory
# ---------------------------------------------------------------------------


def memory_snapshot(data: bytes) -> Snapshot:
    pages = len(data) // PAGE_SIZE
    return dataclasses.replace(BASE, memories=(MemoryImage(0, pages, None, data),))


def test_zero_memory_is_tiny() -> None:
    data = encode(memory_snapshot(bytes(256 * PAGE_SIZE)))
    assert len(data) < 1024
    assert decode(data).memories[0].data == bytes(256 * PAGE_SIZE)


def test_only_nonzero_blocks_are_stored() -> None:
    memory_data = bytearray(256 * PAGE_SIZE)
    memory_data[7 * PAGE_SIZE + 5] = 1
    memory_data[-1] = 2
    data = encode(memory_snapshot(bytes(memory_data)))
    assert len(data) < 2 * (BLOCK_SIZE + 4) + 1024
    assert decode(data).memories[0].data == memory_data


# ---------------------------------------------------------------------------
# Rejections: one case per class of malformed input
# ---------------------------------------------------------------------------

SECTIONS = split(BASE_BYTES)


def without(tag: bytes) -> list[tuple[bytes, bytes]]:
    return [s for s in SECTIONS if s[0] != tag]


def swapped(i: int, j: int) -> list[tuple[bytes, bytes]]:
    sections = list(SECTIONS)
    sections[i], sections[j] = sections[j], sections[i]
    return sections


def corrupt_crc(tag: bytes) -> bytes:
    data = bytearray(BASE_BYTES)
    pos = 16
    for t, payload in SECTIONS:
        if t == tag:
            data[pos + 8] ^= 0xFF
        pos += 12 + len(payload)
    return bytes(data)


def first_payload(tag: bytes) -> bytes:
    return dict(SECTIONS)[tag]


REJECTIONS: dict[str, tuple[Callable[[], bytes], tuple[str, ...]]] = {
    # header
    "bad magic": (lambda: b"NOTSNAP\0" + BASE_BYTES[8:], ("not a resumefuzz snapshot",)),
    "empty": (lambda: b"", ("header", "truncated")),
    "text file": (lambda: b"hello world, this is not a snapshot", ("not a resumefuzz snapshot",)),
    "version 1 (whole pages)": (lambda: assemble(SECTIONS, version=1), ("header", "version 1", "supports version 4")),
    "version 2 (32-bit memory sizes)": (lambda: assemble(SECTIONS, version=2),
                                        ("header", "version 2", "supports version 4")),
    "version 3 (no WASI state)": (lambda: assemble(SECTIONS, version=3),
                                  ("header", "version 3", "supports version 4")),
    "version 5": (lambda: assemble(SECTIONS, version=5), ("header", "version 5", "supports version 4")),
    "version 0": (lambda: assemble(SECTIONS, version=0), ("version 0", "supports version 4")),
    "nonzero flags": (lambda: assemble(SECTIONS, flags=1), ("header", "flags must be 0")),
    "truncated header": (lambda: BASE_BYTES[:13], ("header", "truncated")),
    "huge section count": (lambda: assemble(SECTIONS, count=NONE), ("section #7 (extra) frame", "truncated")),
    # framing and sequence
    "truncated frame": (lambda: BASE_BYTES[:20], ("section #0 MODL frame", "truncated")),
    "truncated payload": (lambda: BASE_BYTES[:40], ("section MODL", "truncated")),
    "huge frame length": (
        lambda: BASE_BYTES[:20] + u32(NONE) + BASE_BYTES[24:],
        ("section MODL", "truncated (needs 4294967295 bytes"),
    ),
    "wrong crc": (lambda: corrupt_crc(b"GLOB"), ("section GLOB", "CRC mismatch")),
    "unknown tag": (
        lambda: assemble([(b"XTRA" if t == b"GLOB" else t, p) for t, p in SECTIONS]),
        ("section XTRA", "unknown section tag"),
    ),
    "binary tag": (
        lambda: assemble([(b"\0\xff\0\1" if t == b"GLOB" else t, p) for t, p in SECTIONS]),
        ("unknown section tag",),
    ),
    "extra section": (lambda: assemble(SECTIONS + [(b"XTRA", b"")]), ("section XTRA", "unknown section tag")),
    "out of order": (lambda: assemble(swapped(2, 3)), ("section GLOB", "out of order", "expected HOST")),
    "duplicate": (
        lambda: assemble(SECTIONS[:4] + [SECTIONS[3]] + SECTIONS[4:]),
        ("section GLOB", "duplicate section"),
    ),
    "duplicate at end": (lambda: assemble(SECTIONS + [SECTIONS[0]]), ("section MODL", "duplicate section")),
    "missing middle": (lambda: assemble(without(b"TABL")), ("section TABL", "missing")),
    "missing last": (lambda: assemble(without(b"RSUM")), ("section RSUM", "missing")),
    "no sections": (lambda: assemble([]), ("section MODL", "missing")),
    "count too small": (lambda: assemble(SECTIONS, count=6), ("framing", "trailing bytes")),
    "count too large": (lambda: assemble(SECTIONS, count=8), ("section #7", "truncated")),
    "trailing bytes": (lambda: BASE_BYTES + b"\0", ("trailing bytes after the last section",)),
    # payload consumption
    "payload not consumed": (
        lambda: with_section(b"GLOB", first_payload(b"GLOB") + b"\0"),
        ("section GLOB", "payload not fully consumed"),
    ),
    "payload over-read": (
        lambda: with_section(b"GLOB", first_payload(b"GLOB")[:-1]),
        ("section GLOB", "truncated (needs 16 bytes at offset"),
    ),
    "short MODL": (lambda: with_section(b"MODL", bytes(31)), ("section MODL", "truncated")),
    "long MODL": (lambda: with_section(b"MODL", bytes(33)), ("section MODL", "not fully consumed")),
    "huge string length": (lambda: with_section(b"ENGN", u32(0xFFFFFFF0) + b"x"), ("section ENGN", "truncated")),
    "huge global count": (lambda: with_section(b"GLOB", u32(NONE)), ("section GLOB", "truncated", "globals")),
    "huge output count": (lambda: with_section(b"HOST", u32(NONE - 1) + bytes(20)), ("section HOST", "outputs")),
    "huge entry count": (
        lambda: with_section(b"TABL", u32(1) + table(0)[:-4] + u32(NONE)),
        ("section TABL", "entries of table 0"),
    ),
    # strings
    "invalid utf-8": (
        lambda: with_section(b"ENGN", string(b"\xff") + string(b"")),
        ("section ENGN", "engine id", "UTF-8"),
    ),
    "overlong utf-8": (
        lambda: with_section(b"ENGN", string(b"a") + string(b"\xc0\x80")),
        ("section ENGN", "engine config", "UTF-8"),
    ),
    "surrogate utf-8": (lambda: with_section(b"ENGN", string(b"\xed\xa0\x80") + string(b"")), ("UTF-8",)),
    "invalid utf-8 call name": (
        lambda: with_section(b"HOST", host(string(b"\x80") + b"\0" + u32(0), 1)),
        ("section HOST", "call #0 name", "UTF-8"),
    ),
    # bools
    "trap flag 2": (
        lambda: with_section(b"HOST", host(string(b"f") + b"\2" + u32(0), 1)),
        ("section HOST", "call #0 trap flag", "0 or 1, found 2"),
    ),
    "mutable flag 255": (
        lambda: with_section(b"GLOB", u32(1) + glob(0, mutable=255)),
        ("section GLOB", "mutable flag", "0 or 1, found 255"),
    ),
    "table maximum flag 2": (
        lambda: with_section(b"TABL", u32(1) + table(0, max_flag=b"\2")),
        ("section TABL", "maximum flag", "0 or 1"),
    ),
    # values
    "unknown value type": (
        lambda: with_section(b"GLOB", u32(1) + glob(0, val=b"\x40" + u32(0))),
        ("section GLOB", "unknown value type code 0x40"),
    ),
    "non-null externref global": (
        lambda: with_section(b"GLOB", u32(1) + glob(0, val=u8(0x6F) + u32(7))),
        ("section GLOB", "externref must be null"),
    ),
    "non-null externref output": (
        lambda: with_section(b"HOST", u32(1) + u8(0x6F) + u32(0) + host()[4:]),
        ("section HOST", "output #0", "externref must be null"),
    ),
    "non-null externref entry": (
        lambda: with_section(b"TABL", u32(1) + table(0, code=0x6F, entries=(NONE, 3))),
        ("section TABL", "entry 1", "externref must be null"),
    ),
    "bad table type": (
        lambda: with_section(b"TABL", u32(1) + table(0, code=0x7F)),
        ("section TABL", "element type code 0x7f"),
    ),
    # index order
    "globals descending": (
        lambda: with_section(b"GLOB", u32(2) + glob(5) + glob(3)),
        ("section GLOB", "not strictly ascending", "3 after 5"),
    ),
    "globals duplicate index": (
        lambda: with_section(b"GLOB", u32(2) + glob(5) + glob(5)),
        ("section GLOB", "not strictly ascending", "5 after 5"),
    ),
    "memories descending": (
        lambda: with_section(b"MEMS", u32(2) + memory(1, 0, []) + memory(0, 0, [])),
        ("section MEMS", "memories not strictly ascending"),
    ),
    "tables descending": (
        lambda: with_section(b"TABL", u32(2) + table(2) + table(1)),
        ("section TABL", "tables not strictly ascending"),
    ),
    # memory blocks
    "blocks out of order": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 2, [(1, block()), (0, block())])),
        ("section MEMS", "memory 0", "stored blocks not strictly ascending"),
    ),
    "block duplicated": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 2, [(0, block()), (0, block(1))])),
        ("section MEMS", "not strictly ascending (0 after 0)"),
    ),
    "zero block stored": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 2, [(17, bytes(BLOCK_SIZE))])),
        ("section MEMS", "stored block 17 is all zeros"),
    ),
    "block index >= blocks": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 2, [(32, block())])),
        ("section MEMS", "stored block index 32 >= blocks 32"),
    ),
    "more stored blocks than blocks": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 0, [(0, block())])),
        ("section MEMS", "1 stored blocks but only 0 blocks"),
    ),
    "too many pages": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 65537, [])),
        ("section MEMS", "65537 pages exceeds the limit of 65536"),
    ),
    # resource limits: claims checked before anything of the claimed size is allocated
    "one memory over the snapshot limit": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 65536, [])),
        ("section MEMS", f"memory 0: 65536 pages exceed the limit of {MAX_SNAPSHOT_MEMORY_PAGES} pages"),
    ),
    "memories together over the snapshot limit": (
        lambda: with_section(b"MEMS", u32(3) + b"".join(memory(i, MAX_SNAPSHOT_MEMORY_PAGES // 2, []) for i in range(3))),
        ("section MEMS", f"memory 2: {MAX_SNAPSHOT_MEMORY_PAGES // 2} pages bring all memories to"
                         f" {3 * (MAX_SNAPSHOT_MEMORY_PAGES // 2)} pages, over the limit"),
    ),
    "tables together over the slot limit": (
        lambda: with_section(b"TABL", u32(2) + table(0, entries=(NONE,) * (MAX_TABLE_ENTRIES // 2 + 1))
                             + table(1, entries=(NONE,) * (MAX_TABLE_ENTRIES // 2 + 1))),
        ("section TABL", f"table 1: {MAX_TABLE_ENTRIES // 2 + 1} slots bring all tables to"
                         f" {MAX_TABLE_ENTRIES + 2} slots, over the limit of {MAX_TABLE_ENTRIES}"),
    ),
    "truncated block": (
        lambda: with_section(b"MEMS", u32(1) + memory(0, 1, [(0, block())])[:-1]),
        ("section MEMS", "truncated"),
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_rejection(case: str) -> None:
    build, fragments = REJECTIONS[case]
    expect_error(build(), *fragments)


def test_rejection_helpers_are_faithful() -> None:
    """The hand-built payloads above are valid when nothing is wrong with them."""
    assert with_section(b"GLOB", first_payload(b"GLOB")) == BASE_BYTES
    two_pages = memory(0, 2, [(0, block()), (1, block(1)), (31, block(2))], maximum=4)
    ok = with_section(b"MEMS", u32(2) + two_pages + memory(3, 0, []))
    assert encode(decode(ok)) == ok
    tables = table(0, entries=(NONE, 3)) + table(1, 0x6F, b"\1" + u32(NONE), (NONE,))
    ok = with_section(b"TABL", u32(2) + tables)
    assert decode(ok).tables == (
        TableImage(0, "funcref", None, (None, 3)),
        TableImage(1, "externref", NONE, (None,)),
    )
    ok = with_section(b"HOST", host(string("é".encode()) + b"\1" + string(b"trap") + u32(0), 1))
    assert decode(ok).host.completed == (CallRecord("é", "trap", ()),)


def test_wrong_module() -> None:
    other = hashlib.sha256(b"other").digest()
    message = expect_error(BASE_BYTES, "belongs to another module", module_sha256=other)
    assert BASE.module_sha256.hex()[:16] in message
    assert other.hex()[:16] in message
    assert decode(BASE_BYTES, module_sha256=BASE.module_sha256) == BASE


# ---------------------------------------------------------------------------
# The encoder refuses what it cannot encode canonically
# ---------------------------------------------------------------------------


def out_of_range_i32() -> Value:
    v = Value("i32", 0)
    object.__setattr__(v, "bits", 2**32)  # bypass Value's own check
    return v


def with_memory(**changes: object) -> Snapshot:
    return dataclasses.replace(BASE, memories=(dataclasses.replace(BASE.memories[0], **changes),))


def with_global(val: Value, *, mutable: object = True) -> Snapshot:
    return dataclasses.replace(BASE, globals=(GlobalImage(0, mutable, val),))  # type: ignore[arg-type]


def with_table(**changes: object) -> Snapshot:
    return dataclasses.replace(BASE, tables=(dataclasses.replace(BASE.tables[0], **changes),))


ENCODE_ERRORS: dict[str, tuple[Callable[[], Snapshot], tuple[str, ...]]] = {
    "short memory data": (lambda: with_memory(data=bytes(PAGE_SIZE)), ("MEMS", "expected 2 pages")),
    "long memory data": (lambda: with_memory(data=bytes(3 * PAGE_SIZE)), ("MEMS", "expected 2 pages")),
    "too many pages": (lambda: with_memory(pages=65537, data=b""), ("MEMS", "exceeds the limit")),
    "pages over the snapshot limit": (  # refused before its data is even looked at
        lambda: with_memory(pages=MAX_SNAPSHOT_MEMORY_PAGES + 1, data=b""),
        ("MEMS", f"exceed the limit of {MAX_SNAPSHOT_MEMORY_PAGES} pages"),
    ),
    "table slots over the limit": (
        lambda: with_table(entries=(None,) * (MAX_TABLE_ENTRIES + 1)),
        ("TABL", f"exceed the limit of {MAX_TABLE_ENTRIES} slots"),
    ),
    "memory maximum sentinel": (lambda: with_memory(maximum=NONE64), ("MEMS", "reserved for 'none'")),
    "memory data not bytes": (lambda: with_memory(data=[0] * (2 * PAGE_SIZE)), ("MEMS", "must be bytes")),
    "short hash": (lambda: dataclasses.replace(BASE, module_sha256=b"abc"), ("MODL", "32 bytes")),
    "globals unsorted": (
        lambda: dataclasses.replace(BASE, globals=BASE.globals[::-1]),
        ("GLOB", "globals not strictly ascending by index (0 after 4)"),
    ),
    "memories duplicate": (
        lambda: dataclasses.replace(BASE, memories=BASE.memories * 2),
        ("MEMS", "not strictly ascending"),
    ),
    "bits out of range": (lambda: with_global(out_of_range_i32()), ("GLOB", "does not fit in u32")),
    "non-null externref": (lambda: with_global(Value("externref", 3)), ("GLOB", "non-null externref")),
    "funcref sentinel": (lambda: with_global(Value("funcref", NONE)), ("GLOB", "reserved for 'none'")),
    "funcref too big": (lambda: with_global(Value("funcref", 2**32)), ("GLOB", "does not fit in u32")),
    "mutable not bool": (lambda: with_global(Value("i32", 1), mutable=1), ("GLOB", "must be a bool")),
    "negative index": (
        lambda: dataclasses.replace(BASE, globals=(GlobalImage(-1, True, Value("i32", 0)),)),
        ("GLOB", "does not fit in u32"),
    ),
    "table of i32": (lambda: with_table(type="i32"), ("TABL", "funcref or externref")),
    "externref table entry": (lambda: with_table(type="externref"), ("TABL", "non-null externref")),
    "table maximum too big": (lambda: with_table(maximum=2**32), ("TABL", "does not fit in u32")),
    "lone surrogate": (lambda: dataclasses.replace(BASE, engine="\ud800"), ("ENGN", "UTF-8")),
    "input position negative": (
        lambda: dataclasses.replace(BASE, host=dataclasses.replace(BASE.host, input_position=-1)),
        ("HOST", "input_position"),
    ),
    "resume not bytes": (lambda: dataclasses.replace(BASE, resume="text"), ("RSUM", "must be bytes")),
}


@pytest.mark.parametrize("case", list(ENCODE_ERRORS))
def test_encode_rejects_inconsistent_snapshot(case: str) -> None:
    build, fragments = ENCODE_ERRORS[case]
    with pytest.raises(SnapshotError) as info:
        encode(build())
    message = str(info.value)
    assert message.startswith("cannot encode snapshot section")
    for fragment in fragments:
        assert fragment in message


# ---------------------------------------------------------------------------
# Resource limits: what a few hundred bytes may claim
# ---------------------------------------------------------------------------

RESUMEFUZZ = Path(sys.executable).parent / "resumefuzz"


def claiming(*pages: int) -> bytes:
    """BASE with its memories replaced by all-zero memories of PAGES pages: no stored block."""
    return with_section(b"MEMS", u32(len(pages)) + b"".join(memory(i, n, []) for i, n in enumerate(pages)))


def traced_peak(action: Callable[[], object]) -> int:
    """Peak bytes Python allocated while ACTION ran."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rejected(data: bytes) -> Callable[[], str]:
    def action() -> str:
        with pytest.raises(SnapshotError) as info:
            decode(data)
        return str(info.value)
    return action


OVERSIZED = {  # the 405-byte file of the issue: 4 GiB of zero pages; four of them: 16 GiB
    "one 65536-page memory": (65536,),
    "four 65536-page memories": (65536,) * 4,
    "memories over the limit only together": (MAX_SNAPSHOT_MEMORY_PAGES // 2,) * 3,
}


@pytest.mark.parametrize("case", list(OVERSIZED))
def test_oversized_memory_claim_is_rejected_before_allocation(case: str) -> None:
    data = claiming(*OVERSIZED[case])
    assert len(data) < 600
    message = rejected(data)()
    assert message.startswith("snapshot section MEMS: memory ") and "\n" not in message
    assert f"the limit of {MAX_SNAPSHOT_MEMORY_PAGES} pages" in message
    assert traced_peak(rejected(data)) < 64 * 2**20


def test_decoding_a_zero_memory_builds_nothing_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The largest memory the limit allows, all zeros: 512 MiB claimed, returned as one bytes(n)
    (CPython callocs it, so its pages cost no RAM until read) -- no page or block is assembled.
    (An RSS measurement of this proved flaky under a loaded parallel run; this checks the mechanism.)"""
    import resumefuzz.snapshot as codec

    def no_zero_filling(*_: object) -> int:
        raise AssertionError("a memory with no stored block must not be assembled block by block")

    monkeypatch.setattr(codec, "_zeros", no_zero_filling)
    memory = codec.decode(claiming(MAX_SNAPSHOT_MEMORY_PAGES)).memories[0]
    assert MAX_SNAPSHOT_MEMORY_PAGES * PAGE_SIZE >= 512 * 2**20
    assert type(memory.data) is bytes and len(memory.data) == memory.pages * PAGE_SIZE


def test_a_mostly_zero_memory_costs_one_copy_of_its_contents() -> None:
    pages = 512  # 32 MiB, one non-zero block in the middle
    data = with_section(b"MEMS", u32(1) + memory(0, pages, [(pages * 8, block())]))
    peak = traced_peak(lambda: decode(data))
    assert pages * PAGE_SIZE <= peak < pages * PAGE_SIZE * 1.1


@pytest.mark.parametrize("case", list(OVERSIZED)[:2])
def test_inspect_rejects_an_oversized_claim_in_one_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "claim.rfzsnap"
    path.write_bytes(claiming(*OVERSIZED[case]))
    result = subprocess.run([str(RESUMEFUZZ), "inspect", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("resumefuzz: error: snapshot section MEMS: memory 0: 65536 pages exceed the limit")


# ---------------------------------------------------------------------------
# Version text
# ---------------------------------------------------------------------------


def test_inspect_prints_the_format_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "base.rfzsnap"
    path.write_bytes(BASE_BYTES)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"snapshot v{FORMAT_VERSION}, {len(BASE_BYTES)} bytes, ")
    assert "memory 0: 2 page(s), max None, 1 non-zero page(s)" in out


def test_texts_name_the_current_format_version() -> None:
    assert FORMAT_VERSION == 4
    for text in (snapshot_module.__doc__, SnapshotError.__doc__, encode.__doc__, decode.__doc__):
        assert text and "v1" not in text and "version 1" not in text
    heading = (Path(__file__).resolve().parents[2] / "docs" / "snapshot-format.md").read_text().splitlines()[0]
    assert heading == f"# resumefuzz snapshot format, version {FORMAT_VERSION}"


def test_nonzero_pages_counts_in_place() -> None:
    data = bytearray(5 * PAGE_SIZE)
    data[PAGE_SIZE] = data[4 * PAGE_SIZE - 1] = data[-1] = 1
    assert nonzero_pages(MemoryImage(0, 5, None, bytes(data))) == 3
    assert nonzero_pages(MemoryImage(0, 0, None, b"")) == 0
