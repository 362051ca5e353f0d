"""Engines under test: the suspend/resume mechanisms resumefuzz judges.

An engine is one small class.  It rewrites a module so that it can be
suspended at the harness's ``rfz.suspend`` import (``transform``), drives
suspension and resumption through the module's own exports (four hooks),
and declares which of the state it adds is private (excluded from the
oracle).  Snapshot capture and restore are the harness's; an engine may
override ``restore`` (fault-injecting engines do).

A new engine is one new file in this package plus one line in ``ENGINES``.
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

    def __init__(self, **config: Any) -> None:
        unknown = set(config) - set(self.defaults)
        if unknown:
            raise BadInput(f"engine {self.id}: unknown option {sorted(unknown)[0]!r} "
                           f"(options: {', '.join(self.defaults) or 'none'})")
        self.config: dict[str, Any] = {**self.defaults, **config}

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

    def restore(self, machine: "Machine", snapshot: "Snapshot") -> None:
        """Write SNAPSHOT's state into a fresh instance (the harness's restore path)."""
        machine.restore(snapshot)

    def describe(self) -> str:
        return f"{self.id} {self.config_json()}"


def _registry() -> dict[str, type[Engine]]:
    from .asyncify import AsyncifyEngine

    return {AsyncifyEngine.id: AsyncifyEngine}


def get_engine(spec: str) -> Engine:
    """Build an engine from ``NAME[:key=value,...]`` (``faulty:FAULT`` wraps asyncify)."""
    name, _, options = spec.partition(":")
    if name == "faulty":
        from .faults import FaultyEngine

        return FaultyEngine.from_spec(options)
    engines = _registry()
    if name not in engines:
        raise BadInput(f"--engine: unknown engine {name!r} (available: {', '.join(engines)}, faulty:FAULT)")
    config: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise BadInput(f"--engine: option {item!r} is not key=value")
        config[key.replace("-", "_")] = _option_value(value)
    return engines[name](**config)


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


__all__ = ["Engine", "get_engine"]
