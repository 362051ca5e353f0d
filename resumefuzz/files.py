"""Files the harness writes: atomically, and the layout of ``check --out DIR``.

``DIR`` holds ``module.wasm``, ``prepared-plain.wasm``,
``prepared-suspendable.wasm``, ``verdict.json``, ``report.txt`` and
``snapshots/runNNN-MMMM.rfzsnap`` (snapshot MMMM of interrupted run NNN).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .checker import Verdict
    from .observation import Observation
    from .preparation import Preparation

__all__ = ["clear_snapshots", "write_atomic", "write_outputs", "write_snapshots"]


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write via a temporary file + rename: a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clear_snapshots(out: Path) -> None:
    """Remove an earlier check's snapshots from OUT (never mix two checks' snapshots)."""
    shutil.rmtree(out / "snapshots", ignore_errors=True)


def write_snapshots(out: Path, number: int, c: Observation) -> None:
    """Write interrupted run NUMBER's snapshots, and let go of them."""
    for i, data in enumerate(c.snapshots):
        write_atomic(out / "snapshots" / f"run{number:03d}-{i:04d}.rfzsnap", data)
    c.snapshots.clear()


def write_outputs(out: Path, verdict: Verdict, prep: Preparation, seed: int) -> None:
    """The modules that ran, the verdict as JSON and the report."""
    write_atomic(out / "module.wasm", prep.original)
    write_atomic(out / "prepared-plain.wasm", prep.plain)
    write_atomic(out / "prepared-suspendable.wasm", prep.suspendable)
    summary = {
        "status": verdict.status,
        "facets": verdict.facets,
        "seed": seed,
        "engine": json.loads(prep.engine.config_json()),
        "yield_points": str(prep.yield_points),
        "crossings": verdict.crossings,
        "schedules": verdict.schedules,
        "suspensions": verdict.suspensions,
        "inconclusive": verdict.inconclusive,
        "findings": [
            {"comparison": f.comparison, "schedule": f.schedule and json.loads(f.schedule.to_json()),
             "facets": f.facets, "divergences": [{"facet": d.facet, "where": d.where} for d in f.divergences]}
            for f in verdict.findings
        ],
    }
    write_atomic(out / "verdict.json", json.dumps(summary, indent=2) + "\n")
    write_atomic(out / "report.txt", verdict.report)
