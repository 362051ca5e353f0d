"""Minimize a finding: first the schedule, then the module.

Schedule: fewest suspensions, then the earliest crossing that still shows a
divergence on one of the same facets.  Module: ``wasm-tools shrink`` with a
``resumefuzz check`` predicate (smith programs; structured programs are
shrunk by Hypothesis before they get here).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import wasmtools
from .process import die_with_parent, kill_group
from .checker import Finding, Judge
from .schedule import Schedule

EARLIEST_SCAN = 64  # how many earlier crossings to try for a single suspension


def minimize_schedule(judge: Judge, finding: Finding, *, deadline: float | None = None) -> Schedule:
    """Smallest, earliest schedule still diverging on one of FINDING's facets.

    After DEADLINE (epoch seconds) no more trials run: the best schedule so far is returned.
    """
    assert finding.schedule is not None
    facets = set(finding.facets)

    def fails(crossings: tuple[int, ...]) -> bool:
        if deadline is not None and time.time() >= deadline:
            return False
        found, _ = judge.interrupted(Schedule("min", crossings))
        return found is not None and bool(facets & set(found.facets))

    best = finding.schedule.crossings
    single = next((c for c in best if fails((c,))), None)
    if single is not None:
        best = (single,)
        for earlier in range(1, min(single, EARLIEST_SCAN + 1)):
            if fails((earlier,)):
                best = (earlier,)
                break
    else:
        for crossing in list(best):
            trial = tuple(c for c in best if c != crossing)
            if trial and fails(trial):
                best = trial
    return Schedule("at:" + ",".join(map(str, best)), best)


_PREDICATE = """#!{python}
# wasm-tools shrink predicate: exit 0 iff the module still diverges on one of the facets.
import contextlib, io, sys
from resumefuzz.process import die_with_parent
die_with_parent()  # a killed shrinker (or worker) takes its predicates with it
from resumefuzz.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    code = main(["check", sys.argv[1], *{args!r}, "--quiet"])
head = out.getvalue().split("DIVERGENT:", 1)
found = set(f.strip() for f in head[1].split(",")) if len(head) == 2 else set()
sys.exit(0 if code == 1 and found & {facets!r} else 1)
"""


def shrink_module(wasm: bytes, check_args: list[str], facets: set[str], *, attempts: int = 40,
                  timeout: float = 300.0) -> bytes:
    """`wasm-tools shrink` WASM while `resumefuzz check WASM CHECK_ARGS` still diverges on FACETS."""
    with tempfile.TemporaryDirectory(prefix="resumefuzz-shrink-") as tmp:
        folder = Path(tmp)
        predicate = folder / "predicate.py"
        predicate.write_text(_PREDICATE.format(python=sys.executable, args=check_args, facets=facets))
        predicate.chmod(predicate.stat().st_mode | stat.S_IXUSR)
        source, target = folder / "input.wasm", folder / "shrunk.wasm"
        source.write_bytes(wasm)
        if timeout <= 0:
            return wasm
        # Its own process group: at the timeout the shrinker and every predicate it started go.
        proc = subprocess.Popen([wasmtools.executable(), "shrink", str(predicate), str(source), "-o", str(target),
                                 "--attempts", str(attempts), "--seed", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=die_with_parent,
                                env={**os.environ, "RESUMEFUZZ_DEBUG": ""})
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
        finally:
            kill_group(proc)  # predicates still running after the shrinker ended
        return target.read_bytes() if target.is_file() and target.stat().st_size else wasm

