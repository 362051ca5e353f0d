"""The engine interface: what an engine under test implements, and what its hooks are given.

An engine rewrites a module so that it can be suspended at the harness's
``rfz.suspend`` import (:meth:`Engine.transform`), drives suspension and
resumption through the module's own exports (four hooks), declares which of
the state it adds is private (:meth:`Engine.private_keys`), and says where a
snapshot holds its saved stack (:meth:`Engine.saved_stack`).  Snapshot
capture is the harness's; :meth:`Engine.restore` composes the harness's
public restore steps (``Machine.restore_memories``, ``restore_globals``,
``restore_tables``, ``replay_drops``) and an engine may override it to change
any one of them.

A run's hooks are called in this order: ``start_suspend`` (inside the
suspend import) → ``finish_suspend`` (the export has returned; its result is
the snapshot's resume data) → the harness captures, encodes, drops the
instance, instantiates afresh (host state rebuilt from the snapshot) and
decodes → ``restore`` → ``start_resume`` (the interrupted export is then
called again) → ``finish_resume`` (inside the suspend import).  Every hook
gets the run's :class:`RunContext`.
"""

from __future__ import annotations

import abc
import copy
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    from ..abi import Layout
    from ..runtime import Machine
    from ..state import Snapshot


@dataclass
class RunContext:
    """The interrupted run a hook serves: one per run, dropped with it."""

    label: str  # the run's label in reports, e.g. "C[at:5]"
    seed: int  # the case seed (call arguments and host inputs derive from it)
    #: restores so far in this run, the one in progress included (1 during the first ``restore``)
    restores: int = 0
    #: the engine's own scratch space for this run (e.g. a snapshot kept from one restore to the next)
    state: dict[str, Any] = field(default_factory=dict)


