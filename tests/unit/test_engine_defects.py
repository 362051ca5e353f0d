"""Engine defects (issue 13): a valid module the engine refuses to read is its own outcome and finding.

The modules are hand-written instances of Binaryen 132 front-end defects: wasm-tools validates
them, Binaryen's validator rejects what its own parser made of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resumefuzz import wasmtools
from resumefuzz.campaign import CasePlan, Options, Stats, gate, run_case, summary
from resumefuzz.campaign import case as case_module
from resumefuzz.campaign.case import ENGINE_DEFECT
from resumefuzz.engines import get_engine
from resumefuzz.errors import EngineDefect, Unsupported, message_class
from resumefuzz.fuzz import GeneratedCase
from resumefuzz.minimize import DefectPredicate
from resumefuzz.preparation import prepare
from resumefuzz.yieldpoints import YieldPoints

#: the corpus reproducers of the two `if` defects (their comments say what Binaryen misreads)
_CASES = Path(__file__).resolve().parents[2] / "corpus" / "cases"
IF_PARAM_UNREACHABLE = (_CASES / "binaryen-if-param-unreachable-condition.wat").read_text()
IF_TARGET_UNREACHABLE = (_CASES / "binaryen-if-branch-target-unreachable-condition.wat").read_text()
#: the same defect seen through another validator message (an operand of a binary op)
IF_TARGET_UNREACHABLE_ADD = """(module
  (func (export "f") (result i32)
    i32.const 5
    f64.const 1
    unreachable
    if (result i32)
      i32.const 1
      br 0
    else
      i32.const 2
    end
    i32.add))"""
#: tail calls: what Binaryen's Asyncify documents as not supported
TAIL_CALL = """(module
  (func $g (result i32) i32.const 3)
  (func (export "f") (result i32) return_call $g))"""


def _defect(wat: str) -> EngineDefect:
    wasm = wasmtools.parse(wat)
    wasmtools.validate(wasm)  # valid Wasm: wasm-tools has the last word
    with pytest.raises(EngineDefect) as info:
        prepare(wasm, get_engine("asyncify"), YieldPoints.parse("all"))
    return info.value


@pytest.mark.parametrize("wat, said", [
    (IF_PARAM_UNREACHABLE, "local.set's value type must be correct"),
    (IF_TARGET_UNREACHABLE, "non-final block elements returning a value must be dropped"),
    (IF_TARGET_UNREACHABLE_ADD, "f64 != i32: binary child types must be equal"),
])
def test_binaryen_rejecting_a_valid_module_is_an_engine_defect(wat: str, said: str) -> None:
    defect = _defect(wat)
    assert defect.exit_code == 5 and defect.label == "engine defect" and defect.engine == "asyncify"
    assert said in defect.detail and said in str(defect)  # the engine's own message, kept
    assert "does not validate in Binaryen" in defect.detail


def test_the_message_class_blanks_what_varies_between_instances() -> None:
    add = _defect(IF_TARGET_UNREACHABLE_ADD)
    assert add.message_class == "input module does not validate in Binaryen: T != T: binary child types must be equal"
    assert message_class("x: i64 != i32: binary child types must be equal; i64 != i32: i32 op") == \
        message_class("x: f32 != f64: binary child types must be equal")
    assert message_class("local.set's value type must be correct") != message_class(
        "non-final block elements returning a value must be dropped")
    assert message_class("bad index 17 of $foo at 0x1f") == "bad index N of $N at N"


def test_what_the_engine_documents_as_out_of_scope_stays_unsupported() -> None:
    with pytest.raises(Unsupported, match="tail calls not yet supported in asyncify") as info:
        prepare(wasmtools.parse(TAIL_CALL), get_engine("asyncify"), YieldPoints.parse("all"))
    assert not isinstance(info.value, EngineDefect) and info.value.exit_code == 3
    # a feature the transform is not given is out of scope too, though Binaryen's validator says it
    atomic = wasmtools.parse('(module (memory 1) (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))')
    with pytest.raises(Unsupported) as info:
        prepare(atomic, get_engine("asyncify"), YieldPoints.parse("all"))
    assert not isinstance(info.value, EngineDefect)


def test_the_defect_predicate_wants_a_valid_module_refused_the_same_way() -> None:
    target = _defect(IF_TARGET_UNREACHABLE)
    predicate = DefectPredicate("asyncify", "all", target.message_class)
    assert predicate(wasmtools.parse(IF_TARGET_UNREACHABLE))
    assert not predicate(wasmtools.parse(IF_PARAM_UNREACHABLE))  # refused, but another message class
    assert not predicate(wasmtools.parse('(module (func (export "f") (result i32) (i32.const 1)))'))  # accepted
    assert not predicate(b"\0asm\1\0\0\0\1")  # invalid


def _controlled(monkeypatch: pytest.MonkeyPatch, wat: str) -> None:
    """Every case's module is WAT (the real generator's record, a module we chose), and campaigns draw
    only the default Binaryen release (these are its defects; older releases may accept the module)."""
    from resumefuzz import binaryen

    wasm = wasmtools.parse(wat)
    monkeypatch.setattr(case_module, "generate",
                        lambda plan: GeneratedCase(plan.generator, plan.seed, plan.profile, wasm))
    default = binaryen.default_version()
    monkeypatch.setattr(binaryen, "installed_versions", lambda: {default: binaryen.binaryen_package_dir()})


def test_a_campaign_records_an_engine_defect_once_and_counts_it_apart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _controlled(monkeypatch, IF_PARAM_UNREACHABLE)
    options = Options(generator="smith", out=tmp_path, shrink_attempts=0, engines=("asyncify",))
    stats = Stats()
    first = run_case(CasePlan.make(options, 0), options)
    assert first.status == ENGINE_DEFECT and "local.set's value type must be correct" in first.why
    assert first.finding is not None and first.finding.written
    folder = tmp_path / "findings" / first.finding.signature
    assert folder.name.startswith("engine-rejects-valid-asyncify-")
    assert {"module.wasm", "module.wat", "case.json", "report.txt", "replay", "engine.json"} <= {
        p.name for p in folder.iterdir()}
    recorded = json.loads((folder / "case.json").read_text())
    assert recorded["kind"] == "engine-rejects-valid" and recorded["engine_name"] == "asyncify"
    assert "local.set's value type must be correct" in recorded["message"]
    assert "local.set's value type must be correct" in (folder / "report.txt").read_text()
    assert "exit 5" in (folder / "replay").read_text()
    # the second occurrence (other engine options, same defect) is the same finding, not written again
    second = run_case(CasePlan.make(options, 1), options)
    assert second.status == ENGINE_DEFECT and second.finding is not None
    assert second.finding.signature == first.finding.signature and not second.finding.written
    for result in (first, second):
        stats.add(result)
    stats.defect_findings.append(first.finding.signature)
    stats.defect_known.append(first.finding.signature)
    stats.elapsed = 10.0
    assert stats.engine_defects == 2 and stats.unsupported == 0 and stats.divergent == 0
    assert stats.engine_defect_classes == {
        "asyncify: input module does not validate in Binaryen: local.set's value type must be correct": 2}
    assert stats.known_defect_seconds == second.seconds > 0
    data = stats.to_json()
    assert data["engine_defects"] == 2 and data["engine_defect_classes"] and "known_defect_seconds" in data
    text = summary(stats, tmp_path, options)
    assert "engine defects 2" in text and "1 new, 1 already recorded" in text
    assert "2 × asyncify: input module does not validate in Binaryen: local.set's value type" in text
    # not a divergence: the campaign judged nothing, which the liveness gate says (exit 3, not 1)
    code, why = gate(stats, options)
    assert code == 3 and "2 engine defect(s)" in (why or "")


def test_a_new_engine_defect_is_minimized_still_valid_and_refused_the_same_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    padded = IF_TARGET_UNREACHABLE.replace("(module", """(module
  (memory 1)
  (global $g (mut i32) (i32.const 7))
  (func $unused (param i32) (result i32) local.get 0 global.get $g i32.add)
  (func (export "h") (result i32) i32.const 9 call $unused)""", 1)
    _controlled(monkeypatch, padded)
    options = Options(generator="smith", out=tmp_path, shrink_attempts=2, engines=("asyncify",))
    result = run_case(CasePlan.make(options, 0), options)
    assert result.finding is not None and result.finding.written
    assert result.finding.after.module_bytes < result.finding.before.module_bytes
    written = (tmp_path / "findings" / result.finding.signature / "module.wasm").read_bytes()
    wasmtools.validate(written)
    assert DefectPredicate("asyncify", "all", result.defect_class)(written)


def test_a_defect_the_corpus_expects_costs_one_classification(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Campaign economy: the corpus's engine-defect cases make their defects known; a known defect
    is classified (one transform) and neither minimized nor written."""
    from resumefuzz import corpus

    cases, errors = corpus.discover([Path(__file__).parents[2] / "corpus" / "cases"])
    assert not errors
    known = corpus.expected_defects(cases)
    _controlled(monkeypatch, IF_TARGET_UNREACHABLE.replace("i64.const 1", "f32.const 5"))  # same class
    out = tmp_path / "out"
    options = Options(generator="smith", out=out, shrink_attempts=40, engines=("asyncify",), known_defects=known)
    result = run_case(CasePlan.make(options, 0), options)
    assert result.status == ENGINE_DEFECT and result.finding is not None
    assert result.finding.signature in known and not result.finding.written
    assert not (out / "findings").exists()  # nothing minimized, nothing written
    stats = Stats()
    stats.add(result)
    assert stats.known_defect_seconds == stats.defect_seconds == result.seconds
    # without the corpus the same case is a new finding
    fresh = Options(generator="smith", out=tmp_path / "fresh", shrink_attempts=0, engines=("asyncify",))
    again = run_case(CasePlan.make(fresh, 0), fresh)
    assert again.finding is not None and again.finding.written


def test_corpus_add_turns_a_defect_finding_into_an_expected_engine_defect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from resumefuzz import corpus

    _controlled(monkeypatch, IF_PARAM_UNREACHABLE)
    options = Options(generator="smith", out=tmp_path / "out", shrink_attempts=0, engines=("asyncify",))
    result = run_case(CasePlan.make(options, 0), options)
    assert result.finding is not None
    sidecar, added = corpus.add_finding(tmp_path / "out" / "findings" / result.finding.signature, tmp_path / "corpus")
    assert added and sidecar.name.startswith("finding-engine-rejects-valid-")
    case = corpus.load_case(sidecar)
    assert case.expect.verdict == "engine-defect"
    assert case.expect.message == "input module does not validate in Binaryen: local.set's value type must be correct"
    assert corpus.replay_case(case).outcome == "pass"
    assert corpus.expected_defects([case]) == (result.finding.signature,)


@pytest.mark.parametrize("message, kind, defect", [
    ("input module does not validate in Binaryen: local.set's value type must be correct", "rejected", True),
    ("error in parsing wasm binary (parse exception: invalid element segment index (at 0:90))", "fatal", True),
    # an older release's parser: a construct it documents it cannot read yet, an opcode it does not decode
    ("error in parsing wasm binary (parse exception: control flow inputs are not supported yet (at 0:87))",
     "fatal", False),
    ("error in parsing wasm binary (parse exception: unknown misc operation: 13 (at 0:761))", "fatal", False),
    ("all used features should be allowed: --enable-memory64", "rejected", False),
    ("Fatal: tail calls not yet supported in asyncify", "fatal", False),
])
def test_what_counts_as_rejecting_a_valid_module(message: str, kind: str, defect: bool) -> None:
    """A release's documented limits stay unsupported (exit 3); its front end refusing valid input is a defect."""
    from resumefuzz import binaryen
    from resumefuzz.engines.asyncify import rejects_valid

    assert rejects_valid(binaryen.BinaryenError(message, kind)) is defect


def test_a_short_campaign_gives_a_new_defect_only_its_share_of_the_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: minimizing new engine defects must not eat a short campaign's budget (a 60 s campaign
    once spent it all minimizing defect classes and never reached the divergence it was after)."""
    import time

    from resumefuzz.campaign import findings

    _controlled(monkeypatch, IF_TARGET_UNREACHABLE)
    deadlines: list[float] = []

    def reduce_lines(wasm: bytes, predicate: object, *, deadline: float) -> bytes:
        deadlines.append(deadline - time.time())
        return wasm

    monkeypatch.setattr(findings, "reduce_lines", reduce_lines)
    for limit, budget in ((60.0, 6.0), (3600.0, 30.0), (None, 30.0)):  # case timeout 60 s: at most half of it
        options = Options(generator="smith", out=tmp_path / str(limit), shrink_attempts=5, engines=("asyncify",),
                          time_limit=limit)
        deadlines.clear()
        result = run_case(CasePlan.make(options, 0), options, deadline=time.time() + 600)
        assert result.status == ENGINE_DEFECT and deadlines, "the new defect was minimized"
        # (what is left when minimization starts: the budget counts from the case's start)
        assert deadlines[0] <= budget and (budget == 6.0 or deadlines[0] > 6.0), (limit, deadlines)
    assert case_module.defect_minimize_budget(Options(time_limit=20.0)) == case_module.DEFECT_MINIMIZE_FLOOR
