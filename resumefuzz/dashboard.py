"""The campaign report: one self-contained HTML page of one or more campaign output folders.

``resumefuzz report OUT [OUT2 ...] [--html FILE]`` reads each OUT's ``stats.json``,
``timeline.json`` (:mod:`resumefuzz.campaign.timeline`) and ``findings/*/case.json`` and writes
one page: the runs, the liveness counters (zeros marked, with the campaign's own warnings),
throughput over time, cumulative suspensions by liveness class, findings over time, cases by
generator and suspensions by Binaryen release over time, unsupported reasons, the configuration
space covered (engine options x generator/profile, a heat map: counted by the campaign, stats.json
``config_cases``, or for a folder of an earlier version rebuilt from its deterministic case plans,
and the page says which), and a findings table linking each
finding's report.  Several folders (machines, nights) merge: counters are summed over every run at
each moment, throughput is drawn per run, a signature found in several folders is one row.

Plots are Plotly's, with plotly.js inlined once: the page needs no network.  Every text from a
campaign (reasons, signatures, engine specs) is escaped.  Sizes are checked before anything is
read; a missing folder or a corrupt stats.json/timeline.json is bad input (one line, exit 2).
"""

from __future__ import annotations

import bisect
import html
import json
import os
import urllib.parse
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .campaign import timeline
from .campaign.stats import MAX_CONFIGS, config_cell, config_keys
from .errors import BadInput
from .files import write_atomic

__all__ = ["load", "render", "write_report"]

MAX_STATS_BYTES = 16 << 20
MAX_CASE_BYTES = 1 << 20
MAX_FINDINGS = 2000  # finding folders read per OUT (the newest)
MAX_PLANS = 2000  # case plans rebuilt per report for an older run's configuration space (sampled evenly beyond)
MAX_ROWS = 40  # heat-map rows (engine option values), the most frequent
PAGE = "report.html"


@dataclass
class Run:
    """One campaign run: an OUT folder and the time it started."""

    source: str
    started: float
    points: list[dict[str, Any]]
    options: dict[str, Any] | None = None

    @property
    def last(self) -> dict[str, Any]:
        return self.points[-1]

    @property
    def label(self) -> str:
        return f"{self.source} {_time(self.started)}"


@dataclass
class FindingRow:
    signature: str
    sources: list[str]
    case: dict[str, Any]
    first_seen: float
    link: Path | None
    status: str  # "new" (this run's), "re-found" (found again), "" (earlier runs)
    error: str = ""


@dataclass
class Source:
    path: Path
    label: str
    stats: dict[str, Any]
    runs: list[Run]
    findings: list[FindingRow] = field(default_factory=list)
    more_findings: int = 0
    timeline_note: str = ""


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


def _bounded_json(path: Path, limit: int, what: str) -> Any:
    try:
        size = path.stat().st_size
        if size > limit:
            raise BadInput(f"{path}: {size} bytes, more than {limit} (not a {what} this version writes)")
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: corrupt {what} (not JSON: {exc})") from None


def load(out: Path, label: str | None = None) -> Source:
    """A campaign output folder, checked (BadInput naming what is wrong)."""
    if not out.is_dir():
        raise BadInput(f"{out}: not a directory (give the --out folder of a campaign)")
    stats_path = out / "stats.json"
    if not stats_path.is_file():
        raise BadInput(f"{out}: no stats.json (not a campaign's output folder)")
    stats = _bounded_json(stats_path, MAX_STATS_BYTES, "stats.json")
    if not isinstance(stats, dict) or type(stats.get("cases")) is not int \
            or not isinstance(stats.get("started"), (int, float)) or not isinstance(stats.get("elapsed"), (int, float)):
        raise BadInput(f"{stats_path}: corrupt stats.json (no cases, started and elapsed)")
    source = Source(out, label or out.name or str(out), stats, [])
    if (out / timeline.FILE).exists():
        points, runs = timeline.load(out / timeline.FILE)
    else:
        points, runs = [], {}
        source.timeline_note = f"{out}: no {timeline.FILE} (a campaign of an earlier version): its final counters only"
    if not points or points[-1]["started"] != float(stats["started"]):  # stats.json is newer than the timeline
        points = points + [timeline.point(stats)]
        runs = {**runs, timeline.run_key(float(stats["started"])): stats.get("options")}
    for p in points:
        if source.runs and source.runs[-1].started == p["started"]:
            source.runs[-1].points.append(p)
        else:
            source.runs.append(Run(source.label, p["started"], [p], timeline.run_options(runs, p["started"])))
    source.findings, source.more_findings = _findings(out, source.label, stats)
    return source


