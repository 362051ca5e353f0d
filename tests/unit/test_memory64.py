"""64-bit memories (memory64): parsed, capped, laid out, snapshotted and restored like 32-bit ones.

The harness's own code paths for a memory whose addresses, sizes and grow
deltas are i64: the module text, the judged-size caps (bounds), the layout
(``Slot.type`` ``memory64``), the snapshot codec (index type, u64 page count
and maximum, bounded decoding) and the restore of a grown 64-bit memory.
"""

from __future__ import annotations

import pytest

from resumefuzz import abi, wasmtools
from resumefuzz.bounds import cap_growth, check_declared
from resumefuzz.engines import get_engine
from resumefuzz.errors import Unsupported
from resumefuzz.host import HostState
from resumefuzz.instrumentation import load_text
from resumefuzz.limits import MAX_MEMORY_PAGES, MAX_SNAPSHOT_MEMORY_PAGES
from resumefuzz.moduletext import ModuleText
from resumefuzz.preparation import prepare
from resumefuzz.runtime import RestoreError, Runtime
from resumefuzz.snapshot import SnapshotError, decode, encode
from resumefuzz.state import PAGE_SIZE, HostImage, MemoryImage, Snapshot
from resumefuzz.yieldpoints import YieldPoints


def text(wat: str) -> ModuleText:
    return load_text(wasmtools.parse(wat))


# ---------------------------------------------------------------------------
# module text


def test_a_64_bit_memory_is_parsed_with_its_index_type() -> None:
    module = text("(module (memory i64 1 0x1_0000_0000) (memory 2 3))")
    wide, narrow = module.memories
    assert (wide.index_type, wide.is64, wide.minimum, wide.maximum) == ("i64", True, 1, 2**32)
    assert (narrow.index_type, narrow.is64, narrow.minimum, narrow.maximum) == ("i32", False, 2, 3)


def test_a_shared_memory_is_still_unsupported() -> None:
    from resumefuzz import wasmtools
    from resumefuzz.instrumentation import observe

    with pytest.raises(Unsupported, match="memory form"):
        observe(wasmtools.parse("(module (memory i64 1 2 shared))"))


# ---------------------------------------------------------------------------
# judged sizes


def test_a_64_bit_memory_starting_over_the_cap_is_unsupported_in_one_line() -> None:
    with pytest.raises(Unsupported) as info:
        check_declared(text(f"(module (memory i64 {MAX_MEMORY_PAGES + 1}))"))
    message = str(info.value)
    assert f"start at {MAX_MEMORY_PAGES + 1} pages" in message and "MAX_MEMORY_PAGES" in message
    assert "\n" not in message


@pytest.mark.parametrize("declaration", ["i64 1", "i64 1 0x1_0000_0000"])
def test_64_bit_grows_that_could_pass_the_cap_get_an_i64_wrapper(declaration: str) -> None:
    module = text(f"(module (memory {declaration}) (func (export \"g\") (result i64) (memory.grow (i64.const 1))))")
    cap_growth(module)
    rendered = module.render()
    assert f"call {abi.symbol('grow_m0')}" in rendered
    assert "(param $n i64) (result i64)" in rendered
    wasmtools.parse(rendered)  # the wrapper type-checks against an i64 memory.grow


def test_64_bit_maxima_within_the_cap_are_left_untouched() -> None:
    module = text('(module (memory i64 1 16) (func (export "g") (result i64) (memory.grow (i64.const 1))))')
    before = module.render()
    cap_growth(module)
    assert module.render() == before


# ---------------------------------------------------------------------------
# layout and the engine's private memory


MEMORY64 = """(module
  (memory i64 1 4)
  (func (export "run") (result i64) (local $i i64)
    (drop (memory.grow (i64.const 2)))
    (i64.store (i64.const 0x2fff8) (i64.const 0x0123456789abcdef))
    (loop $l
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (i64.const 3))))
    (i64.load (i64.const 0x2fff8))))"""


@pytest.fixture(scope="module")
def prepared():
    return prepare(wasmtools.parse(MEMORY64), get_engine("asyncify"), YieldPoints.parse("loop"))


def test_a_64_bit_program_memory_is_laid_out_as_memory64(prepared) -> None:
    types = {s.key: s.type for s in prepared.layout.memories}
    assert types["m0"] == abi.MEMORY64
    # Binaryen's Asyncify keeps its resume buffer in a 32-bit secondary memory with i32 pointers even
    # when the program's memory is 64-bit: the engine's {i32 current, i32 end} header stays valid.
    engine = [s for s in prepared.layout.memories if s.origin == "engine"]
    assert [s.type for s in engine] == [abi.MEMORY]


