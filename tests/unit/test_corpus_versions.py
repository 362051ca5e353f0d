"""The corpus sidecar's optional `affected_versions` (the engine releases a case was measured to
show its expected verdict in): validated like every other key, malformed values named by path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resumefuzz import binaryen, corpus
from resumefuzz.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
TINY = '(module (func (export "f")))'
GOOD = {"guards": "g", "origin": "hand-written", "seed": 0, "engine": "asyncify", "yield_points": "all",
        "wasmtime_opt": "speed", "schedule": "none", "expect": {"verdict": "equal"}}


def make_case(folder: Path, versions: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case-v.wat").write_text(TINY)
    sidecar = folder / "case-v.json"
    sidecar.write_text(json.dumps({**GOOD, "affected_versions": versions}))
    return sidecar


@pytest.mark.parametrize("versions, message", [
    (132, "must be a non-empty string or list of strings"),
    ([], "must be a non-empty string or list of strings"),
    ([130, 131], "must be a non-empty string or list of strings"),
    ({"from": 120}, "must be a non-empty string or list of strings"),
    ("", "'' is not a release"),
    ("latest", "'latest' is not a release"),
    ("120-", "'120-' is not a release"),
    ("120..132", "'120..132' is not a release"),
    ("120,,132", "'' is not a release"),
    (["v120"], "'v120' is not a release"),
    ("132-120", "'132-120': the range ends before it starts"),
    ("１２０", "is not a release"),  # full-width digits are not a release number
])
def test_malformed_affected_versions_are_named_by_path(tmp_path: Path, versions: object, message: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    sidecar = make_case(tmp_path, versions)
    _, errors = corpus.discover([tmp_path])
    assert len(errors) == 1
    assert errors[0].startswith(f"{sidecar}: 'affected_versions' ") and message in errors[0], errors[0]
    assert main(["corpus", "check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"malformed: {sidecar}: 'affected_versions'" in err and "Traceback" not in err


@pytest.mark.parametrize("versions, ranges, text", [
    ("120-132", ((120, 132),), "120\u2013132"),
    ("120\u2013132", ((120, 132),), "120\u2013132"),
    ("130", ((130, 130),), "130"),
    (" 130 , 119 - 125 ", ((119, 125), (130, 130)), "119\u2013125, 130"),
    (["130-132", "121"], ((121, 121), (130, 132)), "121, 130\u2013132"),
])
def test_well_formed_affected_versions_load(tmp_path: Path, versions: object,
                                            ranges: tuple[tuple[int, int], ...], text: str) -> None:
    case = corpus.load_case(make_case(tmp_path, versions))
    assert case.affected_versions == ranges
    assert corpus.format_versions(case.affected_versions) == text
    assert case.affects(ranges[0][0]) and case.affects(str(ranges[-1][1]))
    assert case.affects(ranges[0][0] - 1) is False and case.affects(ranges[-1][1] + 1) is False


def test_a_case_without_affected_versions_says_nothing(tmp_path: Path) -> None:
    sidecar = make_case(tmp_path, "130")
    sidecar.write_text(json.dumps(GOOD))
    case = corpus.load_case(sidecar)
    assert case.affected_versions == () and case.affects("132") is None


def test_recorded_versions_include_the_default_release() -> None:
    """A case that records its affected releases and replays as expected with the default release
    (the corpus suite demands that) must list the default release among them."""
    cases, errors = corpus.discover([CORPUS])
    assert errors == []
    recorded = [c for c in cases if c.affected_versions]
    assert {c.name for c in recorded} >= {"binaryen-if-param-unreachable-condition",
                                          "binaryen-if-branch-target-unreachable-condition",
                                          "binaryen-declarative-segment-shifts-indices"}
    default = binaryen.default_version()
    assert [c.name for c in recorded if not c.affects(default)] == []


def test_replay_shows_the_affected_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sidecar = make_case(tmp_path, "130, 119-125")
    assert main(["replay", str(sidecar)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("PASS"))
    assert "case-v" in line and "[affected releases: 119\u2013125, 130]" in line
