"""`Judge` directly: straight runs once, one interrupted run per schedule, strict B vs C."""

from __future__ import annotations

from resumefuzz.checker import DIVERGENT, EQUAL, INCONCLUSIVE, Judge, judge
from resumefuzz.engines import get_engine
from resumefuzz.preparation import prepare
from resumefuzz.schedule import Schedule
from resumefuzz.wasmtools import parse
from resumefuzz.yieldpoints import YieldPoints

COUNTER = """
(module
  (import "host" "out_i32" (func $out (param i32)))
  (global $n (mut i32) (i32.const 0))
  (func (export "run") (result i32) (local $i i32)
    (loop $l
      (global.set $n (i32.add (global.get $n) (local.get $i)))
      (call $out (global.get $n))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
    (global.get $n)))
"""


def _judge(engine: str = "asyncify", wat: str = COUNTER, fuel: int | None = None) -> Judge:
    kwargs = {} if fuel is None else {"fuel": fuel}
    return Judge(prepare(parse(wat), get_engine(engine), YieldPoints.parse("loop,call"), **kwargs), 0)


def test_a_correct_engine_is_transparent_under_every_schedule() -> None:
    j = _judge()
    assert j.inconclusive is None and j.crossings > 10
    assert j.transform() is None
    outcomes = list(j.schedules("every;spread:4"))
    assert len(outcomes) == 1 + 4
    assert all(finding is None for finding, _ in outcomes)
    assert sum(len(c.suspensions) for _, c in outcomes) >= j.crossings


def test_a_broken_restore_is_a_b_vs_c_finding_on_its_facet() -> None:
    j = _judge("faulty:drop-output")
    assert j.transform() is None  # the transform alone is fine: the fault is in restore
    finding, c = j.interrupted(Schedule("at:3", (3,)))
    assert finding is not None and finding.comparison == "B vs C" and "output" in finding.facets
    assert c.suspensions == [3]


def test_stop_at_finding_ends_the_schedule_loop() -> None:
    j = _judge("faulty:drop-output")
    outcomes = list(j.schedules("each", stop_at_finding=True))
    assert outcomes[-1][0] is not None and len(outcomes) < j.crossings


def test_verdicts() -> None:
    prep = prepare(parse(COUNTER), get_engine("asyncify"), YieldPoints.parse("loop"))
    assert judge(prep, seed=0, schedule="spread:3").status == EQUAL
    broken = prepare(parse(COUNTER), get_engine("faulty:drop-output"), YieldPoints.parse("loop"))
    assert judge(broken, seed=0, schedule="spread:3").status == DIVERGENT
    starved = prepare(parse(COUNTER), get_engine("asyncify"), YieldPoints.parse("loop"), fuel=5)
    assert judge(starved, seed=0, schedule="spread:3").status == INCONCLUSIVE
