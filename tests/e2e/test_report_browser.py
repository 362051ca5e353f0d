"""The HTML reports in a real browser (issue 17): headless Chromium (Debian package) opens the campaign
report of a real tiny campaign and the divergence report of a real planted-fault check; no console
message or uncaught exception, every plot rendered with its traces drawn.  Screenshots are kept in
the test's tmp dir (pytest's basetemp, e.g. /tmp/pytest-of-$USER/pytest-current/) and, when
RESUMEFUZZ_ARTIFACTS is set, copied there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from browser import CHROMIUM, visit
from resumefuzz.campaign import timeline
from resumefuzz.campaign.stats import Stats

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
CLI = str(Path(sys.executable).with_name("resumefuzz"))

PLOTS = """Array.from(document.querySelectorAll('div.plot')).map(d => ({
  traces: +d.dataset.traces, svg: d.querySelectorAll('svg.main-svg').length,
  drawn: d.querySelectorAll('g.trace, g.hm').length,
  marks: d.querySelectorAll('path.js-line, path.point, g.point path, g.hm image').length}))"""
RENDERED = "Array.from(document.querySelectorAll('div.plot')).every(d => d.querySelector('svg.main-svg g.trace, svg.main-svg g.hm'))"

MODULE = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (global $a (mut i32) (i32.const 1))
  (func (export "run") (local $i i32)
    (loop $l
      (i32.store8 (i32.mul (local.get $i) (i32.const 97)) (i32.add (local.get $i) (i32.const 0x41)))
      (global.set $a (i32.add (global.get $a) (local.get $i)))
      (call $out (global.get $a))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (i32.store8 (i32.const 65535) (i32.const 0x7a))))
"""


def _keep(screenshot: Path) -> None:
    target = os.environ.get("RESUMEFUZZ_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(target) / screenshot.name)


def _clean(result) -> None:  # noqa: ANN001
    assert result.exceptions == [] and result.console == [], (result.exceptions, result.console)


def _campaign_report_renders(tmp_path: Path, outs: list[Path], min_plots: int) -> None:
    html = tmp_path / "site" / "report.html"
    report = subprocess.run([CLI, "report", *map(str, outs), "--html", str(html)], capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    shot = tmp_path / "campaign-report.png"
    result = visit(html.as_uri(), PLOTS, shot, wait_for=RENDERED)
    _clean(result)
    plots = result.probe
    assert len(plots) >= min_plots, plots
    for plot in plots:  # each plot drew every trace it has, with data
        assert plot["svg"] >= 1 and plot["traces"] >= 1 and plot["drawn"] == plot["traces"] and plot["marks"] >= 1, plots
    assert shot.stat().st_size > 10_000
    _keep(shot)


def test_campaign_report_renders_every_plot(tmp_path: Path) -> None:
    """Two campaign folders as campaigns write them (stats.json and timeline.json through the
    campaign's own writers, cheap), merged; the real campaign is the nightly test below."""
    for name, started, reason in (("night1", 1_700_000_000.0, "simd <b>"), ("night2", 1_700_090_000.0, "gc")):
        out = tmp_path / name
        out.mkdir()
        for step in range(1, 6):
            stats = Stats(cases=4 * step, equal=4 * step - 1, unsupported=1, schedules=40 * step,
                          suspensions=9 * step, stack_suspensions=3 * step, deep_suspensions=step,
                          generator_cases={"smith": 2 * step, "structured": 2 * step}, profile_cases={"core": 4 * step},
                          binaryen_suspensions={"132": 9 * step}, unsupported_reasons={reason: 1},
                          started=started, elapsed=5.0 * step)
            data = {**stats.to_json(), "options": {"generator": "mixed", "engines": ["asyncify"], "seed": 1,
                                                   "out": str(out)}, "exit_code": 0, "verdict": None, "errors": []}
            (out / "stats.json").write_text(json.dumps(data))
            timeline.record(out, data)
    _campaign_report_renders(tmp_path, [tmp_path / "night1", tmp_path / "night2"], 5)


@pytest.mark.nightly  # ~20-50 s: a real campaign
def test_campaign_report_of_a_real_campaign_renders_every_plot(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fuzz = subprocess.run([CLI, "fuzz", "--no-progress", "--engine", "faulty:drop-output", "--cases", "1",
                           "--shrink-attempts", "0", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert fuzz.returncode == 1, fuzz.stdout + fuzz.stderr
    assert (out / "timeline.json").is_file()
    findings = list((out / "findings").iterdir())
    assert len(findings) == 1 and "Differing facets" in (findings[0] / "report.html").read_text()
    _campaign_report_renders(tmp_path, [out], 5)


def test_divergence_report_of_a_planted_fault_renders_the_marked_hexdump(tmp_path: Path) -> None:
    module = tmp_path / "m.wat"
    module.write_text(MODULE)
    out = tmp_path / "case"
    check = subprocess.run([CLI, "check", str(module), "--engine", "faulty:zero-last-byte", "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "memory" in check.stdout, check.stdout + check.stderr
    shot = tmp_path / "divergence-report.png"
    probe = """({marks: Array.from(document.querySelectorAll('mark.d')).map(m => m.textContent),
                 facets: Array.from(document.querySelectorAll('.facet')).map(f => f.textContent),
                 replay: document.body.innerText.includes('--engine faulty:zero-last-byte')})"""
    result = visit((out / "report.html").as_uri(), probe, shot)
    _clean(result)
    assert result.probe["facets"] == ["memory"]
    marks = result.probe["marks"]  # the last byte, both sides, hex and text, in each comparison shown
    assert marks[:4] == ["7a", "z", "00", "."] and len(marks) % 4 == 0 and set(marks) == {"7a", "z", "00", "."}
    assert result.probe["replay"]
    _keep(shot)
