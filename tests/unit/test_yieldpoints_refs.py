"""Yield points and reference values (resumefuzz/yieldpoints.py).

A function that handles a reference value and makes no call gets no yield point at any density:
Asyncify cannot save reference values across an unwind, and without a yield point of its own such a
leaf cannot reach the suspending import, so Asyncify leaves it uninstrumented.  A function that
calls keeps its yield points (the corpus' table cases at ``loop,call`` rely on that).
"""

from __future__ import annotations

import pytest

from resumefuzz import wasmtools
from resumefuzz.abi import HARNESS_MODULE, SUSPEND
from resumefuzz.instrumentation import load_text
from resumefuzz.yieldpoints import MODES, YieldPoints, inject

MODULE_TEMPLATE = """
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 2 10 funcref)
  (global $fn (mut funcref) (ref.null func))
  (elem (table $t) (i32.const 0) func $inc $dbl)
  (func $set (param $slot i32) (param $which i32)   ;; leaf: table.set of a typed select of ref.func
    (table.set $t (i32.rem_u (local.get $slot) (table.size $t))
      (select (result funcref) (ref.func $inc) (ref.func $dbl) (local.get $which))))
  (func $grow (param $n i32) (result i32)           ;; leaf: table.grow
    (table.grow $t (ref.func $dbl) (local.get $n)))
  (func $local (param i32) (result i32) (local $r funcref)   ;; leaf: a funcref local only
    (local.get 0))
  (func $global (result i32)                        ;; leaf: a funcref global
    (ref.is_null (global.get $fn)))
  (func $plain (param i32) (result i32) (local $i i32)   ;; leaf without references: keeps its yield points
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (i32.add (local.get 0) (local.get $i)))
  (func $caller (export "run") (result i32) (local $acc i32)   ;; handles refs and calls: keeps them
{REF_LINE}
    (call $set (i32.const 1) (i32.const 0))
    (call $out (call $grow (i32.const 2)))
    (call $out (table.size $t))
    (local.set $acc (call_indirect $t (type $op) (i32.const 5) (i32.const 3)))
    (call $out (call $local (call $global)))
    (call $out (call $plain (local.get $acc)))
    (local.get $acc))
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.mul (local.get 0) (i32.const 2))))
"""
#: the caller's own reference handling (left out where Asyncify must accept the module at `all`)
REF_LINE = "    (global.set $fn (table.get $t (i32.const 1)))"
#: the functions above, in definition order (the import is function 0)
NAMES = ("set", "grow", "local", "global", "plain", "caller", "inc", "dbl")
LEAVES = {"set", "grow", "local", "global"}
MODULE = MODULE_TEMPLATE.replace("{REF_LINE}", REF_LINE)
#: the same without the caller's reference handling: only the leaves handle references
LEAF_REFS_ONLY = MODULE_TEMPLATE.replace("{REF_LINE}", "")


def _yields_per_function(spec: str) -> dict[str, int]:
    injected = load_text(inject(wasmtools.parse(MODULE), YieldPoints.parse(spec)).wasm)
    suspend = next(fn.name for fn in injected.funcs if fn.imported == (HARNESS_MODULE, SUSPEND.name))
    yield_fn = next(fn.name for fn in injected.funcs
                    if fn.field is not None and any(line.strip() == f"call {suspend}" for line in fn.field.lines))
    defined = [fn for fn in injected.funcs if fn.field is not None and fn.name != yield_fn]
    return {name: sum(line.strip() == f"call {yield_fn}" for line in fn.field.lines)
            for name, fn in zip(NAMES, defined)}


@pytest.mark.parametrize("spec", MODES)
def test_leaves_handling_references_get_no_yield_point(spec: str) -> None:
    counts = _yields_per_function(spec)
    assert all(counts[name] == 0 for name in LEAVES), counts
    if spec != "loop":
        assert counts["caller"] >= 1, counts  # entry, its calls, every boundary: it keeps them
    if spec in ("entry", "all"):
        assert counts["plain"] >= 1 and counts["inc"] >= 1, counts
    if spec == "loop":
        assert counts["plain"] == 1, counts


def test_asyncify_accepts_table_mutating_leaves_at_every_density() -> None:
    """Before the rule, `all` and `entry` put a yield point into the leaves and Asyncify refused the
    module ("does not yet support non-number types"); a planted table fault is still caught."""
    from resumefuzz.checker import check
    from resumefuzz.engines import get_engine

    wasm = wasmtools.parse(LEAF_REFS_ONLY)
    for spec in MODES:
        verdict = check(wasm, get_engine("asyncify"), seed=1, schedule="every;spread:4", yield_points=spec)
        assert verdict.status == "equal" and verdict.suspensions > 0, (spec, verdict.report)
    faulty = check(wasm, get_engine("faulty:corrupt-table-entry"), seed=1, schedule="every", yield_points="all")
    assert faulty.status == "divergent" and "table" in faulty.headline, faulty.report
