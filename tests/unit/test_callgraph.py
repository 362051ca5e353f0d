"""The call graph behind Asyncify's list options (resumefuzz.callgraph), and the names Binaryen matches."""

from __future__ import annotations

import pytest

from resumefuzz import callgraph, wasmtools

GRAPH = """
(module
  (import "rfz" "suspend" (func $suspend))
  (import "host" "other" (func $other))
  (type $t (func))
  (table 2 funcref)
  (elem (i32.const 0) func $via_table $quiet)
  (global $ref funcref (ref.func $from_global))
  (func $direct (call $suspend))
  (func $chain (call $direct))
  (func $top (call $chain) (call $other))
  (func $quiet (call $other))
  (func $via_table (call $direct))
  (func $indirect (call_indirect (type $t) (i32.const 0)))
  (func $from_global (call $suspend))
  (func $ping (param i32) (if (local.get 0) (then (call $pong (i32.const 0)))))
  (func $pong (param i32) (call $ping (local.get 0)) (call $direct))
  (func $loop_a (call $loop_b))
  (func $loop_b (call $loop_a))
  (func $unused (nop))
  (func $takes_ref (drop (ref.func $quiet))))
"""


def graph(text: str) -> callgraph.CallGraph:
    return callgraph.call_graph(wasmtools.parse(text))


def names(g: callgraph.CallGraph, indices: frozenset[int]) -> set[str]:
    return {g.functions[i].name for i in indices}


def test_direct_indirect_and_recursive_callers_reach_the_import():
    g = graph(GRAPH)
    reaching = g.reaching_import("rfz", "suspend")
    assert names(g, reaching) == {"direct", "chain", "top", "via_table", "indirect", "from_global", "ping", "pong"}


def test_functions_that_cannot_reach_it_are_left_out():
    g = graph(GRAPH)
    reaching = names(g, g.reaching_import("rfz", "suspend"))
    # a call to another import, a cycle that never reaches it, an unused function, a taken reference
    assert not reaching & {"quiet", "loop_a", "loop_b", "unused", "takes_ref"}
    assert names(g, g.defined() - g.reaching_import("rfz", "suspend")) == {
        "quiet", "loop_a", "loop_b", "unused", "takes_ref"}


def test_references_taken_by_segments_globals_and_ref_func():
    g = graph(GRAPH)
    assert names(g, g.address_taken) == {"via_table", "quiet", "from_global"}
    indirect = next(f for f in g.functions if f.name == "indirect")
    assert indirect.indirect and g.callees(indirect.index) == g.address_taken


def test_a_module_without_the_import_reaches_nothing():
    g = graph(GRAPH)
    assert g.reaching_import("rfz", "not_there") == frozenset()
    # another import is reached by its own callers (and by the indirect call, through $quiet's slot)
    assert names(g, g.reaching_import("host", "other")) == {"top", "quiet", "indirect"}


def test_call_ref_and_tail_calls_are_calls():
    g = graph("""
    (module
      (import "rfz" "suspend" (func $suspend))
      (type $t (func))
      (elem declare func $target)
      (func $target (call $suspend))
      (func $by_ref (call_ref $t (ref.func $target)))
      (func $tail (return_call $target))
      (func $tail_indirect (param funcref) (return_call_ref $t (ref.cast (ref $t) (local.get 0))))
      (func $none (nop)))
    """)
    reaching = g.reaching_import("rfz", "suspend")
    assert names(g, reaching) == {"target", "by_ref", "tail", "tail_indirect"}
    assert {f.name for f in g.functions if f.tail_calls} == {"tail", "tail_indirect"}


def test_try_table_is_noted():
    g = graph("""
    (module
      (func $guarded (block $h (try_table (catch_all $h) (nop))))
      (func $plain (nop)))
    """)
    assert [f.name for f in g.functions if f.try_tables] == ["guarded"]


def test_names_are_binaryens():
    """Binaryen (checked against 132) names an unnamed import fimport$INDEX and an unnamed defined
    function by its ordinal among defined functions; a name-section name wins."""
    g = graph("""
    (module
      (import "a" "x" (func))
      (import "a" "y" (func $named_import))
      (func)
      (func $named)
      (func))
    """)
    assert [f.name for f in g.functions] == ["fimport$0", "named_import", "0", "named", "2"]
    stripped = callgraph.call_graph(wasmtools.strip_all(wasmtools.parse("(module (func $a) (func $b))")))
    assert [f.name for f in stripped.functions] == ["0", "1"]


@pytest.mark.parametrize("name", ["a,b", "a*", " padded", "line\\0abreak"])
def test_a_name_a_list_cannot_hold_is_refused(name):
    g = graph(f'(module (func $f (@name "{name}")))')
    with pytest.raises(callgraph.Unlistable, match="cannot name"):
        g.names(g.defined())


def test_a_duplicated_name_is_refused():
    # two functions named "f" in the name section (Binaryen renames the second one)
    g = graph('(module (func $f1 (@name "f")) (func $f2 (@name "f")) (func $g))')
    assert g.names(frozenset({2})) == ["g"]
    with pytest.raises(callgraph.Unlistable):
        g.names(frozenset({1}))
