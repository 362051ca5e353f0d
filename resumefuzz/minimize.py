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
from typing import Any, Callable

from . import wasmtools
from .process import die_with_parent, kill_group
from .checker import DIVERGENT, WASI_FILE, Finding, Judge, Verdict, check
from .errors import EngineDefect, ResumefuzzError, Unsupported
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
    #: a WASI program's inputs (WasiInputs.to_json form), None for other modules; a finding keeps
    #: them as wasi.json beside module.wasm, which the replay line reads
    wasi: dict[str, Any] | None = None
    #: where and under which wasmtime settings runs C restore (``check --restore-in``/``--restore-config``)
    restore_in: str | None = None
    restore_config: str | None = None

    def verdict(self, wasm: bytes) -> Verdict | None:
        """WASM judged as the finding was; None when the engine or harness cannot handle it."""
        from .engines import get_engine
        from .wasi import WasiInputs

        try:
            return check(wasm, get_engine(self.engine), seed=self.seed, schedule=self.schedule,
                         yield_points=self.yield_points, wasmtime_opt=self.wasmtime_opt, source="module.wasm",
                         wasi=None if self.wasi is None else WasiInputs.from_json(self.wasi),
                         replay_args=self.wasi_args(), restore_in=self.restore_in, restore_config=self.restore_config)
        except Unsupported:
            return None

    def wasi_args(self) -> tuple[str, ...]:
        return () if self.wasi is None else ("--wasi", WASI_FILE)

    def __call__(self, wasm: bytes) -> bool:
        try:
            verdict = self.verdict(wasm)
        except ResumefuzzError:  # a candidate the harness cannot judge (budget, engine error) is not interesting
            return False
        return verdict is not None and verdict.status == DIVERGENT and bool(set(self.facets) & set(verdict.facets))

    def check_args(self) -> list[str]:
        """The ``resumefuzz check`` options that judge a module this way (a finding's replay line)."""
        return ["--engine", self.engine, "--seed", str(self.seed), "--schedule", self.schedule,
                "--yield-points", self.yield_points, "--wasmtime-opt", self.wasmtime_opt, *self.wasi_args(),
                *(("--restore-in", self.restore_in) if self.restore_in else ()),
                *(("--restore-config", self.restore_config) if self.restore_config else ())]

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


@dataclass(frozen=True)
class DefectPredicate:
    """Is a module still valid AND still refused by the engine with the same message class?

    The engine-defect finding's predicate: only the preparation runs (validation, instrumentation,
    the engine's transform), never a wasm run, so each candidate costs one transform.
    """

    engine: str  # the engine spec
    yield_points: str
    message_class: str

    def defect(self, wasm: bytes) -> EngineDefect | None:
        """The engine's refusal of WASM (which the harness validated), or None."""
        from .engines import get_engine
        from .preparation import prepare
        from .yieldpoints import YieldPoints

        try:
            prepare(wasm, get_engine(self.engine), YieldPoints.parse(self.yield_points))
        except EngineDefect as exc:
            return exc
        except Exception:  # noqa: BLE001 - invalid, unsupported or otherwise failing: not this defect
            return None
        return None

    def __call__(self, wasm: bytes) -> bool:
        found = self.defect(wasm)
        return found is not None and found.message_class == self.message_class

    def script(self, folder: Path) -> Path:
        """This predicate as an executable (``predicate.py MODULE`` exits 0 iff interesting)."""
        path = folder / "predicate.py"
        path.write_text(_PREDICATE.format(python=sys.executable, predicate=json.dumps(asdict(self)))
                        .replace("run_predicate", "run_defect_predicate")
                        .replace("still diverges on one of the facets", "is still refused the same way"))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path