def _findings(out: Path, label: str, stats: dict[str, Any]) -> tuple[list[FindingRow], int]:
    root = out / "findings"
    if not root.is_dir():
        return [], 0
    try:
        folders = [p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir()]
    except OSError as exc:
        raise BadInput(f"{root}: cannot read ({exc.strerror})") from None

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    folders.sort(key=mtime, reverse=True)
    new = set(stats.get("findings") or ()) | set(stats.get("defect_findings") or ())
    again = set(stats.get("known") or ()) | set(stats.get("defect_known") or ())
    rows = []
    for folder in folders[:MAX_FINDINGS]:
        case: Any = {}
        error = ""
        try:
            case = _bounded_json(folder / "case.json", MAX_CASE_BYTES, "case.json")
            if not isinstance(case, dict):
                case, error = {}, "case.json is not an object"
        except BadInput as exc:
            error = str(exc)
        link = next((folder / n for n in (PAGE, "report.txt") if (folder / n).is_file()), None)
        status = "new" if folder.name in new else "re-found" if folder.name in again else ""
        rows.append(FindingRow(folder.name, [label], case, mtime(folder / "case.json") or mtime(folder), link,
                               status, error))
    return rows, max(0, len(folders) - MAX_FINDINGS)


# -- series -------------------------------------------------------------------------------------------


def _value(point: dict[str, Any], key: str) -> int:
    """A counter (``cases``) or a tally entry (``tally:key``) of POINT."""
    if ":" in key:
        tally, _, name = key.partition(":")
        return point["tallies"].get(tally, {}).get(name, 0)
    return point["counters"].get(key, 0)


def merged(runs: list[Run], key: str) -> tuple[list[float], list[int]]:
    """KEY summed over RUNS at every moment any of them recorded (each run holds its last value after
    it ended, 0 before it started): the total of several machines or nights over time."""
    times = sorted({p["t"] for run in runs for p in run.points})
    series = [([p["t"] for p in run.points], [_value(p, key) for p in run.points]) for run in runs]
    totals = []
    for t in times:
        total = 0
        for ts, vs in series:
            i = bisect.bisect_right(ts, t) - 1
            total += vs[i] if i >= 0 else 0
        totals.append(total)
    return times, totals


def rates(run: Run, key: str) -> tuple[list[float], list[float]]:
    """KEY per second between consecutive points of RUN (the first from the run's start)."""
    times, values = [], []
    previous_t, previous_v = run.started, 0
    for p in run.points:
        dt = p["t"] - previous_t
        v = _value(p, key)
        if dt > 0:
            times.append(p["t"])
            values.append((v - previous_v) / dt)
        previous_t, previous_v = p["t"], v
    return times, values


def _final(runs: list[Run], tally: str) -> dict[str, int]:
    """A tally summed over the runs' last points."""
    total: dict[str, int] = {}
    for run in runs:
        for key, value in run.last["tallies"].get(tally, {}).items():
            total[key] = total.get(key, 0) + value
    return total


def _counter_final(runs: list[Run], key: str) -> int:
    return sum(run.last["counters"].get(key, 0) for run in runs)


def liveness_classes(runs: list[Run]) -> list[str]:
    """Every ``*_suspensions`` counter the runs recorded (new liveness classes appear by themselves)."""
    names = {k for run in runs for p in run.points for k in p["counters"] if k.endswith("_suspensions")}
    return sorted(names)


# -- configuration space -------------------------------------------------------------------------------