def _runtime(prepared) -> Runtime:
    return Runtime(prepared.suspendable, prepared.layout, fuel=10**7)


def test_a_grown_64_bit_memory_is_captured_and_restored_at_its_size(prepared) -> None:
    runtime = _runtime(prepared)
    machine = runtime.instantiate(HostState(0))
    index = next(s.index for s in prepared.layout.memories if s.key == "m0")
    slot = prepared.layout.memories[index]
    machine.exports[slot.export].grow(machine.ctx, 2)
    machine.write_memory(slot.export, 3 * PAGE_SIZE - 8, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    (image,) = [m for m in machine.capture_memories() if m.index == index]
    assert (image.pages, image.maximum, image.index_type) == (3, 4, "i64")
    assert decode(encode(_snapshot((image,)))).memories == (image,)
    fresh = runtime.instantiate(HostState(0))
    fresh.restore_memories((image,))
    assert fresh.exports[slot.export].size(fresh.ctx) == 3
    assert fresh.read_memory(slot.export, 3 * PAGE_SIZE - 8, 8) == b"\x01\x02\x03\x04\x05\x06\x07\x08"


def test_a_memory_image_of_the_other_index_type_is_not_restored(prepared) -> None:
    runtime = _runtime(prepared)
    machine = runtime.instantiate(HostState(0))
    index = next(s.index for s in prepared.layout.memories if s.key == "m0")
    image = MemoryImage(index, 1, 4, bytes(PAGE_SIZE), "i32")
    with pytest.raises(RestoreError, match="i32 memory, the module a i64 one"):
        machine.restore_memories((image,))


# ---------------------------------------------------------------------------
# the snapshot codec


def _snapshot(memories: tuple[MemoryImage, ...]) -> Snapshot:
    return Snapshot(bytes(32), "asyncify", "{}", HostImage((), 0, 0, ()), (), memories, (), b"")


def test_a_64_bit_maximum_beyond_u32_round_trips() -> None:
    image = MemoryImage(0, 1, 2**48, b"\x07" + bytes(PAGE_SIZE - 1), "i64")
    decoded = decode(encode(_snapshot((image,)))).memories
    assert decoded == (image,) and decoded[0].index_type == "i64"


def _claim(index_type_code: int, pages: int) -> bytes:
    """A snapshot whose one memory claims PAGES pages (no stored block), framed and CRC'd."""
    import struct
    import zlib

    data = encode(_snapshot((MemoryImage(0, 0, None, b"", "i64"),)))
    mems = struct.pack("<IIBQQI", 1, 0, index_type_code, pages, 2**64 - 1, 0)
    out, pos = [data[:16]], 16
    while pos < len(data):
        tag, length, _ = struct.unpack_from("<4sII", data, pos)
        payload = mems if tag == b"MEMS" else data[pos + 12:pos + 12 + length]
        out += [struct.pack("<4sII", tag, len(payload), zlib.crc32(payload)), payload]
        pos += 12 + length
    return b"".join(out)


@pytest.mark.parametrize("pages", [MAX_SNAPSHOT_MEMORY_PAGES + 1, 2**40, 2**48, 2**48 + 1, 2**64 - 2])
def test_a_huge_64_bit_page_count_is_refused_in_one_line(pages: int) -> None:
    with pytest.raises(SnapshotError) as info:
        decode(_claim(0x7E, pages))
    message = str(info.value)
    assert message.startswith("snapshot section MEMS: memory 0: ") and "\n" not in message
    assert f"{pages} pages" in message


def test_a_32_bit_memory_may_not_claim_more_than_65536_pages() -> None:
    with pytest.raises(SnapshotError, match=r"65537 pages exceeds the limit of 65536 \(i32 memory\)"):
        decode(_claim(0x7F, 65537))


def test_an_unknown_index_type_is_refused() -> None:
    with pytest.raises(SnapshotError, match="index type code 0x7d is not i32"):
        decode(_claim(0x7D, 1))


def test_the_encoder_refuses_what_the_decoder_would() -> None:
    with pytest.raises(SnapshotError, match="index type must be i32 or i64"):
        encode(_snapshot((MemoryImage(0, 0, None, b"", "i16"),)))
    with pytest.raises(SnapshotError, match="exceed the limit"):
        encode(_snapshot((MemoryImage(0, 2**40, None, b"", "i64"),)))