def reduce_lines(wasm: bytes, interesting: Callable[[bytes], bool], *, deadline: float) -> bytes:
    """Delta debugging over WASM's text (``wasm-tools print``, one instruction a line), in process:
    remove whole module fields, replace function bodies by ``unreachable``, remove or unwrap nested
    blocks, then remove chunks of lines, halving the chunk size down to one line,
    while the text still parses and INTERESTING holds, until nothing more goes.  For cheap predicates (an engine defect's costs one transform, ~40 ms;
    ``wasm-tools shrink`` would start a process per candidate).  Stops at DEADLINE (epoch seconds)
    with the smallest module so far."""
    lines = wasmtools.print_text(wasm).splitlines()

    def parsed(candidate: list[str]) -> bytes | None:
        try:
            return wasmtools.strip_all(wasmtools.parse("\n".join(candidate)))  # no name section
        except (wasmtools.WasmToolsError, ResumefuzzError):
            return None

    best = parsed(lines)
    if best is None or not interesting(best):
        return wasm  # the printed text is not the same defect: leave the module as it is
    progress = True
    while progress and time.time() < deadline:
        progress = False
        # whole module fields first (a function, a global, an export: from "  (" to its "  )")
        for first, last in reversed(_fields(lines)):
            if time.time() >= deadline:
                break
            trial = lines[:first] + lines[last + 1:]
            candidate = parsed(trial)
            if candidate is not None and interesting(candidate):
                lines, best, progress = trial, candidate, True
        # function bodies as a whole: `unreachable` instead (indices stay as they are)
        for first, last in reversed(_fields(lines)):
            if time.time() >= deadline:
                break
            if last - first < 2 or not lines[first].startswith("  (func ") or lines[first + 1:last] == [_STUB]:
                continue
            trial = lines[:first + 1] + [_STUB] + lines[last:]
            candidate = parsed(trial)
            if candidate is not None and interesting(candidate):
                lines, best, progress = trial, candidate, True
        # nested blocks: each whole (opener to its `end`), else unwrapped (its content kept)
        i = len(lines) - 1
        while i >= 0 and time.time() < deadline:
            close = _block_end(lines, i)
            if close is not None:
                for trial in (lines[:i] + lines[close + 1:], lines[:i] + lines[i + 1:close] + lines[close + 1:]):
                    candidate = parsed(trial)
                    if candidate is not None and interesting(candidate):
                        lines, best, progress = trial, candidate, True
                        break
            i = min(i, len(lines)) - 1
        # then chunks of lines, halving the chunk size down to one line
        size = max(1, len(lines) // 2)
        while time.time() < deadline:
            start, removed = 0, False
            while start < len(lines) and time.time() < deadline:
                trial = lines[:start] + lines[start + size:]
                candidate = parsed(trial)
                if candidate is not None and interesting(candidate):
                    lines, best, removed, progress = trial, candidate, True, True
                else:
                    start += size
            if size == 1 and not removed:
                break
            size = max(1, size // 2)
    return best if len(best) <= len(wasm) else wasm


_STUB = "    unreachable"


def _block_end(lines: list[str], opener: int) -> int | None:
    """The line of the `end` closing the block/loop/if opened at line OPENER (same indentation), or None."""
    text = lines[opener].lstrip()
    if not text.startswith(("block", "loop", "if", "try")):
        return None
    indent = len(lines[opener]) - len(text)
    for j in range(opener + 1, len(lines)):
        line = lines[j]
        depth = len(line) - len(line.lstrip())
        if depth < indent:
            return None
        if depth == indent and line.strip() == "end":
            return j
    return None


def _fields(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line of each module field in ``wasm-tools print`` text."""
    fields, first = [], None
    for i, line in enumerate(lines):
        if line.startswith("  (") and first is None:
            if line.count("(") == line.count(")"):
                fields.append((i, i))
            else:
                first = i
        elif line == "  )" and first is not None:
            fields.append((first, i))
            first = None
    return fields


def run_defect_predicate(module: str, predicate: str) -> int:
    """The defect predicate script's body: exit status 0 iff MODULE is interesting to PREDICATE (JSON)."""
    try:
        wasm = wasmtools.load_module(Path(module))
    except ResumefuzzError:
        return 1
    return 0 if DefectPredicate(**json.loads(predicate))(wasm) else 1


def shrink_module(wasm: bytes, interesting: "Predicate | DefectPredicate", *, attempts: int = 40,
                  timeout: float = 300.0) -> bytes:
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