@dataclass
class Space:
    """The configuration space covered: (engine option value, generator/profile) -> cases.

    Counted (stats.json ``config_cases``, each case as it finished) for the runs that recorded the
    counter; rebuilt from the deterministic case plans (``CasePlan.make(options, index)``) for runs of
    an earlier version that did not.
    """

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    counted_runs: int = 0
    counted_cases: int = 0
    other: int = 0  # counted cells beyond the campaign's bound (stats.MAX_CONFIGS), not drawn
    rebuilt_runs: int = 0
    rebuilt: int = 0  # plans rebuilt
    rebuilt_cases: int = 0  # ... of this many cases
    note: str = ""

    def add(self, row: str, column: str, count: int) -> None:
        self.counts[(row, column)] = self.counts.get((row, column), 0) + count

    def description(self) -> str:
        """What the heat map shows, in one sentence (counted, rebuilt, or both)."""
        parts = []
        if self.counted_runs:
            parts.append(f"counted as the cases ran (stats.json config_cases) in {self.counted_runs} run(s), "
                         f"{self.counted_cases} case(s)"
                         + (f"; {self.other} count(s) beyond the campaign's {MAX_CONFIGS} configurations not drawn"
                            if self.other else ""))
        if self.rebuilt_runs:
            parts.append(f"rebuilt from {self.rebuilt} case plan(s) of {self.rebuilt_cases} case(s) in "
                         f"{self.rebuilt_runs} run(s) that did not count it (an earlier version; plans are "
                         f"deterministic in the campaign seed{', sampled evenly' if self.rebuilt < self.rebuilt_cases else ''})")
        return "; ".join(parts)


def configuration_space(runs: list[Run]) -> Space:
    """The configuration space RUNS covered: each run's final ``config_cases`` tally where it counted
    one, else its case plans rebuilt (at most MAX_PLANS in all, sampled evenly)."""
    space = Space()
    wanted = []
    for run in runs:
        cases = run.last["counters"].get("cases", 0)
        counted = run.last["tallies"].get("config_cases")
        if counted:
            space.counted_runs += 1
            space.counted_cases += cases
            for key, count in counted.items():
                cell = config_cell(key)
                if cell is None:
                    space.other += count
                else:
                    space.add(*cell, count)
        elif run.options and cases:
            wanted.append((run, cases))
    total = sum(c for _, c in wanted)
    if total:
        _rebuild(space, wanted, total)
    return space


