"""`Machine` capture and restore, directly: what a fresh instance gets back is what was captured,
bit for bit, step by step (memories grown first, globals including a hidden float with a
signalling NaN, tables grown and rewired, dropped segments)."""

from __future__ import annotations

from dataclasses import replace

from resumefuzz.engines import get_engine
from resumefuzz.host import HostState
from resumefuzz.preparation import prepare
from resumefuzz.runtime import differing_blocks
from resumefuzz.state import BLOCK_SIZE, PAGE_SIZE, MemoryImage
from resumefuzz.values import Value
from resumefuzz.wasmtools import parse
from resumefuzz.yieldpoints import YieldPoints

WAT = """
(module
  (type $op (func (param i32) (result i32)))
  (memory 1 4)
  (table $t 2 8 funcref)
  (elem (table $t) (i32.const 0) func $inc $dbl)
  (global $hidden (mut f32) (f32.const 0))
  (global $count (mut i64) (i64.const 0))
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "mutate")
    (drop (memory.grow (i32.const 2)))
    (i32.store (i32.const 131068) (i32.const 0xdeadbeef))
    (global.set $hidden (f32.reinterpret_i32 (i32.const 0x7fa00001)))
    (global.set $count (i64.const -2))
    (drop (table.grow $t (ref.func $inc) (i32.const 3)))
    (table.set $t (i32.const 0) (ref.func $dbl))))
"""


def _machines():  # noqa: ANN202
    prep = prepare(parse(WAT), get_engine("asyncify"), YieldPoints.parse("loop"))
    runtime = prep.plain_runtime()
    mutated = runtime.instantiate(HostState(0))
    mutated.invoke(next(c.wrapper for c in runtime.layout.calls if c.name == "mutate"))
    captured = (mutated.capture_memories(), mutated.capture_globals(), mutated.capture_tables())
    fresh = runtime.instantiate(HostState(0))
    return fresh, captured


def test_a_fresh_instance_restored_step_by_step_equals_what_was_captured() -> None:
    fresh, (memories, globals_, tables) = _machines()
    assert fresh.capture_memories() != memories and fresh.capture_tables() != tables
    fresh.restore_memories(memories)
    fresh.restore_globals(globals_)
    fresh.restore_tables(tables)
    assert fresh.capture_memories() == memories
    assert fresh.capture_globals() == globals_
    assert fresh.capture_tables() == tables
    # the hidden float global kept its signalling NaN payload (no Python float on the way)
    assert Value("f32", 0x7FA00001) in [g.value for g in globals_]


def test_each_restore_step_restores_only_its_own_state() -> None:
    fresh, (memories, globals_, tables) = _machines()
    before_tables = fresh.capture_tables()
    fresh.restore_memories(memories)
    assert fresh.capture_memories() == memories
    assert fresh.capture_tables() == before_tables  # tables untouched by the memory step
    assert fresh.capture_globals() != globals_


def test_memory_is_grown_before_it_is_written_back() -> None:
    fresh, (memories, _, _) = _machines()
    (image,) = [m for m in memories if m.pages == 3]
    fresh.restore_memories((image,), grow=False)  # the planted fault: write without growing
    assert fresh.capture_memories()[image.index].pages == 1  # only the first page came back
    fresh.restore_memories((image,))
    assert fresh.capture_memories()[image.index] == image


def test_a_smaller_snapshot_cannot_be_restored() -> None:
    import pytest

    from resumefuzz.runtime import RestoreError

    fresh, (memories, _, _) = _machines()
    grown = [m for m in memories if m.pages == 3][0]
    fresh.restore_memories((grown,))
    with pytest.raises(RestoreError):
        fresh.restore_memories((replace(grown, pages=1, data=grown.data[:PAGE_SIZE]),))


def test_differing_blocks_are_whole_blocks_merged_when_adjacent() -> None:
    old = bytes(4 * BLOCK_SIZE)
    new = bytearray(old)
    new[5] = 1
    new[BLOCK_SIZE + 7] = 1
    new[3 * BLOCK_SIZE] = 1
    assert differing_blocks(bytes(new), old) == [(0, 2 * BLOCK_SIZE), (3 * BLOCK_SIZE, 4 * BLOCK_SIZE)]
    assert differing_blocks(old, old) == []
    assert MemoryImage(0, 1, None, bytes(PAGE_SIZE)).pages == 1
