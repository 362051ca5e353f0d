"""Minimize a finding: first the schedule, then the module.

Schedule: fewest suspensions, then the earliest crossing that still shows a
divergence on one of the same facets.  Module: the generator's own shrinker
(``Generator.shrink``) with a :class:`Predicate` that judges each candidate
through the judging API (the verdict's status and facets, never report
text); ``wasm-tools shrink`` (smith programs) runs it as an executable.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import wasmtools
from .process import die_with_parent, kill_group
from .checker import DIVERGENT, Finding, Judge, Verdict, check
from .errors import ResumefuzzError, Unsupported
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


@dataclass(frozen=True)
class Predicate:
    """Does a module still diverge, judged as the finding was, on one of the finding's FACETS?"""

    engine: str  # the engine spec
    seed: int
    schedule: str  # the schedule spec
    yield_points: str
    wasmtime_opt: str
    facets: tuple[str, ...]

    def verdict(self, wasm: bytes) -> Verdict | None:
        """WASM judged as the finding was; None when the engine or harness cannot handle it."""
        from .engines import get_engine

        try:
            return check(wasm, get_engine(self.engine), seed=self.seed, schedule=self.schedule,
                         yield_points=self.yield_points, wasmtime_opt=self.wasmtime_opt, source="module.wasm")
        except Unsupported:
            return None

    def __call__(self, wasm: bytes) -> bool:
        try:
            verdict = self.verdict(wasm)
        except ResumefuzzError:  # a candidate the harness cannot judge (budget, engine error) is not interesting
            return False
        return verdict is not None and verdict.status == DIVERGENT and bool(set(self.facets) & set(verdict.facets))

    def check_args(self) -> list[str]:
        """The ``resumefuzz check`` options that judge a module this way (a finding's replay line)."""
        return ["--engine", self.engine, "--seed", str(self.seed), "--schedule", self.schedule,
                "--yield-points", self.yield_points, "--wasmtime-opt", self.wasmtime_opt]

    def script(self, folder: Path) -> Path:
        """This predicate as an executable for external reducers: ``predicate.py MODULE`` exits 0 iff interesting."""
        path = folder / "predicate.py"
        path.write_text(_PREDICATE.format(python=sys.executable, predicate=json.dumps(asdict(self))))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path


def run_predicate(module: str, predicate: str) -> int:
    """The predicate script's body: exit status 0 iff MODULE (a path) is interesting to PREDICATE (JSON)."""
    fields = json.loads(predicate)
    try:
        wasm = wasmtools.load_module(Path(module))
    except ResumefuzzError:
        return 1
    return 0 if Predicate(**{**fields, "facets": tuple(fields["facets"])})(wasm) else 1


_PREDICATE = """#!{python}
# wasm-tools shrink predicate: exit 0 iff the module still diverges on one of the facets.
import sys
from resumefuzz.process import die_with_parent
die_with_parent()  # a killed shrinker (or worker) takes its predicates with it
from resumefuzz.minimize import run_predicate
sys.exit(run_predicate(sys.argv[1], {predicate!r}))
"""


def shrink_module(wasm: bytes, interesting: Predicate, *, attempts: int = 40, timeout: float = 300.0) -> bytes:
    """`wasm-tools shrink` WASM while INTERESTING holds (its executable form judges each candidate)."""
    with tempfile.TemporaryDirectory(prefix="resumefuzz-shrink-") as tmp:
        folder = Path(tmp)
        predicate = interesting.script(folder)
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
