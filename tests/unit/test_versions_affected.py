"""Which Binaryen releases a finding affects (resumefuzz/versions.py): an engine defect affects the
releases that refuse the module with the finding's message class; a release refusing it otherwise is
``other-refusal: <class>``, not affected.  Real Binaryen releases, transform only."""

from __future__ import annotations

import pytest

from resumefuzz import binaryen, versions, wasmtools
from resumefuzz.engines import get_engine
from resumefuzz.errors import EngineDefect
from resumefuzz.preparation import prepare
from resumefuzz.report import versions_table
from resumefuzz.yieldpoints import YieldPoints

DEFAULT = binaryen.default_version()
#: valid (the `if` is unreachable code); Binaryen 132's validator refuses it (docs/binaryen/)
IF_PARAM_UNREACHABLE = """(module
  (func (export "f") (result i32)
    f32.const 0
    unreachable
    if (param i32) (result i32)
    else
    end))"""
OTHER_CLASS = "input module does not validate in Binaryen: unreachable code must be dropped"


@pytest.fixture(scope="module")
def refusal() -> tuple[bytes, str]:
    wasm = wasmtools.parse(IF_PARAM_UNREACHABLE)
    with pytest.raises(EngineDefect) as info:
        prepare(wasm, get_engine("asyncify"), YieldPoints.parse("all"))
    return wasm, info.value.message_class


def test_releases_refusing_with_the_finding_class_are_affected(refusal: tuple[bytes, str]) -> None:
    wasm, cls = refusal
    outcomes = versions.rejudge("asyncify", wasm, prepare_only=True, message_class=cls)
    hit = versions.affected(outcomes, versions.ENGINE_DEFECT)
    assert DEFAULT in hit
    assert all(outcomes[v].message_class == cls for v in hit)
    assert outcomes[DEFAULT].to_json()["message_class"] == cls


def test_a_refusal_of_another_class_is_not_affected(refusal: tuple[bytes, str]) -> None:
    """The finding's class is OTHER_CLASS; the releases that refuse the module say something else."""
    wasm, cls = refusal
    plain = versions.rejudge("asyncify", wasm, prepare_only=True)  # check --all-versions: any refusal
    other = versions.rejudge("asyncify", wasm, prepare_only=True, message_class=OTHER_CLASS)
    refusing = versions.affected(plain, versions.ENGINE_DEFECT)
    assert DEFAULT in refusing
    assert versions.affected(other, versions.ENGINE_DEFECT) == []
    for version, outcome in other.items():
        if version in refusing:
            assert outcome.status == f"{versions.OTHER_REFUSAL}: {cls}", version
        else:  # accepts, unsupported, ...: unchanged
            assert outcome.status == plain[version].status, version
    table = versions_table(other, versions.ENGINE_DEFECT)
    assert "engine-defect on none" in table and f"other-refusal: {cls} on {DEFAULT}" in table
    assert versions.exit_code(other) == versions.exit_code(plain) == 5


def test_a_divergence_affects_every_release_that_diverges_on_any_facet() -> None:
    outcomes = {"121": versions.Outcome(versions.DIVERGENT, "output differs"),
                "125": versions.Outcome(versions.DIVERGENT, "memory differs"),
                "129": versions.Outcome(versions.EQUAL), "132": versions.Outcome(versions.UNSUPPORTED)}
    assert versions.affected(outcomes, versions.DIVERGENT) == ["121", "125"]
