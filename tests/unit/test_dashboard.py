"""`resumefuzz report`: merging campaign folders, escaping, bad input (issue 17).  The page in a
real browser: tests/e2e/test_report_browser.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from resumefuzz import dashboard
from resumefuzz.campaign import timeline
from resumefuzz.campaign.case import CaseResult
from resumefuzz.campaign.stats import MAX_CONFIGS, OTHER, Stats
from resumefuzz.checker import EQUAL
from resumefuzz.errors import BadInput

CLI = str(Path(sys.executable).with_name("resumefuzz"))
EVIL = '<script>alert("x")</script>'


def _campaign(out: Path, started: float, steps: list[tuple[float, int]], **extra: object) -> None:
    """OUT as a campaign leaves it: stats.json and the timeline, written as the campaign writes them."""
    out.mkdir(parents=True, exist_ok=True)
    for elapsed, cases in steps:
        data = {**Stats(cases=cases, schedules=10 * cases, suspensions=2 * cases, stack_suspensions=cases,
                        started=started, elapsed=elapsed).to_json(),
                "options": {"generator": "smith", "engines": ["asyncify"], "seed": 3, "out": str(out)},
                "exit_code": 0, "verdict": None, "error_messages": [], **extra}
        (out / "stats.json").write_text(json.dumps(data))
        timeline.record(out, data)


def test_several_folders_merge_by_summing_runs_over_time(tmp_path: Path) -> None:
    _campaign(tmp_path / "night1", 1000.0, [(10.0, 5), (20.0, 8)])
    _campaign(tmp_path / "night2", 1015.0, [(10.0, 100)])
    runs = [r for out in ("night1", "night2") for r in dashboard.load(tmp_path / out).runs]
    times, cases = dashboard.merged(runs, "cases")
    assert times == [1010.0, 1020.0, 1025.0]
    assert cases == [5, 8, 108]  # night1 holds its last value; night2 adds from when it recorded
    _, stack = dashboard.merged(runs, "stack_suspensions")
    assert stack == [5, 8, 108]
    times, rate = dashboard.rates(runs[0], "schedules")
    assert times == [1010.0, 1020.0] and rate == [5.0, 3.0]
    assert "stack_suspensions" in dashboard.liveness_classes(runs)


def test_the_page_escapes_what_campaigns_recorded_and_links_findings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _campaign(out, 1000.0, [(10.0, 5)], unsupported_reasons={EVIL: 3}, findings=["output-abc"])
    finding = out / "findings" / "output-abc"
    finding.mkdir(parents=True)
    (finding / "case.json").write_text(json.dumps({"facets": ["output"], "generator": EVIL, "profile": "core",
                                                   "engine": "asyncify", "before": {"module_bytes": 900, "suspensions": 4},
                                                   "after": {"module_bytes": 120, "suspensions": 1}}))
    (finding / "report.html").write_text("<html></html>")
    page_path = tmp_path / "site" / "page.html"
    path, sources = dashboard.write_report([out], page_path)
    page = path.read_text()
    assert EVIL not in page and "alert(" in page  # there, escaped: as table text and as plot data
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'href="../out/findings/output-abc/report.html"' in page  # relative to the page
    assert "900 → 120" in page and "4 → 1" in page and ">new<" in page
    assert "https://cdn" not in page.split("<body>")[1]  # plotly.js is inline, no network
    assert page.count('<div class="plot"') >= 4


@pytest.mark.parametrize("breakage, message", [
    (lambda out: None, "no stats.json"),
    (lambda out: (out / "stats.json").write_text("{"), "corrupt stats.json"),
    (lambda out: (out / "stats.json").write_text("[1]"), "corrupt stats.json"),
])
def test_a_folder_that_is_not_a_campaign_is_bad_input(tmp_path: Path, breakage, message: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    breakage(out)
    with pytest.raises(BadInput, match=message):
        dashboard.load(out)


def test_sizes_are_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _campaign(tmp_path / "out", 1.0, [(1.0, 1)])
    monkeypatch.setattr(dashboard, "MAX_STATS_BYTES", 10)
    with pytest.raises(BadInput, match="more than 10"):
        dashboard.load(tmp_path / "out")


def test_report_cli_bad_folders_exit_2_in_one_line(tmp_path: Path) -> None:
    _campaign(tmp_path / "good", 1.0, [(1.0, 1)])
    (tmp_path / "good" / timeline.FILE).write_text('{"format": "resumefuzz-timeline", "points": 3}')
    for args in (["report", str(tmp_path / "missing")], ["report", str(tmp_path / "good")]):
        proc = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "corrupt timeline" in proc.stderr
    assert not (tmp_path / "good" / "report.html").exists()


# -- the configuration space: counted by the campaign, rebuilt for older folders ---------------------------


def _counted(*cases: tuple[str, str]) -> dict[str, int]:
    stats = Stats()
    for engine, profile in cases:
        stats.add(CaseResult(EQUAL, engine=engine, generator="smith", profile=profile))
    return stats.config_cases


def test_the_configuration_space_is_counted_and_an_older_folder_is_rebuilt(tmp_path: Path) -> None:
    counted = _counted(("asyncify:optimize-level=2,version=132", "core"), ("asyncify:version=132", "core"),
                       ("asyncify:version=125", "tables"))
    _campaign(tmp_path / "new", 1000.0, [(5.0, 2), (10.0, 3)], config_cases=counted)
    _campaign(tmp_path / "old", 1000.0, [(10.0, 4)])  # an earlier version: no config_cases in stats.json
    new = dashboard.configuration_space(dashboard.load(tmp_path / "new").runs)
    assert new.counts == {("asyncify", "smith/core"): 2, ("asyncify", "smith/tables"): 1,
                          ("asyncify: optimize-level=2", "smith/core"): 1, ("asyncify: version=132", "smith/core"): 2,
                          ("asyncify: version=125", "smith/tables"): 1}  # as counted, not as the plans would draw
    assert (new.counted_runs, new.counted_cases, new.rebuilt_runs, new.other) == (1, 3, 0, 0)
    old = dashboard.configuration_space(dashboard.load(tmp_path / "old").runs)
    assert (old.counted_runs, old.rebuilt_runs, old.rebuilt, old.rebuilt_cases) == (0, 1, 4, 4)
    assert sum(n for (row, _), n in old.counts.items() if ":" not in row) == 4  # each plan under its engine's row
    page = dashboard.write_report([tmp_path / "new", tmp_path / "old"], tmp_path / "r.html")[0].read_text()
    assert "counted as the cases ran (stats.json config_cases) in 1 run(s), 3 case(s)" in page
    assert "rebuilt from 4 case plan(s) of 4 case(s) in 1 run(s) that did not count it" in page
    only_new = dashboard.write_report([tmp_path / "new"], tmp_path / "n.html")[0].read_text()
    assert "counted as the cases ran" in only_new and "rebuilt from" not in only_new


def test_the_configuration_counts_are_bounded_and_the_page_says_what_is_left_out(tmp_path: Path) -> None:
    counted = _counted(*((f"engine{i}", "core") for i in range(MAX_CONFIGS + 50)))
    assert len(counted) == MAX_CONFIGS + 1 and counted[OTHER] == 50
    assert sum(counted.values()) == MAX_CONFIGS + 50  # every case counted once, under its engine
    _campaign(tmp_path / "out", 1000.0, [(10.0, MAX_CONFIGS + 50)], config_cases=counted)
    space = dashboard.configuration_space(dashboard.load(tmp_path / "out").runs)
    assert space.other == 50 and len(space.counts) == MAX_CONFIGS
    assert f"50 count(s) beyond the campaign's {MAX_CONFIGS} configurations not drawn" in space.description()
