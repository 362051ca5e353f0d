"""Engines under test: the suspend/resume mechanisms resumefuzz judges.

An engine is one small class.  It rewrites a module so that it can be
suspended at the harness's ``rfz.suspend`` import (``transform``), drives
suspension and resumption through the module's own exports (four hooks),
and declares which of the state it adds is private (excluded from the
oracle).  Snapshot capture and restore are the harness's; an engine may
override ``restore`` (fault-injecting engines do).

A new engine is one new file: in this package (plus one line in
``_registry``), or in any installed package that registers its Engine
subclass under the entry-point group ``resumefuzz.engines``.  A transform
that is Asyncify-compatible needs no Python at all:
``--engine asyncify-compatible:'CMD {in} {out}'`` (see ``command.py``).
"""

from __future__ import annotations

import abc
import json
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    from ..instrumentation import Layout
    from ..runtime import Machine
    from ..snapshot import Snapshot


class Engine(abc.ABC):
    """Base class of every engine.  ``config`` is plain JSON-able data."""

    id: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}

    #: option -> (lowest, highest) for integer options; bool defaults accept only booleans
    ranges: ClassVar[dict[str, tuple[int, int]]] = {}

    def __init__(self, **config: Any) -> None:
        unknown = set(config) - set(self.defaults)
        if unknown:
            raise BadInput(f"engine {self.id}: unknown option {sorted(unknown)[0]!r} "
                           f"(options: {', '.join(self.defaults) or 'none'})")
        for key, value in config.items():
            self._check_option(key, value)
        self.config: dict[str, Any] = {**self.defaults, **config}

    def _check_option(self, key: str, value: Any) -> None:
        default = self.defaults[key]
        name = key.replace("_", "-")
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise BadInput(f"engine {self.id}: option {name} must be true or false, not {value!r}")
        elif isinstance(default, int):
            low, high = self.ranges.get(key, (0, 2**31))
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BadInput(f"engine {self.id}: option {name} must be an integer in [{low}, {high}], not {value!r}")

    def spec(self) -> str:
        """The --engine spec that rebuilds this engine (recorded in replay lines)."""
        options = ",".join(f"{k.replace('_', '-')}={json.dumps(v)}" for k, v in sorted(self.config.items())
                           if v != self.defaults[k])
        return f"{self.id}:{options}" if options else self.id

    def config_json(self) -> str:
        """Canonical configuration, recorded in snapshots and findings."""
        return json.dumps({"engine": self.id, **self.config}, sort_keys=True, separators=(",", ":"))

    @abc.abstractmethod
    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        """Return WASM made suspendable at calls of SUSPEND_IMPORT."""

    @abc.abstractmethod
    def private_keys(self, layout: "Layout") -> set[str]:
        """Keys of state the engine added and declares private (not compared)."""

    @abc.abstractmethod
    def start_suspend(self, machine: "Machine") -> None:
        """Called inside the suspend import in normal execution: begin unwinding."""

    @abc.abstractmethod
    def finish_suspend(self, machine: "Machine") -> bytes:
        """Called after the export returned while unwinding; return resume data."""

    @abc.abstractmethod
    def start_resume(self, machine: "Machine", resume: bytes) -> None:
        """Called on a restored instance before the interrupted export is called again."""

    @abc.abstractmethod
    def finish_resume(self, machine: "Machine") -> None:
        """Called inside the suspend import while resuming: back to normal execution."""

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

    def restore(self, machine: "Machine", snapshot: "Snapshot") -> None:
        """Write SNAPSHOT's state into a fresh instance (the harness's restore path)."""
        machine.restore(snapshot)


ENTRY_POINT_GROUP = "resumefuzz.engines"


def _registry() -> dict[str, type[Engine]]:
    """Built-in engines plus those installed packages register under ``resumefuzz.engines``."""
    from importlib.metadata import entry_points

    from .asyncify import AsyncifyEngine

    engines: dict[str, type[Engine]] = {AsyncifyEngine.id: AsyncifyEngine}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            engine = entry.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the CLI
            raise BadInput(f"engine plug-in {entry.name!r} ({entry.value}) failed to load: {exc}") from None
        if not (isinstance(engine, type) and issubclass(engine, Engine)):
            raise BadInput(f"engine plug-in {entry.name!r} is not an Engine subclass")
        engines[entry.name] = engine
    return engines


def get_engine(spec: str) -> Engine:
    """Build an engine from ``NAME[:key=value,...]`` (``faulty:FAULT`` wraps asyncify)."""
    name, _, options = spec.partition(":")
    if name == "asyncify-compatible":
        from .command import CommandEngine

        return CommandEngine(options)
    if name == "faulty":
        from .faults import FaultyEngine

        return FaultyEngine.from_spec(options)
    engines = _registry()
    if name not in engines:
        raise BadInput(f"--engine: unknown engine {name!r} "
                       f"(available: {', '.join(engines)}, asyncify-compatible:CMD, faulty:FAULT)")
    return engines[name](**parse_options(options))


def parse_options(options: str) -> dict[str, Any]:
    """``key=value,...`` (values are JSON where they parse as JSON, else strings)."""
    config: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise BadInput(f"--engine: option {item!r} is not key=value")
        config[key.replace("-", "_")] = _option_value(value)
    return config


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


__all__ = ["Engine", "get_engine"]
