"""The planted faults of issue 12 (tables grown, segments dropped, second memory), each caught on its corpus module."""

from __future__ import annotations

from pathlib import Path

import pytest

from resumefuzz.cli import main
from resumefuzz.engines.faults import FAULTS

CASES = Path(__file__).resolve().parents[2] / "corpus" / "cases"
CAUGHT = [("lose-table-growth", "table-mutation-across-suspension"),
          ("forget-drops", "dropped-segment-read-after-suspension"),
          ("skip-second-memory", "two-memories-grown-and-copied")]


@pytest.mark.parametrize(("fault", "case"), CAUGHT, ids=[f for f, _ in CAUGHT])
def test_the_fault_is_caught_on_its_corpus_module_under_its_facet(fault: str, case: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    module = str(CASES / f"{case}.wat")
    args = ["check", module, "--schedule", "every;spread:8", "--quiet"]
    assert main([*args, "--engine", f"faulty:{fault}"]) == 1
    headline = capsys.readouterr().out
    assert headline.startswith("resumefuzz check: DIVERGENT: ")
    assert FAULTS[fault][1] in headline.split("DIVERGENT: ", 1)[1].strip().split(", ")
    assert main([*args, "--engine", "asyncify"]) == 0  # the module itself is equal
