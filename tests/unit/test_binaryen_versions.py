"""Binaryen releases side by side: discovery, the Asyncify engine's `version` option, one resident
worker per release, readable errors from every release, and re-judging a finding on each release."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from resumefuzz import binaryen, versions, wasmtools
from resumefuzz.campaign import CasePlan, Options, Stats, run_case, summary
from resumefuzz.campaign import case as case_module
from resumefuzz.engines import draw_spec, get_engine
from resumefuzz.errors import BadInput, EngineDefect, Unsupported
from resumefuzz.fuzz import GeneratedCase
from resumefuzz.preparation import prepare
from resumefuzz.yieldpoints import YieldPoints

INSTALLED = list(binaryen.installed_versions())
DEFAULT = binaryen.default_version()
OLDEST = INSTALLED[0]

#: one output per call and a local live across the yield points: a planted restore fault shows
COUNTER = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const 7))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 6))))
    (local.get $acc)))"""

#: tail calls: an Asyncify limitation every release reports as a C++ fatal error
TAIL_CALL = """(module
  (import "rfz" "suspend" (func $s))
  (func $f (export "f") (result i32) call $s i32.const 1)
  (func (export "g") (result i32) return_call $f))"""


def test_the_pinned_releases_are_installed_side_by_side() -> None:
    assert len(INSTALLED) >= 2, "package.json pins several Binaryen releases (npm aliases binaryen-NNN)"
    assert DEFAULT in INSTALLED and INSTALLED == sorted(INSTALLED, key=int)
    for version, folder in binaryen.installed_versions().items():
        assert json.loads((folder / "package.json").read_text())["version"].split(".")[0] == version


def test_releases_are_discovered_beside_the_default_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """binaryen-NNN directories next to the default are releases when their package.json says NNN."""
    real = binaryen.installed_versions()
    modules = tmp_path / "node_modules"
    modules.mkdir()
    (modules / "binaryen").symlink_to(real[DEFAULT])
    (modules / f"binaryen-{OLDEST}").symlink_to(real[OLDEST])
    (modules / "binaryen-999").symlink_to(real[OLDEST])  # says it is OLDEST: not release 999
    (modules / "binaryen-old").mkdir()  # not a release name
    monkeypatch.setenv("RESUMEFUZZ_BINARYEN", str(modules / "binaryen"))
    assert list(binaryen.installed_versions()) == sorted({OLDEST, DEFAULT}, key=int)
    assert binaryen.default_version() == DEFAULT


def test_the_version_option_names_an_installed_release() -> None:
    engine = get_engine("asyncify")
    assert engine.config["version"] == DEFAULT and engine.spec() == "asyncify"  # the default, by its number
    assert json.loads(engine.config_json())["version"] == DEFAULT
    chosen = get_engine(f"asyncify:version={OLDEST},optimize-level=2")
    assert chosen.config["version"] == OLDEST and chosen.spec() == f"asyncify:optimize-level=2,version={OLDEST}"
    assert get_engine(chosen.spec()).config_json() == chosen.config_json()
    # given, the default release is recorded too (a finding replays on it after the default moves on)
    assert get_engine(f"asyncify:version={DEFAULT}").spec() == f"asyncify:version={DEFAULT}"
    # a fault planted into Asyncify keeps the release; re-judging changes only the release
    faulty = get_engine(f"faulty:lose-local,version={OLDEST}")
    assert faulty.config["version"] == OLDEST and faulty.spec() == f"faulty:lose-local,version={OLDEST}"
    assert faulty.reconfigured(version=DEFAULT).spec() == f"faulty:lose-local,version={DEFAULT}"


@pytest.mark.parametrize("value", ["1", "abc", "", "true", "132.0.0", "[120]"])
def test_a_release_not_installed_is_bad_input_naming_the_installed_ones(value: str) -> None:
    with pytest.raises(BadInput) as info:
        get_engine(f"asyncify:version={value}")
    assert "option version must be an installed Binaryen release" in str(info.value)
    assert ", ".join(INSTALLED) in str(info.value) and "\n" not in str(info.value)


def test_campaigns_draw_every_installed_release_the_default_twice() -> None:
    space = get_engine("asyncify").option_space["version"]
    assert sorted(set(space), key=int) == INSTALLED and space.count(DEFAULT) == 2
    drawn = {draw_spec("asyncify", lambda salt, choices, i=i: choices[i % len(choices)]) for i in range(len(space))}
    assert {get_engine(spec).config["version"] for spec in drawn} == set(INSTALLED)
    assert all("version=" in spec for spec in drawn)  # a drawn release is part of the recorded spec
    assert "version" not in get_engine("asyncify-compatible:cp {in} {out}").option_space  # no releases there


def test_one_resident_worker_per_release() -> None:
    old, new = binaryen.worker(OLDEST), binaryen.worker(DEFAULT)
    assert old is not new and binaryen.worker(OLDEST) is old
    assert binaryen.worker(None) is new  # the default release under either name
    assert old.request({"op": "ping"})["version"].split(".")[0] == OLDEST
    assert new.request({"op": "ping"})["version"].split(".")[0] == DEFAULT
    with pytest.raises(BadInput, match="Binaryen version 1 is not installed"):
        binaryen.worker("1")


