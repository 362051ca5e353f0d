"""resumefuzz: prove (or disprove) that WebAssembly suspend/resume is transparent, bit for bit.

Data flows one way: generate → prepare (yield points, engine transform,
state exposure) → run (straight A/B, interrupted C) → judge (oracles) →
report.  The public API is deliberately small.
"""

from .checker import Verdict, check, judge
from .engines import Engine, get_engine
from .errors import BadInput, EngineDefect, EngineError, Inconclusive, ResumefuzzError, Unsupported
from .preparation import Preparation, prepare
from .snapshot import SnapshotError, decode, encode
from .state import Snapshot
from .values import Value
from .yieldpoints import YieldPoints

__all__ = [
    "BadInput",
    "Engine",
    "EngineDefect",
    "EngineError",
    "Inconclusive",
    "Preparation",
    "ResumefuzzError",
    "Snapshot",
    "SnapshotError",
    "Unsupported",
    "Value",
    "Verdict",
    "YieldPoints",
    "check",
    "decode",
    "encode",
    "get_engine",
    "judge",
    "prepare",
]