def _rebuild(space: Space, wanted: list[tuple[Run, int]], total: int) -> None:
    from .campaign.plan import CasePlan, Options

    step = -(-total // MAX_PLANS)  # the same stride in every run: at most MAX_PLANS (+ one a run) in all
    names = {f.name for f in fields(Options)}
    for run, cases in wanted:
        assert run.options is not None
        raw = {k: v for k, v in run.options.items() if k in names}
        try:
            raw["engines"] = tuple(raw.get("engines") or ("asyncify",))
            raw["known_defects"] = tuple(raw.get("known_defects") or ())
            raw["out"] = Path(str(raw.get("out", ".")))
            options = Options(**raw)
            plans = [CasePlan.make(options, index) for index in range(0, cases, step)]
        except Exception as exc:  # noqa: BLE001 - options of another version: skip that run, say so
            space.note = f"a run's case plans could not be rebuilt ({type(exc).__name__}: {exc})"
            continue
        for plan in plans:
            for key in config_keys(plan.engine, plan.generator, plan.profile):
                cell = config_cell(key)
                if cell is not None:
                    space.add(*cell, 1)
        space.rebuilt_runs += 1
        space.rebuilt += len(plans)
        space.rebuilt_cases += cases


# -- page ---------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:120em}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
td.n{text-align:right} tr.zero td{background:#fff3cd} .warn{color:#8a4b00} .bad{color:#b00020}
.plot{min-height:420px} code{font-size:.9em}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _label(text: str) -> str:
    """TEXT for a Plotly label: Plotly reads a subset of HTML in labels, so it is escaped (shown as is)."""
    return html.escape(text, quote=False)


class _Plots:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.count = 0

    def add(self, figure: Any, title: str) -> str:
        self.count += 1
        figure.update_layout(title=_label(title), margin={"l": 60, "r": 20, "t": 50, "b": 50}, height=420,
                             template="plotly_white")
        div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"plot-{self.count}",
                             config={"displaylogo": False, "responsive": True})
        return f'<div class="plot" data-traces="{len(figure.data)}">{div}</div>'


def render(sources: list[Source], html_path: Path) -> str:
    """The page for SOURCES, its links relative to HTML_PATH's folder."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    runs = [run for s in sources for run in s.runs]
    plots = _Plots()
    body = [f"<h1>resumefuzz campaign report: {_e(', '.join(s.label for s in sources))}</h1>",
            f"<p>{len(sources)} folder(s), {len(runs)} run(s); written {_e(_time(datetime.now().timestamp()))} "
            f"UTC.</p>"]
    body += [f'<p class="warn">{_e(s.timeline_note)}</p>' for s in sources if s.timeline_note]
    body.append(_runs_table(sources))
    body.append(_liveness(sources, runs))

    def x(ts: list[float]) -> list[str]:
        return [_iso(t) for t in ts]

    # throughput, per run
    figure = go.Figure()
    for run in runs:
        for key, what, dash in (("schedules", "pairs/s", "solid"), ("cases", "cases/s", "dot")):
            ts, vs = rates(run, key)
            figure.add_trace(go.Scatter(x=x(ts), y=vs, mode="lines+markers", name=_label(f"{what} {run.label}"),
                                        line={"dash": dash}))
    figure.update_yaxes(title="per second", rangemode="tozero")
    body.append("<h2>Throughput</h2>" + plots.add(figure, "(module, schedule) pairs and cases per second"))

    # cumulative suspensions by liveness class
    figure = go.Figure()
    for key in ["suspensions", "cases_suspended", *liveness_classes(runs)]:
        ts, vs = merged(runs, key)
        figure.add_trace(go.Scatter(x=x(ts), y=vs, mode="lines+markers", name=_label(key)))
    figure.update_yaxes(title="cumulative", rangemode="tozero")
    body.append("<h2>Liveness over time</h2>" + plots.add(figure, "suspensions by liveness class (cumulative)"))

    # findings over time
    figure = go.Figure()
    for key, name in (("findings", "new findings"), ("known", "known findings found again"),
                      ("divergent", "divergent cases"), ("defect_findings", "new engine defects"),
                      ("crashes", "crashes"), ("hangs", "hangs"), ("memory", "memory blow-ups")):
        ts, vs = merged(runs, key)
        if key in ("findings", "divergent") or any(vs):
            figure.add_trace(go.Scatter(x=x(ts), y=vs, mode="lines+markers", name=_label(name), line_shape="hv"))
    figure.update_yaxes(title="cumulative", rangemode="tozero")
    body.append("<h2>Findings over time</h2>" + plots.add(figure, "findings and divergent cases (cumulative)"))

    # per generator, per Binaryen release: tallies over time
    body.append("<h2>Cases by generator and profile, suspensions by engine release</h2>")
    for tally, title in (("generator_cases", "cases by generator (cumulative)"),
                         ("profile_cases", "cases by profile (cumulative)"),
                         ("binaryen_suspensions", "suspensions by Binaryen release (cumulative)"),
                         ("restores_by_config", "cases by restore configuration (cumulative)")):
        keys = sorted(_final(runs, tally))
        if not keys:
            body.append(f"<p>{_e(title)}: none recorded.</p>")
            continue
        figure = go.Figure()
        for key in keys:
            ts, vs = merged(runs, f"{tally}:{key}")
            figure.add_trace(go.Scatter(x=x(ts), y=vs, mode="lines", name=_label(key or "(this process)"),
                                        stackgroup="one"))
        body.append(plots.add(figure, title))

    # unsupported reasons (and engine errors), final totals
    body.append("<h2>Cases not judged</h2>")
    figure = go.Figure()
    for tally, name in (("unsupported_reasons", "unsupported"), ("engine_error_reasons", "engine error"),
                        ("engine_defect_classes", "engine defect")):
        reasons = sorted(_final(runs, tally).items(), key=lambda kv: kv[1])
        if reasons:
            figure.add_trace(go.Bar(y=[_label(r) for r, _ in reasons], x=[n for _, n in reasons], orientation="h",
                                    name=name))
    if figure.data:
        figure.update_layout(barmode="group", yaxis={"automargin": True})
        body.append(plots.add(figure, "cases not judged, by reason"))
    else:
        body.append("<p>Every case was judged: no unsupported case, engine error or engine defect.</p>")

    # configuration space
    body.append("<h2>Configuration space covered</h2>")
    space = configuration_space(runs)
    counts = space.counts
    if counts:
        rows = sorted({r for r, _ in counts}, key=lambda r: -sum(n for (rr, _), n in counts.items() if rr == r))
        rows = sorted(rows[:MAX_ROWS])
        columns = sorted({c for _, c in counts})
        z = [[counts.get((r, c), 0) for c in columns] for r in rows]
        figure = go.Figure(go.Heatmap(z=z, x=[_label(c) for c in columns], y=[_label(r) for r in rows],
                                      colorscale="Blues", hovertemplate="%{y} × %{x}: %{z} case(s)<extra></extra>"))
        figure.update_layout(height=max(420, 22 * len(rows) + 120))
        figure.update_yaxes(automargin=True, autorange="reversed")
        body.append(f"<p>Engine options (rows: each engine, then each option value it ran with) × generator/profile "
                    f"(columns): {_e(space.description())}" + (f"; {_e(space.note)}" if space.note else "") + ".</p>")
        body.append(plots.add(figure, "cases per engine option value × generator/profile"))
    else:
        body.append("<p>No configuration counted and no case plan to rebuild (no case ran, or the runs' options "
                    "are unknown" + (f": {_e(space.note)}" if space.note else "") + ").</p>")

    body.append(_findings_table(sources, html_path))
    script = (f'<script type="text/javascript">{get_plotlyjs()}</script>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>resumefuzz campaign report</title><style>{_STYLE}</style>{script}</head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _runs_table(sources: list[Source]) -> str:
    rows = []
    for s in sources:
        for run in s.runs:
            c = run.last["counters"]
            elapsed = run.last["elapsed"]
            final = run is s.runs[-1]
            verdict = (f"exit {s.stats.get('exit_code')}: {s.stats.get('verdict') or 'clean'}"
                       if final else "(an earlier run on this folder)")
            rows.append(f"<tr><td>{_e(s.label)}</td><td>{_e(_time(run.started))}</td><td class=n>{elapsed:.0f}s</td>"
                        f"<td class=n>{c.get('cases', 0)}</td><td class=n>{c.get('schedules', 0)}</td>"
                        f"<td class=n>{c.get('cases', 0) / max(elapsed, 1e-9):.2f}</td>"
                        f"<td class=n>{c.get('schedules', 0) / max(elapsed, 1e-9):.2f}</td>"
                        f"<td class=n>{c.get('findings', 0)}</td><td>{_e(verdict)}</td></tr>")
    return ("<h2>Runs</h2><table><tr><th>folder</th><th>started (UTC)</th><th>time</th><th>cases</th>"
            "<th>pairs</th><th>cases/s</th><th>pairs/s</th><th>new findings</th><th>verdict</th></tr>"
            + "".join(rows) + "</table>")


def _liveness(sources: list[Source], runs: list[Run]) -> str:
    from .campaign.stats import Stats, unreached

    rows = []
    flag = _counter_final(runs, "flag_cases") > 0  # yield-point mode flag: its audit is a liveness counter
    for key in ["cases", "equal", "divergent", "inconclusive", "unsupported", "engine_defects", "engine_errors",
                "errors", "suspensions", "cases_suspended", *liveness_classes(runs),
                *(["flag_cases", "flag_audits", "flag_violations"] if flag else [])]:
        total = _counter_final(runs, key)
        liveness = key.endswith("suspensions") or key in ("cases_suspended", "flag_audits")
        rows.append(f'<tr{" class=zero" if liveness and not total else ""}><td>{_e(key)}</td>'
                    f"<td class=n>{total}</td></tr>")
    warnings = []
    names = {f.name for f in fields(Stats)}
    for s in sources:
        try:
            stats = Stats(**{k: v for k, v in s.stats.items() if k in names})
            warnings += [f"{s.label}: {line}" for line in unreached(stats)]
        except Exception:  # noqa: BLE001 - stats.json of another version: the table still stands
            pass
    return ("<h2>Liveness (all runs)</h2><p>Counters summed over every run; a liveness class at 0 is marked: the "
            "campaign never reached that state.</p><table><tr><th>counter</th><th>total</th></tr>" + "".join(rows)
            + "</table>" + "".join(f'<p class="warn">warning: {_e(w)}</p>' for w in warnings))


def _findings_table(sources: list[Source], html_path: Path) -> str:
    merged_rows: dict[str, FindingRow] = {}
    for s in sources:
        for row in s.findings:
            if row.signature in merged_rows:
                first = merged_rows[row.signature]
                first.sources += row.sources
                first.first_seen = min(first.first_seen, row.first_seen)
                first.status = first.status or row.status
            else:
                merged_rows[row.signature] = FindingRow(row.signature, list(row.sources), row.case, row.first_seen,
                                                        row.link, row.status, row.error)
    rows = sorted(merged_rows.values(), key=lambda r: r.first_seen)
    more = sum(s.more_findings for s in sources)
    lines = [f"<h2>Findings ({len(rows)})</h2>"]
    if more:
        lines.append(f"<p>{more} older finding folder(s) not read (at most {MAX_FINDINGS} per folder).</p>")
    if not rows:
        return "\n".join(lines + ["<p>No finding.</p>"])
    lines.append("<table><tr><th>first seen (UTC)</th><th>signature</th><th>kind / facets</th><th>module bytes</th>"
                 "<th>suspensions</th><th>generator / profile</th><th>engine</th><th>folder(s)</th><th>status</th>"
                 "<th>report</th></tr>")
    base = html_path.resolve().parent
    for row in rows:
        case = row.case
        facets = case.get("facets") if isinstance(case.get("facets"), list) else []
        kind = case.get("kind") or ", ".join(map(str, facets)) or row.error or "?"
        before, after = case.get("before") or {}, case.get("after") or {}
        sizes = (f"{_get(before, 'module_bytes')} → {_get(after, 'module_bytes')}" if before else "?")
        suspensions = (f"{_get(before, 'suspensions')} → {_get(after, 'suspensions')}" if before else "?")
        link = ""
        if row.link is not None:
            href = urllib.parse.quote(Path(os.path.relpath(row.link.resolve(), base)).as_posix())
            link = f'<a href="{_e(href)}">{_e(row.link.name)}</a>'
        lines.append(f"<tr><td>{_e(_time(row.first_seen))}</td><td><code>{_e(row.signature)}</code></td>"
                     f"<td>{_e(kind)}</td><td class=n>{_e(sizes)}</td><td class=n>{_e(suspensions)}</td>"
                     f"<td>{_e(case.get('generator', '?'))} / {_e(case.get('profile', '?'))}</td>"
                     f"<td><code>{_e(case.get('engine', '?'))}</code></td><td>{_e(', '.join(row.sources))}</td>"
                     f"<td>{_e(row.status)}</td><td>{link}</td></tr>")
    lines.append("</table><p>status: new = first recorded by the folder's latest run; re-found = its latest run "
                 "found it again; blank = recorded by an earlier run.</p>")
    return "\n".join(lines)


def _get(record: Any, key: str) -> str:
    return str(record.get(key, "?")) if isinstance(record, dict) else "?"


def write_report(outs: list[Path], html_path: Path | None = None) -> tuple[Path, list[Source]]:
    """Read OUTS (each checked first: bad input before anything is written) and write the page to
    HTML_PATH (default OUTS[0]/report.html)."""
    labels: dict[str, int] = {}
    for out in outs:
        labels[out.name] = labels.get(out.name, 0) + 1
    sources = [load(out, out.name if labels[out.name] == 1 and out.name else str(out)) for out in outs]
    path = html_path if html_path is not None else outs[0] / PAGE
    if path.is_dir():
        raise BadInput(f"--html {path}: is a directory")
    try:
        write_atomic(path, render(sources, path))
    except OSError as exc:
        raise BadInput(f"--html {path}: cannot write ({exc.strerror})") from None
    return path, sources
