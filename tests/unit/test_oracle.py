"""`oracles.compare` facet by facet, on hand-built observations (no wasm runs): each facet
catches its own difference, reports it under its name, and nothing else fires."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from resumefuzz.observation import Observation
from resumefuzz.oracles import FACETS, Leeway, compare
from resumefuzz.state import PAGE_SIZE, CallRecord, Event, MemoryImage, TableImage
from resumefuzz.values import Value
from resumefuzz.wasi import WasiOutcome

SNAN_F32, QNAN_F32 = 0x7FA00001, 0x7FE00001


def observation(label: str = "B") -> Observation:
    return Observation(
        label,
        calls=[CallRecord("<start>", None, ()), CallRecord("run", None, (Value("i32", 7), Value("f32", SNAN_F32)))],
        outputs=[Event(Value("i64", 1)), Event(Value("f64", 0x7FF8000000000001))],
        globals={"g0": Value("i32", 3), "g1": Value("f32", SNAN_F32), "g2": Value("funcref", 2)},
        memories={"m0": MemoryImage(0, 1, 2, bytes(PAGE_SIZE - 1) + b"\x01")},
        tables={"t0": TableImage(0, "funcref", None, (0, None, 2))},
        crossings=12,
        wasi=WasiOutcome(b"out\n", b"err\n", 0, (("a.txt", b"abc"), ("d/", b""))),
        clocks=[(1, 100), (0, 5), (1, 200)],
    )


def facets(a: Observation, b: Observation, **kwargs: object) -> list[str]:
    return sorted({d.facet for d in compare(a, b, **kwargs)})  # type: ignore[arg-type]


def test_identical_observations_agree_on_every_facet() -> None:
    assert compare(observation("A"), observation("B")) == []


def _mutations() -> dict[str, object]:
    def trap(o: Observation) -> None:
        o.calls[1] = CallRecord("run", "UNREACHABLE", ())

    def trap_code(o: Observation) -> None:
        o.calls[1] = CallRecord("run", "INTEGER_OVERFLOW", ())

    def sequence(o: Observation) -> None:
        o.calls.pop()

    def result(o: Observation) -> None:  # a signalling NaN quieted: one bit
        o.calls[1] = CallRecord("run", None, (Value("i32", 7), Value("f32", QNAN_F32)))

    def output_lost(o: Observation) -> None:
        o.outputs.pop()

    def output_twice(o: Observation) -> None:
        o.outputs.append(o.outputs[-1])

    def memory_byte(o: Observation) -> None:
        o.memories["m0"] = MemoryImage(0, 1, 2, bytes(PAGE_SIZE))  # the last byte zeroed

    def memory_size(o: Observation) -> None:
        o.memories["m0"] = MemoryImage(0, 2, 2, bytes(PAGE_SIZE - 1) + b"\x01" + bytes(PAGE_SIZE))

    def global_bits(o: Observation) -> None:
        o.globals["g1"] = Value("f32", QNAN_F32)

    def global_missing(o: Observation) -> None:
        del o.globals["g0"]

    def funcref_global(o: Observation) -> None:
        o.globals["g2"] = Value("funcref", 0)

    def table_entry(o: Observation) -> None:
        o.tables["t0"] = TableImage(0, "funcref", None, (0, 2, 2))

    def table_size(o: Observation) -> None:
        o.tables["t0"] = TableImage(0, "funcref", None, (0, None))

    def crossings(o: Observation) -> None:
        o.crossings = 13

    def stdout_twice(o: Observation) -> None:
        o.wasi = replace(o.wasi, stdout=b"out\nout\n")

    def stderr_lost(o: Observation) -> None:
        o.wasi = replace(o.wasi, stderr=b"")

    def exit_code(o: Observation) -> None:
        o.wasi = replace(o.wasi, exit_code=1)

    def file_bytes(o: Observation) -> None:
        o.wasi = replace(o.wasi, files=(("a.txt", b"abd"), ("d/", b"")))

    def file_missing(o: Observation) -> None:
        o.wasi = replace(o.wasi, files=(("a.txt", b"abc"),))

    def clock_backwards(o: Observation) -> None:
        o.clocks[2] = (1, 50)

    def clock_restarted(o: Observation) -> None:
        o.clocks[1] = (0, 0)

    return {"trap": [trap, trap_code, sequence], "result": [result], "output": [output_lost, output_twice],
            "memory": [memory_byte, memory_size], "global": [global_bits, global_missing, funcref_global],
            "table": [table_entry, table_size], "crossings": [crossings], "stdout": [stdout_twice],
            "stderr": [stderr_lost], "exit": [exit_code], "files": [file_bytes, file_missing],
            "clock": [clock_backwards, clock_restarted]}


@pytest.mark.parametrize("facet,mutate", [(f, m) for f, ms in _mutations().items() for m in ms],  # type: ignore[union-attr]
                         ids=lambda x: getattr(x, "__name__", x))
def test_each_facet_catches_its_own_difference(facet: str, mutate) -> None:  # noqa: ANN001
    candidate = copy.deepcopy(observation("C"))
    mutate(candidate)
    found = compare(observation("B"), candidate)
    assert found, f"{mutate.__name__} went unnoticed"
    assert facet in {d.facet for d in found}
    assert all(d.facet in FACETS for d in found)
    assert all(str(d).startswith(f"[{d.facet}] ") for d in found)


def test_every_facet_has_a_mutation_here() -> None:
    assert set(_mutations()) == set(FACETS)


def test_excluded_keys_are_private_state_and_not_compared() -> None:
    candidate = observation("C")
    candidate.globals["g1"] = Value("f32", QNAN_F32)
    candidate.memories["m0"] = MemoryImage(0, 1, 2, bytes(PAGE_SIZE))
    assert facets(observation(), candidate) == ["global", "memory"]
    assert compare(observation(), candidate, exclude={"g1", "m0"}) == []


def test_memory_report_points_at_the_first_differing_byte() -> None:
    candidate = observation("C")
    candidate.memories["m0"] = MemoryImage(0, 1, 2, bytes(PAGE_SIZE))
    (divergence,) = compare(observation(), candidate)
    assert f"offset 0x{PAGE_SIZE - 1:x}" in divergence.detail and "1 differing byte" in divergence.detail


def test_the_leeway_excuses_only_what_it_names() -> None:
    candidate = observation("B")
    candidate.calls[1] = CallRecord("run", "INTEGER_OVERFLOW", ())
    reference = observation("A")
    reference.calls[1] = CallRecord("run", "MEMORY_OUT_OF_BOUNDS", ())
    assert facets(reference, candidate) == ["trap"]
    leeway = Leeway(trap_kinds=True)
    assert compare(reference, candidate, leeway=leeway) == [] and leeway.excused
    # trap vs. return is never excused
    candidate.calls[1] = CallRecord("run", None, ())
    assert facets(reference, candidate, leeway=Leeway(trap_kinds=True)) == ["trap"]
    # merged functions: same class is equal, another class is not
    merged = observation("B")
    merged.tables["t0"] = TableImage(0, "funcref", None, (0, None, 1))
    assert facets(observation("A"), merged) == ["table"]
    assert compare(observation("A"), merged, leeway=Leeway(function=lambda i: min(i, 1))) == []
    assert facets(observation("A"), merged, leeway=Leeway(function=lambda i: i)) == ["table"]
