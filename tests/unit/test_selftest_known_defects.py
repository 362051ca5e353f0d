"""`resumefuzz selftest` campaigns know the corpus's engine defects, as `resumefuzz fuzz --corpus` does:
meeting one costs a single classification (one transform), never a minimization (which took 40-60%
of a self-test campaign's time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from resumefuzz import corpus, selftest, wasmtools
from resumefuzz.campaign import CasePlan, Stats, run_case
from resumefuzz.campaign import case as case_module
from resumefuzz.fuzz import GeneratedCase

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
#: a corpus case whose engine defect Binaryen (the default release) still shows
DEFECT = (CORPUS / "cases" / "binaryen-if-branch-target-unreachable-condition.wat").read_text()


def test_known_defects_are_what_the_corpus_expects() -> None:
    cases, _ = corpus.discover([CORPUS])
    known = selftest.known_defects(CORPUS)
    assert known and known == corpus.expected_defects(cases)
    assert all(signature.startswith("engine-rejects-valid-") for signature in known)


def test_no_corpus_no_known_defects(tmp_path: Path) -> None:
    assert selftest.known_defects(tmp_path / "absent") == ()
    assert selftest.known_defects(None) == ()


def test_every_selftest_campaign_gets_the_corpus_defects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run() builds each campaign's options with the corpus's defects (recorded here, not run)."""
    seen: list = []

    class Recorded:
        def __init__(self, options) -> None:
            seen.append(options)

        def run(self) -> Stats:
            return Stats()

    monkeypatch.setattr(selftest, "Campaign", Recorded)
    planned = selftest.plan(["drop-output"], "asyncify")
    rows = selftest.run(planned, budget=1, jobs=1, seed=0, out=tmp_path, log=lambda line: None, corpus=CORPUS)
    assert len(rows) == len(seen) == 2
    expected = selftest.known_defects(CORPUS)
    assert [o.known_defects for o in seen] == [expected, expected]
    assert [o.engines for o in seen] == [("faulty:drop-output",), ("asyncify",)]
    seen.clear()
    selftest.run(planned[1:], budget=1, jobs=1, seed=0, out=tmp_path, log=lambda line: None, corpus=None)
    assert [o.known_defects for o in seen] == [()]


def test_a_corpus_defect_costs_a_selftest_campaign_one_classification(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the options selftest builds, a case meeting the corpus's defect is classified, not
    minimized or written (real Binaryen, the default release only)."""
    from resumefuzz import binaryen

    wasm = wasmtools.parse(DEFECT)
    monkeypatch.setattr(case_module, "generate",
                        lambda plan: GeneratedCase(plan.generator, plan.seed, plan.profile, wasm))
    default = binaryen.default_version()
    monkeypatch.setattr(binaryen, "installed_versions", lambda: {default: binaryen.binaryen_package_dir()})
    item = selftest.Planned(selftest.CORRECT, "asyncify", None)
    options = selftest.campaign_options(item, budget=60, jobs=1, seed=0, out=tmp_path,
                                        known=selftest.known_defects(CORPUS))
    result = run_case(CasePlan.make(options, 0), options)
    assert result.finding is not None and result.finding.signature in options.known_defects
    assert not result.finding.written and not (options.out / "findings").exists()
