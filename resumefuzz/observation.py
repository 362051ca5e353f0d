"""What one run of a module shows the oracle: calls, outputs, final state."""

from __future__ import annotations

from dataclasses import dataclass, field

from .state import CallRecord, Event, MemoryImage, TableImage
from .values import Value
from .wasi import WasiOutcome


@dataclass
class Observation:  # noqa: D101 - fields documented inline
    label: str  # "A", "B", or "C[<schedule>]"
    calls: list[CallRecord] = field(default_factory=list)
    outputs: list[Event] = field(default_factory=list)
    globals: dict[str, Value] = field(default_factory=dict)  # by slot key
    memories: dict[str, MemoryImage] = field(default_factory=dict)
    tables: dict[str, TableImage] = field(default_factory=dict)
    crossings: int | None = None  # yield points crossed (None: no yield points)
    suspensions: list[int] = field(default_factory=list)  # crossings where it suspended
    #: yield-point mode ``flag``: crossings where the module suspended with its flag never raised and at no
    #: scheduled crossing (the run ended at the first; resumefuzz.runner.SpuriousSuspension)
    spurious: list[int] = field(default_factory=list)
    #: raises of the flag by a control thread (``check --signal thread``; None: no control thread)
    signals: int | None = None
    #: wall-clock seconds the run itself took (compilation excluded; set for straight runs: a control
    #: thread's pace is drawn from B's)
    seconds: float = 0.0
    exhausted: str | None = None  # why a budget ran out (makes the run inconclusive)
    snapshots: list[bytes] = field(default_factory=list)  # kept when asked
    probes: list[Probe] = field(default_factory=list)  # one per suspension
    #: a WASI program's stdout, stderr, exit code and final files (None: not a WASI program)
    wasi: WasiOutcome | None = None
    #: every WASI clock reading, (clock id, value in ns), in order, across restores: recorded by the
    #: run itself, never restored from a snapshot, so a restore that moves a clock back shows here
    clocks: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Probe:
    """What a suspension looked like (liveness: is the fuzzer exercising what it claims?)."""

    crossing: int
    site: int  # yield site id (its static stack height is in Preparation.sites)
    depth: int  # program call depth at the suspension
    grown: bool  # a program memory had grown beyond its initial size
    #: a program table's size or contents differed from what instantiation left in it
    table_changed: bool = False
    dropped: bool = False  # the program had dropped a data or element segment (a harness drop flag was set)
    memory64: bool = False  # the module has a 64-bit program memory
    memories: int = 1  # program memories in the module
    #: compiled code's shadow stack was in use: the ``__stack_pointer`` global differed from its value
    #: at instantiation
    shadow_stack: bool = False
    files_open: bool = False  # a WASI program had a file or directory open (a descriptor >= 4)
    output_written: bool = False  # a WASI program had written to stdout or stderr
