"""Asyncify configurations users ship: list options derived from the call graph, asserts, and what
Asyncify refuses (tail calls, try_table where it instruments) -- judged with the real Binaryen."""

from __future__ import annotations

from pathlib import Path

import pytest

from resumefuzz import check, wasmtools
from resumefuzz.engines import get_engine
from resumefuzz.engines.asyncify import AsyncifyEngine
from resumefuzz.errors import BadInput, Unsupported

CASES = Path(__file__).resolve().parents[2] / "corpus" / "cases"
#: calls through several functions, mutual recursion and call_indirect (see the file's comment)
CHAIN = wasmtools.load_module(CASES / "call-chain-only-list.wat")
TAIL_CALL = wasmtools.load_module(CASES / "tail-call-refused.wat")
TRY_TABLE = wasmtools.load_module(CASES / "try-table-instrumented.wat")
SCHEDULE = "every;spread:8"

LISTS_MODULE = wasmtools.parse("""
(module
  (import "rfz" "suspend" (func $suspend))
  (type $t (func))
  (table 1 funcref)
  (elem (i32.const 0) func $leaf)
  (func $leaf (call $suspend))
  (func $caller (call $leaf))
  (func $indirect (call_indirect (type $t) (i32.const 0)))
  (func $apart (call $helper))
  (func $helper (nop)))
""")


@pytest.mark.parametrize("listing", ["none", "only", "remove", "add", "propagate-add"])
@pytest.mark.parametrize("yield_points", ["call", "all"])
def test_each_list_is_transparent(listing, yield_points):
    verdict = check(CHAIN, get_engine(f"asyncify:list={listing}"), schedule=SCHEDULE, yield_points=yield_points)
    assert verdict.status == "equal", verdict.report
    assert verdict.suspensions > 0


@pytest.mark.parametrize("listing, expected", [
    ("none", {}),
    ("only", {"asyncify-onlylist": "leaf,caller,indirect"}),
    ("remove", {"asyncify-removelist": "apart,helper"}),
    ("add", {"asyncify-addlist": "leaf,caller,indirect", "asyncify-ignore-indirect": "1"}),
    ("propagate-add", {"asyncify-addlist": "leaf,caller,indirect", "asyncify-ignore-indirect": "1",
                       "asyncify-propagate-addlist": "1"}),
])
def test_list_pass_arguments(listing, expected):
    engine = AsyncifyEngine(list=listing)
    assert engine._list_args(LISTS_MODULE, ("rfz", "suspend"), listing, None) == expected


def test_wrong_list_is_caught():
    verdict = check(CHAIN, get_engine("faulty:wrong-list"), schedule=SCHEDULE, yield_points="call")
    assert verdict.status == "divergent"
    assert "crossings" in verdict.facets
    # planted in the transform: never suspended, the module is still transparent (A vs B)
    assert all(f.comparison == "B vs C" for f in verdict.findings)


def test_wrong_list_leaves_out_one_function_on_the_unwind_path():
    from resumefuzz import callgraph
    from resumefuzz.engines.faults import _unwind_path_function

    g = callgraph.call_graph(LISTS_MODULE)
    reaching = g.reaching_import("rfz", "suspend")
    # not a program module (no __rfz.fn exports): nothing to leave out
    assert _unwind_path_function(g, reaching) == frozenset()


def test_wrong_list_needs_asyncifys_transform():
    with pytest.raises(BadInput, match="wrong-list is planted in Binaryen's Asyncify transform"):
        get_engine("faulty:wrong-list@asyncify-compatible,cp {in} {out}")


def test_asserts_are_transparent_and_really_added():
    verdict = check(CHAIN, get_engine("asyncify:asserts=true,list=only"), schedule=SCHEDULE, yield_points="call")
    assert verdict.status == "equal", verdict.report
    plain = wasmtools.print_text(AsyncifyEngine(list="only").transform(LISTS_MODULE, ("rfz", "suspend")))
    asserted = wasmtools.print_text(AsyncifyEngine(list="only", asserts=True).transform(LISTS_MODULE,
                                                                                       ("rfz", "suspend")))
    # Binaryen checks the state around every call in the functions it leaves uninstrumented
    assert asserted.count("unreachable") > plain.count("unreachable")


def test_asserts_trap_when_a_wrong_list_is_unwound_through():
    verdict = check(CHAIN, get_engine("faulty:wrong-list,asserts=true"), schedule="at:3", yield_points="call")
    assert verdict.status == "divergent" and "trap" in verdict.facets


def test_list_with_the_optimizer_before():
    """The list is derived from the optimized module (Binaryen's optimizer may merge or drop functions)."""
    for options in ("optimize-before=true,list=only",
                    "optimize-before=true,shrink-level=2,optimize-level=2,list=remove"):
        verdict = check(CHAIN, get_engine(f"asyncify:{options}"), schedule=SCHEDULE, yield_points="call")
        assert verdict.status == "equal", verdict.report


@pytest.mark.parametrize("listing", ["none", "only"])
def test_tail_calls_are_refused_with_binaryens_reason(listing):
    with pytest.raises(Unsupported, match="tail calls not yet supported in asyncify"):
        check(TAIL_CALL, get_engine(f"asyncify:list={listing}"), schedule=SCHEDULE, yield_points="loop")


def test_try_table_where_asyncify_instruments_is_refused_with_the_reason():
    with pytest.raises(Unsupported, match=r"try_table in function #func\d+, which Asyncify instruments"):
        check(TRY_TABLE, get_engine("asyncify"), schedule=SCHEDULE, yield_points="loop")


@pytest.mark.parametrize("listing", ["only", "remove", "add"])
def test_try_table_left_uninstrumented_by_a_list_is_judged(listing):
    verdict = check(TRY_TABLE, get_engine(f"asyncify:list={listing}"), schedule=SCHEDULE, yield_points="loop")
    assert verdict.status == "equal", verdict.report
    assert verdict.suspensions > 0


def test_options_are_checked_drawn_and_recorded():
    with pytest.raises(BadInput, match="option list must be one of none, only, remove, add, propagate-add"):
        get_engine("asyncify:list=some")
    with pytest.raises(BadInput, match="asserts must be true or false"):
        get_engine("asyncify:asserts=1")
    space = AsyncifyEngine().option_space
    assert set(space["list"]) == {"none", "only", "remove", "add", "propagate-add"}
    assert set(space["asserts"]) == {False, True}
    engine = get_engine("asyncify:list=propagate-add,asserts=true")
    assert engine.spec() == "asyncify:asserts=true,list=propagate-add"
    assert get_engine(engine.spec()).config == engine.config