class Engine(abc.ABC):
    """Base class of every engine.  ``config`` is plain JSON-able data."""

    #: The name the engine was selected by (``get_engine`` sets it): recorded in its spec, its
    #: snapshots, reports and replay lines.  The class value names an engine built directly.
    name: str = "engine"

    #: option -> default; an option's type is its default's (``key=value`` in the spec, ``-`` for ``_``)
    defaults: ClassVar[dict[str, Any]] = {}

    #: option -> (lowest, highest) for integer options; bool defaults accept only booleans
    ranges: ClassVar[dict[str, tuple[int, int]]] = {}

    #: The engine's option space for campaigns: option -> the values a campaign draws from
    #: (repeat a value to weight it).  When a campaign is given an engine by bare name, each
    #: case draws every listed option (see :func:`resumefuzz.engines.draw_spec`) and records the
    #: result in its spec; options not listed keep their defaults.  Given options are never fuzzed.
    option_space: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def __init__(self, *, name: str | None = None, **config: Any) -> None:
        if name is not None:
            self.name = name
        self._check(config)
        #: the options the spec gave (a campaign fuzzes an engine only when it was given none)
        self.given = frozenset(config)
        self.config: dict[str, Any] = {**self.defaults, **config}

    def _check(self, config: dict[str, Any]) -> None:
        unknown = set(config) - set(self.defaults)
        if unknown:
            raise BadInput(f"engine {self.name}: unknown option {sorted(unknown)[0]!r} "
                           f"(options: {', '.join(self.defaults) or 'none'})")
        for key, value in config.items():
            self._check_option(key, value)

    def _check_option(self, key: str, value: Any) -> None:
        default = self.defaults[key]
        name = key.replace("_", "-")
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise BadInput(f"engine {self.name}: option {name} must be true or false, not {value!r}")
        elif isinstance(default, int):
            low, high = self.ranges.get(key, (0, 2**31))
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BadInput(f"engine {self.name}: option {name} must be an integer in [{low}, {high}], "
                               f"not {value!r}")

    @classmethod
    def from_spec(cls, name: str, options: str) -> "Engine":
        """The engine ``--engine NAME:OPTIONS`` selects (OPTIONS: ``key=value,...``; see :meth:`spec`)."""
        from .registry import parse_options

        return cls(name=name, **parse_options(options))

    def reconfigured(self, **options: Any) -> "Engine":
        """This engine (same name, same class) with OPTIONS changed, checked as the constructor does."""
        self._check(options)
        engine = copy.copy(self)
        engine.config = {**self.config, **options}
        engine.given = self.given | set(options)
        return engine

    def spec(self) -> str:
        """The --engine spec that rebuilds this engine (recorded in replay lines): NAME[:options]."""
        options = ",".join(f"{k.replace('_', '-')}={json.dumps(v)}" for k, v in sorted(self.config.items())
                           if v != self.defaults[k])
        return f"{self.name}:{options}" if options else self.name

    def config_json(self) -> str:
        """Canonical configuration, recorded in snapshots and findings."""
        return json.dumps({"engine": self.name, **self.config}, sort_keys=True, separators=(",", ":"))

    @abc.abstractmethod
    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        """Return WASM made suspendable at calls of SUSPEND_IMPORT."""

    @abc.abstractmethod
    def private_keys(self, layout: "Layout") -> set[str]:
        """Keys of state the engine added and declares private (not compared)."""

    @abc.abstractmethod
    def start_suspend(self, machine: "Machine", context: RunContext) -> None:
        """Called inside the suspend import in normal execution: begin unwinding."""

    @abc.abstractmethod
    def finish_suspend(self, machine: "Machine", context: RunContext) -> bytes:
        """Called after the export returned while unwinding; return resume data."""

    @abc.abstractmethod
    def start_resume(self, machine: "Machine", resume: bytes, context: RunContext) -> None:
        """Called on a restored instance before the interrupted export is called again."""

    @abc.abstractmethod
    def finish_resume(self, machine: "Machine", context: RunContext) -> None:
        """Called inside the suspend import while resuming: back to normal execution."""

    def restore(self, machine: "Machine", snapshot: "Snapshot", context: RunContext) -> None:
        """Write SNAPSHOT's state into a fresh instance (host state is already rebuilt).

        The harness's steps, in order; override to replace or skip any one.
        """
        machine.restore_memories(snapshot.memories)
        machine.restore_globals(snapshot.globals)
        machine.restore_tables(snapshot.tables)
        machine.replay_drops()

    def saved_stack(self, snapshot: "Snapshot", layout: "Layout") -> bytes:
        """The saved stack (locals, operand-stack values, call positions) SNAPSHOT holds.

        Default: the resume data itself.  An engine that keeps it elsewhere in
        the snapshot (Asyncify: in its private memory) overrides this and
        :meth:`with_saved_stack`, so nothing else needs to know its layout.
        """
        return snapshot.resume

    def with_saved_stack(self, snapshot: "Snapshot", layout: "Layout", stack: bytes) -> "Snapshot":
        """SNAPSHOT with its saved stack replaced by STACK (of the same length)."""
        if len(stack) != len(snapshot.resume):
            raise ValueError(f"saved stack of {len(snapshot.resume)} bytes replaced by {len(stack)}")
        return replace(snapshot, resume=stack)

    def optimizes(self) -> bool:
        """True if the transform may optimize the program (an unknown transform should say True).

        An optimizer may legally change what a program cannot rely on, so the
        transform oracle (A vs B, never B vs C) then allows exactly that:
        arithmetic NaN payloads (see ``folds_nans``), *which* trap fires when
        traps were reordered (the trap and where it happened are still
        compared), and the identity of functions with identical bodies that
        were merged (table slots and funcref values are compared by body).
        """
        return False

    def folds_nans(self) -> bool:
        """True if the transform may constant-fold NaN-producing arithmetic.

        The wasm spec leaves the payload of an arithmetic NaN nondeterministic,
        so an optimizing transform may legally change it; the transform oracle
        (A vs B) then re-judges with wasmtime's NaN canonicalization.
        Every optimizing transform may.
        """
        return self.optimizes()
