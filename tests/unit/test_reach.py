"""Reach (issue 12): the campaign profile `all`, and the liveness counters of table changes, segment drops,
64-bit memories, several memories, Binaryen releases and drawn profiles."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from resumefuzz import wasmtools
from resumefuzz.campaign import CasePlan, CaseResult, Options, Stats, summary
from resumefuzz.campaign.case import binaryen_release, tally
from resumefuzz.campaign.plan import ALL, check_profile
from resumefuzz.campaign.stats import unreached
from resumefuzz.checker import EQUAL, Judge
from resumefuzz.engines import get_engine
from resumefuzz.errors import BadInput
from resumefuzz.fuzz import get_generator
from resumefuzz.preparation import prepare
from resumefuzz.yieldpoints import YieldPoints

CASES = Path(__file__).resolve().parents[2] / "corpus" / "cases"
MEMORY64 = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory i64 1 2)
  (func (export "run") (local $i i32)
    (loop $l
      (i32.store8 (i64.extend_i32_u (local.get $i)) (local.get $i))
      (call $out (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))))"""


# -- the profile draw -------------------------------------------------------------------------------


def test_all_is_the_default_and_each_case_draws_a_profile_of_its_generator_deterministically() -> None:
    assert Options().profile == ALL
    smith = get_generator("smith")
    plans = [CasePlan.make(Options(generator="smith", seed=3), i) for i in range(40)]
    assert [p.profile for p in plans] == [CasePlan.make(Options(generator="smith", seed=3), i).profile
                                          for i in range(40)]
    assert {p.profile for p in plans} == set(smith.profiles)  # 40 draws reach every profile
    assert all(asdict(p)["profile"] == p.profile for p in plans)  # recorded with the case (case.json)
    assert {p.profile for p in (CasePlan.make(Options(generator="smith", profile="core"), i)
                                for i in range(10))} == {"core"}


def test_a_composite_draws_among_the_profiles_of_the_member_making_the_case() -> None:
    plans = [CasePlan.make(Options(generator="mixed"), i) for i in range(60)]
    assert all(p.profile in get_generator(p.generator).profiles for p in plans)
    smith_only = set(get_generator("smith").profiles) - set(get_generator("structured").profiles)
    if smith_only:  # a profile only smith has is drawn for smith's cases, never for structured's
        assert not any(p.profile in smith_only and p.generator != "smith" for p in plans)


def test_profile_all_is_accepted_and_an_unknown_profile_is_bad_usage() -> None:
    check_profile(Options(generator="mixed", profile=ALL))
    with pytest.raises(BadInput, match="no profile 'nope'"):
        check_profile(Options(generator="smith", profile="nope"))


def test_smith_declares_multi_memory_for_its_multi_memory_profile() -> None:
    profiles = get_generator("smith").profiles
    assert "multi-memory" in profiles["multi-memory"] and "multi-memory" not in profiles["core"]
    assert "reference-types" in profiles["tables"]


# -- the liveness counters ------------------------------------------------------------------------------


def _reached(wasm: bytes, schedule: str = "every;spread:8") -> CaseResult:
    prep = prepare(wasm, get_engine("asyncify"), YieldPoints.parse("all"))
    judge = Judge(prep, 0)
    result = CaseResult(EQUAL)
    for finding, run in judge.schedules(schedule):
        assert finding is None
        tally(result, run, prep.sites)
    assert result.suspensions > 0
    return result


def _case(name: str) -> bytes:
    return wasmtools.load_module(CASES / f"{name}.wat")


def test_a_table_changed_before_a_suspension_is_counted() -> None:
    result = _reached(_case("table-mutation-across-suspension"))
    assert result.table_changed > 0
    assert (result.dropped, result.memory64, result.multi_memory) == (0, 0, 0)


def test_a_segment_dropped_before_a_suspension_is_counted() -> None:
    result = _reached(_case("dropped-segment-read-after-suspension"))
    assert result.dropped > 0
    assert (result.memory64, result.multi_memory) == (0, 0)


def test_two_memories_are_counted() -> None:
    result = _reached(_case("two-memories-grown-and-copied"))
    assert result.multi_memory == result.suspensions
    assert (result.table_changed, result.dropped, result.memory64) == (0, 0, 0)


def test_a_64_bit_memory_is_counted() -> None:
    result = _reached(wasmtools.parse(MEMORY64))
    assert result.memory64 == result.suspensions
    assert (result.table_changed, result.dropped, result.multi_memory) == (0, 0, 0)


def test_a_module_reaching_none_of_it_counts_zero() -> None:
    result = _reached(_case("output-events-around-suspension"))
    assert (result.table_changed, result.dropped, result.memory64, result.multi_memory) == (0, 0, 0, 0)


def test_the_binaryen_release_is_the_engines() -> None:
    from resumefuzz import binaryen

    assert binaryen_release(get_engine("asyncify")) == binaryen.default_version()
    assert binaryen_release(get_engine("faulty:drop-output")) == binaryen.default_version()
    assert binaryen_release(get_engine("asyncify-compatible:cp {in} {out}")) == ""  # an external transform: not Binaryen
    older = [v for v in binaryen.installed_versions() if v != binaryen.default_version()]
    if older:
        assert binaryen_release(get_engine(f"asyncify:version={older[0]}")) == older[0]


def test_stats_sum_the_counters_and_warn_of_what_stays_unreached(tmp_path: Path) -> None:
    stats = Stats()
    stats.add(CaseResult(EQUAL, suspensions=5, table_changed=2, dropped=1, profile="tables", binaryen="132"))
    stats.add(CaseResult(EQUAL, suspensions=0, profile="multi-memory", binaryen="125"))
    stats.add(CaseResult(EQUAL, suspensions=3, memory64=3, profile="core", binaryen="132"))
    assert (stats.table_suspensions, stats.drop_suspensions, stats.memory64_suspensions) == (2, 1, 3)
    assert stats.multi_memory_suspensions == 0
    assert stats.binaryen_suspensions == {"132": 8, "125": 0}
    assert stats.profile_cases == {"tables": 1, "multi-memory": 1, "core": 1}
    warnings = unreached(stats)
    assert len(warnings) == 2
    assert "profile multi-memory" in warnings[0] and "Binaryen 125" in warnings[1]
    text = summary(stats, tmp_path)
    assert "2 after a table change, 1 after a segment drop" in text
    assert text.count("warning: ") == 2
    stats.add(CaseResult(EQUAL, suspensions=4, multi_memory=4, profile="multi-memory", binaryen="125"))
    assert unreached(stats) == []
