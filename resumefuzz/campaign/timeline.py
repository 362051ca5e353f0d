"""A campaign's time series, ``OUT/timeline.json``: its counters every few seconds, bounded in size.

Each time a campaign writes ``stats.json`` it also records a point here (:func:`record`): the
wall-clock time, the run's start (a later campaign on the same OUT is another run), and every
counter of the stats: integer counters (cases, schedules, each ``*_suspensions`` liveness class
as they are added to :class:`~resumefuzz.campaign.stats.Stats`, ...), list lengths (findings,
known) and tallies (unsupported reasons, cases by generator and profile, suspensions by Binaryen
release, ...).  Nothing is named here: a counter added to the stats is recorded without a change.

Bounded for week-long runs: at most :data:`MAX_POINTS` points; when full, the older three quarters
are thinned to every other point (each run's first and last point kept), so resolution decays
with age and the newest quarter stays fine.  A tally keeps its :data:`MAX_KEYS` largest keys (the
rest summed as ``(other)``), except in each run's last point for the tallies of :data:`WHOLE_AT_END`
(the configuration space counted, ``config_cases``: the report's heat map needs every cell of a
run's final figure; stats.json bounds it itself): a run's earlier points keep MAX_KEYS of those
too.  The file is rewritten atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..files import write_atomic

__all__ = ["FILE", "MAX_POINTS", "load", "point", "record", "run_key", "run_options", "thin"]

FILE = "timeline.json"
FORMAT = "resumefuzz-timeline"
MAX_POINTS = 400
MAX_KEYS = 24  # per tally
#: tallies a run's last point keeps whole (up to MAX_WHOLE_KEYS keys): final figures the report draws cell by cell
WHOLE_AT_END = ("config_cases",)
MAX_WHOLE_KEYS = 1024  # above stats.MAX_CONFIGS (+ its "(other)")
MAX_KEY_CHARS = 120
OTHER = "(other)"
#: reading bound (report): MAX_POINTS points of MAX_KEYS-key tallies stay far below it
MAX_BYTES = 64 << 20

#: what the last record() wrote, per file: (mtime_ns, size, points, runs); spares re-reading it every few seconds
_written: dict[str, tuple[int, int, list[dict[str, Any]], dict[str, Any]]] = {}


def point(stats: dict[str, Any]) -> dict[str, Any]:
    """One timeline point from a stats.json document (``Stats.to_json()`` and what the campaign adds)."""
    counters: dict[str, int] = {}
    tallies: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if type(value) is int:  # noqa: E721 - bools are not counters
            counters[key] = value
        elif isinstance(value, list) and key not in ("errors", "error_messages"):  # messages (older: errors)
            counters[key] = len(value)
        elif isinstance(value, dict) and value and all(type(v) is int for v in value.values()):  # noqa: E721
            tallies[key] = _bounded(value, MAX_WHOLE_KEYS if key in WHOLE_AT_END else MAX_KEYS)
    return {"t": float(stats.get("started", 0.0)) + float(stats.get("elapsed", 0.0)),
            "started": float(stats.get("started", 0.0)), "elapsed": float(stats.get("elapsed", 0.0)),
            "counters": counters, "tallies": tallies}


def _bounded(tally: dict[str, int], limit: int = MAX_KEYS) -> dict[str, int]:
    items: dict[str, int] = {}
    for k, v in tally.items():  # keys cut to MAX_KEY_CHARS: two that then coincide are summed
        items[str(k)[:MAX_KEY_CHARS]] = items.get(str(k)[:MAX_KEY_CHARS], 0) + v
    ordered = sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ordered[:limit])
    rest = sum(v for _, v in ordered[limit:])
    if rest:
        kept[OTHER] = kept.get(OTHER, 0) + rest
    return kept


def thin(points: list[dict[str, Any]], limit: int = MAX_POINTS) -> list[dict[str, Any]]:
    """POINTS cut to at most LIMIT: the older three quarters keep every other point (and each run's
    first and last), repeatedly until they fit; the newest quarter is kept whole."""
    points = list(points)
    while len(points) > limit:
        fine = max(1, limit // 4)
        old, new = points[:-fine], points[-fine:]
        kept = []
        for i, p in enumerate(old):
            edge = (i == 0 or old[i - 1]["started"] != p["started"]
                    or (old[i + 1]["started"] if i + 1 < len(old) else new[0]["started"]) != p["started"])
            if edge or i % 2 == 0:
                kept.append(p)
        if len(kept) == len(old):  # only run edges left: drop the oldest runs' points outright
            kept = old[len(points) - limit:]
        points = kept + new
    return points


def record(out: Path, stats: dict[str, Any], limit: int = MAX_POINTS) -> None:
    """Append STATS (a stats.json document) as a point to OUT/timeline.json, thinned to LIMIT points.

    An unreadable or corrupt timeline is set aside (``timeline.json.bad``) and a new one started:
    the time series must never stop a campaign.
    """
    path = out / FILE
    points, runs = _for_append(path)
    new = point(stats)
    if points and points[-1]["started"] == new["started"]:  # no longer the run's last point
        points[-1] = _trimmed(points[-1])
    points.append(new)
    points = thin(points, limit)
    if isinstance(stats.get("options"), dict):
        runs[run_key(new["started"])] = stats["options"]
    live = {run_key(p["started"]) for p in points}
    runs = {k: v for k, v in runs.items() if k in live}
    write_atomic(path, json.dumps({"format": FORMAT, "version": 1, "runs": runs, "points": points},
                                  separators=(",", ":")))
    try:
        info = path.stat()
        _written[str(path)] = (info.st_mtime_ns, info.st_size, points, runs)
    except OSError:
        _written.pop(str(path), None)


def _trimmed(p: dict[str, Any]) -> dict[str, Any]:
    """Point P with its WHOLE_AT_END tallies bounded as any other (it is no longer a run's last point)."""
    if not any(len(p["tallies"].get(key, ())) > MAX_KEYS for key in WHOLE_AT_END):
        return p
    tallies = {k: _bounded(v) if k in WHOLE_AT_END else v for k, v in p["tallies"].items()}
    return {**p, "tallies": tallies}


def run_key(started: float) -> str:
    return f"{started:.6f}"


def _for_append(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        info = path.stat()
    except OSError:
        return [], {}
    cached = _written.get(str(path))
    if cached is not None and cached[:2] == (info.st_mtime_ns, info.st_size):
        return list(cached[2]), dict(cached[3])
    try:
        return load(path)
    except BadInput:
        try:
            os.replace(path, path.with_name(FILE + ".bad"))
        except OSError:
            pass
        return [], {}


def run_options(runs: dict[str, Any], started: float) -> dict[str, Any] | None:
    """The campaign options of the run that started at STARTED (as stats.json records them), if known."""
    options = runs.get(run_key(started))
    return options if isinstance(options, dict) else None


def load(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(The points, the options of each run) of the timeline at PATH, checked; BadInput (one line)
    when too large or malformed."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadInput(f"{path}: {size} bytes, more than {MAX_BYTES} (not a timeline this version writes)")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: corrupt timeline (not JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("points"), list):
        raise BadInput(f"{path}: corrupt timeline (not a {FORMAT} document)")
    for i, p in enumerate(data["points"]):
        if not (isinstance(p, dict) and all(isinstance(p.get(k), (int, float)) for k in ("t", "started", "elapsed"))
                and isinstance(p.get("counters"), dict) and isinstance(p.get("tallies"), dict)
                and all(type(v) is int for v in p["counters"].values())  # noqa: E721
                and all(isinstance(t, dict) and all(type(v) is int for v in t.values())  # noqa: E721
                        for t in p["tallies"].values())):
            raise BadInput(f"{path}: corrupt timeline (point {i} is malformed)")
    runs = data.get("runs", {})
    if not isinstance(runs, dict):
        raise BadInput(f"{path}: corrupt timeline (runs is not an object)")
    return data["points"], runs
