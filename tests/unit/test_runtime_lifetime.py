"""A judged module's compiled code is freed once nobody holds it (long campaigns ran out of mappings)."""

from __future__ import annotations

import gc
import os
import weakref

import wasmtime

from resumefuzz import wasmtools
from resumefuzz.checker import judge
from resumefuzz.engines import get_engine
from resumefuzz.preparation import prepare
from resumefuzz.testing import PROGRAMS
from resumefuzz.yieldpoints import YieldPoints


def _memory_images() -> int:
    """wasmtime's memfd memory images this process holds (one per live compiled module with data)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += "wasm-memory-image" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return count


def _judge_once(name: str) -> list[weakref.ref]:
    prep = prepare(wasmtools.parse(PROGRAMS[name].encode()), get_engine("asyncify"), YieldPoints.parse("all"))
    verdict = judge(prep, seed=1, schedule="every")
    assert verdict.status == "equal" and verdict.crossings  # it really ran, suspended and resumed
    return [weakref.ref(prep.plain_runtime()), weakref.ref(prep.suspendable_runtime())]


def test_runtimes_and_their_modules_are_freed_after_judging() -> None:
    gc.collect()
    images = _memory_images()
    refs = [ref for _ in range(3) for ref in _judge_once("memory-grow")]
    gc.collect()
    assert [ref() for ref in refs] == [None] * len(refs)  # no Runtime kept alive by its host functions
    assert not [o for o in gc.get_objects() if isinstance(o, wasmtime.Module)]
    assert _memory_images() <= images
