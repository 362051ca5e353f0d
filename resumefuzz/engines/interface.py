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
    #: the engine's own scratch space for this run (e.g. a snapshot kept from one restore to the next).
    #: It travels with the run when a restore happens in another process (``--restore-in process``), so
    #: it may hold only what :func:`encode_state` can write: None, booleans, numbers, strings, bytes,
    #: snapshots, and lists, tuples and str-keyed dicts of these, MAX_STATE_BYTES encoded at most;
    #: anything else makes such a run unsupported (exit 3), never silently lost
    state: dict[str, Any] = field(default_factory=dict)


#: the largest engine run state (RunContext.state, encoded) that crosses processes
MAX_STATE_BYTES = 256 * 1024 * 1024
_STATE_DEPTH = 32


class StateError(ValueError):
    """An engine's run state that cannot be encoded (what, where) or decoded."""


def encode_state(state: dict[str, Any]) -> bytes:
    """STATE (RunContext.state) as bytes: a JSON tree, every container tagged (``{"d": {...}}``,
    ``{"l": [...]}``, ``{"t": [...]}``; bytes ``{"b": i}`` and snapshots ``{"s": i}`` refer to the
    blobs after it), then the blobs, each length-prefixed.  StateError names what cannot be written."""
    from ..snapshot import encode
    from ..state import Snapshot

    blobs: list[bytes] = []

    def tree(value: Any, where: str, depth: int) -> Any:
        if depth > _STATE_DEPTH:
            raise StateError(f"{where}: nested deeper than {_STATE_DEPTH}")
        if value is None or isinstance(value, (bool, int, float, str)):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1 << 64:
                raise StateError(f"{where}: integer beyond 64 bits")
            return value
        if isinstance(value, (bytes, bytearray)):
            blobs.append(bytes(value))
            return {"b": len(blobs) - 1}
        if isinstance(value, Snapshot):
            blobs.append(encode(value))
            return {"s": len(blobs) - 1}
        if isinstance(value, (list, tuple)):
            return {"l" if isinstance(value, list) else "t":
                    [tree(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise StateError(f"{where}: a dict key that is not a string")
            return {"d": {key: tree(item, f"{where}[{key!r}]", depth + 1) for key, item in value.items()}}
        raise StateError(f"{where} holds a {type(value).__name__}")

    text = json.dumps(tree(state, "state", 0), separators=(",", ":")).encode()
    parts = [text, *blobs]
    size = sum(8 + len(p) for p in parts) + 8
    if size > MAX_STATE_BYTES:
        raise StateError(f"{size} bytes encoded, more than {MAX_STATE_BYTES}")
    return len(blobs).to_bytes(8, "little") + b"".join(len(p).to_bytes(8, "little") + p for p in parts)


def decode_state(data: bytes) -> dict[str, Any]:
    """The run state ``encode_state`` wrote (b"": empty); every length and tag is checked (StateError)."""
    from ..snapshot import SnapshotError, decode

    if not data:
        return {}
    if len(data) > MAX_STATE_BYTES:
        raise StateError(f"{len(data)} bytes, more than {MAX_STATE_BYTES}")
    pos, parts = 8, []
    count = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if not 0 <= count <= len(data):
        raise StateError("truncated or bad blob count")
    for _ in range(count + 1):
        length = int.from_bytes(data[pos:pos + 8], "little") if pos + 8 <= len(data) else -1
        if length < 0 or pos + 8 + length > len(data):
            raise StateError("truncated")
        parts.append(data[pos + 8:pos + 8 + length])
        pos += 8 + length
    if pos != len(data):
        raise StateError(f"{len(data) - pos} trailing bytes")
    blobs = parts[1:]

    def value(node: Any, depth: int) -> Any:
        if depth > _STATE_DEPTH + 1:
            raise StateError("nested too deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise StateError("a node that is not tagged")
        (tag, inner), = node.items()
        if tag in ("b", "s"):
            if not isinstance(inner, int) or isinstance(inner, bool) or not 0 <= inner < len(blobs):
                raise StateError(f"a blob reference out of range: {inner!r}")
            if tag == "b":
                return blobs[inner]
            try:
                return decode(blobs[inner])
            except SnapshotError as exc:
                raise StateError(f"a snapshot that does not decode: {exc}") from None
        if tag in ("l", "t") and isinstance(inner, list):
            items = [value(item, depth + 1) for item in inner]
            return items if tag == "l" else tuple(items)
        if tag == "d" and isinstance(inner, dict):
            return {key: value(item, depth + 1) for key, item in inner.items()}
        raise StateError(f"an unknown tag {tag!r}")

    try:
        tree = json.loads(parts[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateError(f"not JSON ({exc})") from None
    decoded = value(tree, 0)
    if not isinstance(decoded, dict):
        raise StateError("the state is not a dict")
    return decoded


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
