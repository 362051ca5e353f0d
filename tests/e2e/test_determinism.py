"""A case is a pure function of (campaign seed, case number), however resumefuzz is started.

Hypothesis mixes literals harvested from every *local* module in ``sys.modules`` into
its draws, so structured programs used to depend on what the process had imported: the
console script's spawned workers import ``resumefuzz.cli`` (their ``__main__``), those of
``python -m resumefuzz`` do not, and the same campaign counted different schedules.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

from hypothesis.internal.conjecture import providers

from resumefuzz.campaign import CasePlan, Options
from resumefuzz.fuzz import structured

CLI = str(Path(sys.executable).with_name("resumefuzz"))
_COUNTS = ("cases", "equal", "divergent", "inconclusive", "unsupported", "errors", "schedules", "suspensions",
           "stack_suspensions", "deep_suspensions", "grown_suspensions")


def _draws(seed: int, cases: int) -> list[str]:
    options = Options(seed=seed, generator="structured")
    return [hashlib.sha256(structured.draw(CasePlan.make(options, i).seed).wasm()).hexdigest()
            for i in range(cases)]


def test_a_drawn_program_does_not_depend_on_what_else_is_imported(tmp_path: Path, monkeypatch) -> None:
    before = _draws(1, 12)
    # a local module full of literals Hypothesis would otherwise pick up (a caller's own code,
    # or a resumefuzz module first imported by a later case, e.g. for minimization)
    literals = [str(n) for n in range(3, 400, 7)] + [f"{n}.25" for n in range(40)] + [f"b'{n:x}'" for n in range(40)]
    (tmp_path / "lots_of_literals.py").write_text("VALUES = [" + ", ".join(literals) + "]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    original = providers._get_local_constants
    importlib.import_module("lots_of_literals")
    assert _draws(1, 12) == before
    assert providers._get_local_constants is original  # Hypothesis' own behaviour is left alone outside draws


def _stats(out: Path) -> dict[str, object]:
    stats = json.loads((out / "stats.json").read_text())
    return {key: stats[key] for key in _COUNTS}


def test_a_campaign_counts_the_same_through_the_console_script_and_python_m(tmp_path: Path) -> None:
    args = ["fuzz", "--generator", "structured", "--cases", "3", "--jobs", "1", "--seed", "1", "--no-progress"]
    script = subprocess.run([CLI, *args, "--out", str(tmp_path / "a")], capture_output=True, text=True, timeout=120)
    module = subprocess.run([sys.executable, "-m", "resumefuzz", *args, "--out", str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=120)
    assert script.returncode == module.returncode == 0, script.stderr[-2000:] + module.stderr[-2000:]
    assert _stats(tmp_path / "a") == _stats(tmp_path / "b")