@pytest.mark.parametrize("version", INSTALLED)
def test_every_release_reports_a_fatal_error_in_words(version: str) -> None:
    """Releases before 129 only print a fatal error and exit the emscripten runtime: the worker
    must still reply with Binaryen's words (it said "[object Object]")."""
    engine = get_engine(f"asyncify:version={version}")
    with pytest.raises(Unsupported) as info:
        engine.transform(wasmtools.parse(TAIL_CALL), ("rfz", "suspend"))
    assert "tail calls not yet supported in asyncify" in str(info.value)
    assert "object Object" not in str(info.value)
    # the worker restarted after the fatal error serves the next request
    assert engine.transform(wasmtools.parse(COUNTER), ("host", "out_i32"))[:4] == b"\0asm"


@pytest.mark.parametrize("version", INSTALLED)
def test_every_release_names_a_binary_it_cannot_parse(version: str) -> None:
    with pytest.raises(binaryen.BinaryenError) as info:
        binaryen.worker(version).run_passes(b"\0asm\1\0\0\0\x01\x05", ["asyncify"], {}, features=0)
    assert str(info.value).startswith("error in parsing wasm binary")  # releases before 129 add the parser's reason
    assert "object Object" not in str(info.value)


def test_each_release_transforms_with_its_own_binaryen() -> None:
    """A real transform per release (an Asyncify module exporting its control functions)."""
    wasm = wasmtools.parse(COUNTER)
    for version in (OLDEST, DEFAULT):
        out = get_engine(f"asyncify:version={version}").transform(wasm, ("host", "out_i32"))
        text = wasmtools.print_text(out)
        assert "asyncify_start_unwind" in text and "asyncify_stop_rewind" in text


def test_a_rejudge_still_running_at_its_timeout_is_recorded_as_such() -> None:
    release = threading.Event()
    outcome = versions._bounded(OLDEST, "asyncify", 0.05, lambda: (release.wait(60), versions.Outcome("equal"))[1])
    release.set()
    assert outcome.status == versions.TIMEOUT and "not judged within" in outcome.detail


def test_releases_not_started_before_the_deadline_are_not_run() -> None:
    known = {DEFAULT: versions.Outcome(versions.DIVERGENT, "as found")}
    outcomes = versions.rejudge("asyncify", wasmtools.parse(COUNTER), until=0.0, known=known)
    assert list(outcomes) == INSTALLED and outcomes[DEFAULT] == known[DEFAULT]
    assert {o.status for v, o in outcomes.items() if v != DEFAULT} == {versions.NOT_RUN}


def _controlled(monkeypatch: pytest.MonkeyPatch, wat: str) -> None:
    wasm = wasmtools.parse(wat)
    monkeypatch.setattr(case_module, "generate",
                        lambda plan: GeneratedCase(plan.generator, plan.seed, plan.profile, wasm))


def test_a_planted_fault_finding_is_rejudged_on_every_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fault is in the restore path, not in Binaryen: every release shows it."""
    _controlled(monkeypatch, COUNTER)
    options = Options(generator="smith", out=tmp_path, shrink_attempts=0, engines=(f"faulty:drop-output,version={OLDEST}",))
    result = run_case(CasePlan.make(options, 0), options)
    assert result.status == "divergent" and result.finding is not None
    folder = tmp_path / "findings" / result.finding.signature
    case = json.loads((folder / "case.json").read_text())
    assert case["versions"] == {v: "divergent" for v in INSTALLED}
    assert case["affected"] == f"{INSTALLED[0]}..{INSTALLED[-1]}" and case["affected_versions"] == INSTALLED
    for version, detail in case["versions_detail"].items():  # same engine spec, only the release changed
        assert detail["spec"] == f"faulty:drop-output,version={version}" and "output" in detail["detail"]
    report = (folder / "report.txt").read_text()
    assert f"re-judged on every installed Binaryen release: divergent on {case['affected']}" in report
    assert json.loads((folder / "engine.json").read_text())["binaryen_version"] == OLDEST
    stats = Stats()
    stats.findings.append(result.finding.signature)
    assert f"(Binaryen releases affected: {case['affected']})" in summary(stats, tmp_path)


#: valid (the `if` is unreachable code), refused by Binaryen 132's validator (docs/binaryen/)
IF_PARAM_UNREACHABLE = """(module
  (func (export "f") (result i32)
    f32.const 0
    unreachable
    if (param i32) (result i32)
    else
    end))"""


def test_an_engine_defect_is_rejudged_on_every_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Which releases refuse the module: each release's answer agrees with that release's own
    defect predicate, and the release it was found on refuses it."""
    _controlled(monkeypatch, IF_PARAM_UNREACHABLE)
    options = Options(generator="smith", out=tmp_path, shrink_attempts=0, engines=(f"asyncify:version={DEFAULT}",))
    result = run_case(CasePlan.make(options, 0), options)
    assert result.status == "engine_defect" and result.finding is not None and result.finding.written
    folder = tmp_path / "findings" / result.finding.signature
    case = json.loads((folder / "case.json").read_text())
    wasm = (folder / "module.wasm").read_bytes()
    assert list(case["versions"]) == INSTALLED and case["versions"][DEFAULT] == "engine-defect"
    for version, status in case["versions"].items():
        try:
            prepare(wasm, get_engine(f"asyncify:version={version}"), YieldPoints.parse(case["yield_points"]))
            expected = "accepts"
        except EngineDefect:
            expected = "engine-defect"
        except Unsupported:  # e.g. a parser that says it does not support this yet
            expected = "unsupported"
        assert status == expected, version
    rejecting = [v for v in INSTALLED if case["versions"][v] == "engine-defect"]
    assert case["affected_versions"] == rejecting and case["affected"] == versions.span(rejecting)
    assert "re-judged on every installed Binaryen release: engine-defect on" in (folder / "report.txt").read_text()
