"""Fast unit tests of the pure parts: values, host streams, schedules, yield points, text model."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resumefuzz import wasmtools
from resumefuzz.errors import BadInput, Unsupported
from resumefuzz.host import HostState, argument, input_value
from resumefuzz.instrumentation import expose, observe
from resumefuzz.moduletext import ModuleText, escape, parse_signature, unescape
from resumefuzz.schedule import expand, validate
from resumefuzz.values import Value
from resumefuzz.yieldpoints import YieldPoints, inject


def test_value_describes_nan_payloads_from_bits() -> None:
    assert str(Value("f32", 0x7FA00001)) == "f32:0x7fa00001 (sNaN payload 0x200001)"
    assert "qNaN" in Value("f64", 0x7FF8000000000001).describe()
    assert Value.from_signed("i32", -1).bits == 0xFFFFFFFF
    with pytest.raises(ValueError):
        Value("i32", 1 << 32)


def test_host_streams_are_deterministic_and_seeded() -> None:
    assert input_value(5, 3, "i64") == input_value(5, 3, "i64")
    assert [input_value(5, n, "i32") for n in range(8)] != [input_value(6, n, "i32") for n in range(8)]
    assert argument(1, 2, 0, "f32") == argument(1, 2, 0, "f32")
    host = HostState(9)
    first = [host.next_input("i32") for _ in range(3)]
    restored = HostState.from_image(9, HostState(9, input_position=1).image())
    assert restored.next_input("i32") == first[1]  # the stream continues, it does not restart


@given(st.integers(0, 300), st.integers(0, 2**32))
def test_schedules_stay_within_the_run(total: int, seed: int) -> None:
    for schedule in expand("auto;each;at:1,5,9", min(total, 40), seed) + expand("quick", total, seed):
        assert list(schedule.crossings) == sorted(set(schedule.crossings))
    for schedule in expand("auto", total, seed):
        assert all(1 <= c <= total for c in schedule.crossings)
        assert len(schedule.crossings) <= 500


def test_schedule_spec_errors_are_bad_input() -> None:
    assert expand("none", 10, 0) == []
    assert expand("every", 4, 0)[0].crossings == (1, 2, 3, 4)
    assert [s.crossings for s in expand("spread:3", 9, 0)] == [(1,), (5,), (9,)]
    for bad in ("sometimes", "every:x", "random:", "at:"):
        with pytest.raises(BadInput):
            validate(bad)


@pytest.mark.parametrize("spec, says", [
    ("at:99999999999999999999", "at most 9223372036854775807"),  # was an internal error (i64 overflow)
    ("every:" + "9" * 5000, "at most 9223372036854775807"),  # refused before int() parses 5000 digits
    ("at:1,,2", "cannot parse"),
    ("at:1,", "cannot parse"),
    ("at:,1", "cannot parse"),
    ("random:100000000", "limits.MAX_SCHEDULE_RUNS"),  # was ~20 GB of schedules, no output
    ("spread:10001", "limits.MAX_SCHEDULE_RUNS"),
    ("auto;random:9952", "limits.MAX_SCHEDULE_RUNS"),  # the runs of all parts add up
    ("random:2x100001", "limits.MAX_SUSPENSIONS"),
    ("at:" + ",".join(map(str, range(1, 100_002))), "limits.MAX_SUSPENSIONS"),
], ids=["at-20-digits", "every-5000-digits", "at-empty-item", "at-trailing-comma", "at-leading-comma",
        "random-1e8", "spread-too-many", "parts-add-up", "random-too-many-per-run", "at-too-many"])
def test_schedule_specs_are_bounded(spec: str, says: str) -> None:
    with pytest.raises(BadInput, match=re.escape(says)):
        validate(spec)


def test_schedule_limits_are_reachable_and_hold_after_expansion() -> None:
    from resumefuzz import limits

    assert limits.MAX_CROSSING == 2**63 - 1
    validate(f"random:{limits.MAX_SCHEDULE_RUNS}")
    validate(f"auto;random:{limits.MAX_SCHEDULE_RUNS - 49}")
    assert expand(f"at:3,{2**63 - 1}", 5, 0)[0].crossings == (3, 2**63 - 1)
    # parts whose size depends on the program are checked when they are expanded
    assert len(expand("each", limits.MAX_SCHEDULE_RUNS, 0)) == limits.MAX_SCHEDULE_RUNS
    with pytest.raises(BadInput, match="limits.MAX_SCHEDULE_RUNS"):
        expand("each", limits.MAX_SCHEDULE_RUNS + 1, 0)
    with pytest.raises(BadInput, match="limits.MAX_SUSPENSIONS"):
        expand("every", limits.MAX_SUSPENSIONS + 1, 0)
    assert len(expand("every:2", limits.MAX_SUSPENSIONS + 1, 0)[0].crossings) == limits.MAX_SUSPENSIONS // 2
    assert len(expand("auto", 10**9, 0)[0].crossings) <= 500  # auto's own stride keeps it small


def test_an_empty_module_is_a_module() -> None:
    """`(module)` prints on one line; it was refused as "components are not supported"."""
    assert ModuleText.parse("(module)\n").fields == []
    observed = observe(b"\0asm\1\0\0\0")
    assert observed.calls == ()
    with pytest.raises(Unsupported, match="components are not supported"):
        ModuleText.parse("(component)\n")


def test_yield_point_specs() -> None:
    assert str(YieldPoints.parse("call,entry")) == "entry,call"
    with pytest.raises(BadInput):
        YieldPoints.parse("everywhere")


def test_names_round_trip_through_wat_strings() -> None:
    for name in ("run", 'q"uote', "ünï", "\\back", "\x01"):
        assert unescape(escape(name)) == name
    assert parse_signature(" (param $a i32) (param f64 v128) (result i64 f32)").params == ("i32", "f64", "v128")


WAT = """(module
  (import "host" "out_f32" (func $o (param f32)))
  (global $g (mut f32) (f32.const nan:0x200001))
  (memory 1 2)
  (func $s (call $o (global.get $g)))
  (start $s)
  (func (export "f") (param f64) (result f32 i64) (f32.const 1) (i64.const 2)))"""


def test_observe_routes_floats_and_strips_the_start_section() -> None:
    observed = observe(wasmtools.parse(WAT))
    text = wasmtools.print_text(observed.wasm)
    assert '(import "rfz" "out_f32"' in text and '"host" "out_f32"' not in text
    assert "(start" not in text
    assert [c.name for c in observed.calls] == ["<start>", "f"]
    wasm, layout = expose(observed.wasm, observed.calls)
    keys = {s.key for s in layout.globals} | {s.key for s in layout.memories}
    assert {"g0", "m0"} <= keys


def test_yield_points_land_where_asked() -> None:
    observed = observe(wasmtools.parse(
        "(module (func (export \"f\") (local i32) (loop (br_if 0 (i32.const 0))) (call 1)) (func))"))
    counts = {}
    for spec in ("entry", "loop", "call", "all"):
        text = wasmtools.print_text(inject(observed.wasm, YieldPoints.parse(spec)).wasm)
        counts[spec] = text.count("call $__rfz_yield") or text.count("call $#func")  # names may be stripped
    assert counts["all"] > counts["entry"] >= 1


def test_unsupported_imports_and_fields_are_named() -> None:
    with pytest.raises(Unsupported, match="env.f"):
        observe(wasmtools.parse('(module (import "env" "f" (func)))'))
    with pytest.raises(Unsupported, match="out_i32"):
        observe(wasmtools.parse('(module (import "host" "out_i32" (func (param i64))))'))
    # a program's shared memory: parsed (the harness's own flag memory is one), refused when observed
    assert ModuleText.parse("(module\n  (memory $#memory0 (;0;) 1 2 shared)\n)").memories[0].shared
    with pytest.raises(Unsupported, match="shared"):
        observe(wasmtools.parse("(module (memory 1 2 shared))"))


def test_systematic_schedules_cover_every_crossing_in_turn() -> None:
    small = expand("systematic", 10, 0)
    assert (tuple(range(1, 11)) in [s.crossings for s in small])  # every crossing in one run
    assert {s.crossings for s in small} >= {(c,) for c in range(1, 11)}  # each crossing alone
    assert len(expand("systematic", 1000, 0)) <= 65


def test_a_trapping_instantiation_is_an_observed_trap() -> None:
    from resumefuzz.checker import check
    from resumefuzz.engines import get_engine

    wasm = wasmtools.parse('(module (memory 1 1) (data (i32.const 65535) "ab") (func (export "f")))')
    verdict = check(wasm, get_engine("asyncify"), schedule="every")
    assert verdict.status == "equal"
    faulty = check(wasm, get_engine("faulty:drop-output"), schedule="every")
    assert faulty.status == "equal" and faulty.suspensions == 0  # nothing ran, nothing to resume


def test_strip_all_matches_the_wasm_tools_cli() -> None:
    """The in-process strip must drop exactly what `wasm-tools strip --all` drops."""
    from resumefuzz import wasmtools

    named = wasmtools.parse('(module $m (func $f (export "f") (local $x i32)) (@custom "c" "data") (memory $mem 1))')
    assert b"name" in named and b"data" in named
    stripped = wasmtools.strip_all(named)
    assert stripped == wasmtools.run(["strip", "--all", "-"], named)
    assert b"name" not in stripped and b"data" not in stripped
    with pytest.raises(wasmtools.WasmToolsError):  # broken framing still gets wasm-tools' own error
        wasmtools.strip_all(named[:-3] + b"\x00\xff")
