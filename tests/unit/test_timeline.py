"""OUT/timeline.json: every stats counter over time, bounded for week-long runs (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resumefuzz.campaign import timeline
from resumefuzz.campaign.stats import Stats
from resumefuzz.errors import BadInput


def _stats(started: float, elapsed: float, cases: int, **extra: object) -> dict:
    data = {**Stats(cases=cases, schedules=3 * cases, suspensions=cases, started=started, elapsed=elapsed).to_json(),
            "options": {"generator": "smith", "cases": 7}, "exit_code": 0, "verdict": None, "error_messages": []}
    data.update(extra)
    return data


def test_a_point_keeps_every_counter_and_tally_and_new_liveness_classes() -> None:
    data = _stats(100.0, 5.0, 4, unsupported_reasons={"simd": 2}, future_suspensions=9, findings=["a", "b"])
    p = timeline.point(data)
    assert p["t"] == 105.0 and p["started"] == 100.0
    assert p["counters"]["cases"] == 4 and p["counters"]["schedules"] == 12
    assert p["counters"]["future_suspensions"] == 9  # a class added to Stats later needs no change here
    assert p["counters"]["findings"] == 2 and p["counters"]["errors"] == 0  # the count; not its messages
    assert "error_messages" not in p["counters"]
    assert p["tallies"]["unsupported_reasons"] == {"simd": 2}
    assert "options" not in p["tallies"] and "interrupted" not in p["counters"]  # not counts


def test_a_tally_keeps_its_largest_keys_and_sums_the_rest() -> None:
    reasons = {f"reason {i}": i for i in range(1, 101)}
    kept = timeline.point(_stats(0.0, 1.0, 1, unsupported_reasons=reasons))["tallies"]["unsupported_reasons"]
    assert len(kept) == timeline.MAX_KEYS + 1 and kept["reason 100"] == 100
    assert sum(kept.values()) == sum(reasons.values()) and kept[timeline.OTHER] == sum(range(1, 101 - timeline.MAX_KEYS))


def test_thinning_bounds_the_points_keeps_run_edges_and_the_newest_quarter() -> None:
    points: list[dict] = []
    for i in range(5000):
        started = 0.0 if i < 3000 else 1.0
        points.append({"t": float(i), "started": started, "elapsed": 0.0, "counters": {"cases": i}, "tallies": {}})
        points = timeline.thin(points, 100)
        assert len(points) <= 100
    times = [p["t"] for p in points]
    assert times == sorted(times) and times[0] == 0.0 and times[-1] == 4999.0
    assert 2999.0 in times and 3000.0 in times  # the first run's last point, the second's first
    assert times[-25:] == [float(i) for i in range(4975, 5000)]  # the newest quarter at full resolution
    assert len(points) > 50  # thinning keeps a useful number, not just the edges
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps[:20]) > max(gaps[-20:])  # older points are coarser


def test_record_appends_bounded_and_replaces_a_corrupt_file(tmp_path: Path) -> None:
    for i in range(60):
        timeline.record(tmp_path, _stats(1000.0, float(i), i), limit=20)
    points, runs = timeline.load(tmp_path / timeline.FILE)
    assert len(points) <= 20 and points[-1]["counters"]["cases"] == 59 and points[0]["counters"]["cases"] == 0
    assert timeline.run_options(runs, 1000.0) == {"generator": "smith", "cases": 7}
    timeline.record(tmp_path, _stats(2000.0, 1.0, 1), limit=20)  # a second campaign on the same OUT
    points, runs = timeline.load(tmp_path / timeline.FILE)
    assert {p["started"] for p in points} == {1000.0, 2000.0} and len(runs) == 2
    (tmp_path / timeline.FILE).write_text("{not json")
    timeline.record(tmp_path, _stats(3000.0, 1.0, 1))
    assert (tmp_path / (timeline.FILE + ".bad")).read_text() == "{not json"
    points, _ = timeline.load(tmp_path / timeline.FILE)
    assert [p["started"] for p in points] == [3000.0]


@pytest.mark.parametrize("content", ["[]", '{"format": "other", "points": []}',
                                     '{"format": "resumefuzz-timeline", "points": [{"t": 1}]}', "\xff"])
def test_a_corrupt_timeline_is_bad_input(tmp_path: Path, content: str) -> None:
    path = tmp_path / timeline.FILE
    path.write_text(content, encoding="latin-1")
    with pytest.raises(BadInput, match="corrupt timeline"):
        timeline.load(path)


def test_the_file_is_compact_json(tmp_path: Path) -> None:
    timeline.record(tmp_path, _stats(1.0, 1.0, 1))
    data = json.loads((tmp_path / timeline.FILE).read_text())
    assert data["format"] == "resumefuzz-timeline" and len(data["points"]) == 1


def test_a_runs_last_point_keeps_the_configuration_counts_whole(tmp_path: Path) -> None:
    """config_cases (the report's heat map) is whole in each run's last point; earlier points keep
    MAX_KEYS of it like any tally, so the file stays bounded."""
    configs = {f"asyncify: option={i} × smith/core": i + 1 for i in range(3 * timeline.MAX_KEYS)}
    for i in range(3):
        timeline.record(tmp_path, _stats(1000.0, float(i), i + 1, config_cases=configs))
    timeline.record(tmp_path, _stats(2000.0, 1.0, 1, config_cases={"asyncify × smith/core": 1}))  # a later run
    points, _ = timeline.load(tmp_path / timeline.FILE)
    kept = [p["tallies"]["config_cases"] for p in points]
    assert [len(k) for k in kept] == [timeline.MAX_KEYS + 1, timeline.MAX_KEYS + 1, len(configs), 1]
    assert kept[2] == configs and sum(kept[0].values()) == sum(configs.values())
    assert len(timeline.point(_stats(0.0, 1.0, 1, unsupported_reasons=configs))["tallies"]["unsupported_reasons"]) \
        == timeline.MAX_KEYS + 1  # other tallies stay bounded in every point
