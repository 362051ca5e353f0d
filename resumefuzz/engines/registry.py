"""Which engines exist and how a spec selects one: ``NAME[:OPTIONS]``.

Built-in engines are registered in :data:`BUILTIN`; any installed package
adds one under the entry-point group ``resumefuzz.engines`` (name = the name
it is selected by, value = ``module:EngineSubclass``).  Plug-ins are loaded
lazily: only the one a spec names is imported, so a broken plug-in is
reported, by name, only when it is selected.  A built-in name cannot be
taken by a plug-in.
"""

from __future__ import annotations

import json
import zlib
from importlib import metadata
from typing import Any, Callable

from ..errors import BadInput
from .interface import Engine

ENTRY_POINT_GROUP = "resumefuzz.engines"

#: built-in engines: name -> ``module:class`` (what a plug-in's entry point says), and how a spec names them
BUILTIN: dict[str, str] = {
    "asyncify": "resumefuzz.engines.asyncify:AsyncifyEngine",
    "asyncify-compatible": "resumefuzz.engines.command:CommandEngine",
    "faulty": "resumefuzz.engines.faults:FaultyEngine",
}
_USAGE = {"asyncify-compatible": "asyncify-compatible:CMD", "faulty": "faulty:FAULT"}


def _plugins() -> dict[str, metadata.EntryPoint]:
    """Installed plug-ins by name (nothing is imported); the first of a duplicated name wins."""
    found: dict[str, metadata.EntryPoint] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in BUILTIN:
            found.setdefault(entry.name, entry)
    return found


def engine_names() -> list[str]:
    """Every engine a spec can name: the built-ins, then installed plug-ins (none is loaded)."""
    return [*BUILTIN, *sorted(_plugins())]


def engine_class(name: str) -> type[Engine]:
    """The Engine subclass registered under NAME (a plug-in is imported here, and only here)."""
    if name in BUILTIN:
        return metadata.EntryPoint(name, BUILTIN[name], ENTRY_POINT_GROUP).load()  # type: ignore[no-any-return]
    entry = _plugins().get(name)
    if entry is None:
        available = ", ".join(_USAGE.get(n, n) for n in engine_names())
        raise BadInput(f"--engine: unknown engine {name!r} (available: {available})")
    try:
        engine = entry.load()
    except Exception as exc:  # noqa: BLE001 - whatever a plug-in raises, the user gets one line
        raise BadInput(f"engine plug-in {name!r} ({entry.value}) failed to load: "
                       f"{type(exc).__name__}: {exc}") from None
    if not (isinstance(engine, type) and issubclass(engine, Engine)):
        raise BadInput(f"engine plug-in {name!r} ({entry.value}) is not an Engine subclass")
    return engine


def get_engine(spec: str) -> Engine:
    """Build the engine SPEC selects, ``NAME[:OPTIONS]``, named NAME wherever it is recorded.

    OPTIONS is ``key=value,...`` for most engines; ``asyncify-compatible:CMD``
    and ``faulty:FAULT[@BASE][,BASE-OPTIONS]`` parse their own (``Engine.from_spec``).
    """
    name, _, options = spec.partition(":")
    return engine_class(name).from_spec(name, options)


def draw_options(engine: Engine | type[Engine], pick: Callable[[int, tuple[Any, ...]], Any]) -> dict[str, Any]:
    """One configuration from ENGINE's option space (an engine's, or its class's); PICK(salt, choices) is the
    case's deterministic draw.

    Salts are stable per option name, so adding an option does not change the draws of others.
    """
    return {key: pick(zlib.crc32(key.encode()), choices) for key, choices in sorted(engine.option_space.items())}


def draw_spec(spec: str, pick: Callable[[int, tuple[Any, ...]], Any]) -> str:
    """The spec a campaign case runs for SPEC (what it records and replays).

    SPEC itself when it gives options (given options are never fuzzed);
    otherwise its engine with every option of its option space drawn by PICK
    (see :func:`draw_options`), e.g. ``asyncify`` → ``asyncify:buffer-pages=1,optimize-level=2``.
    """
    engine = get_engine(spec)
    if engine.given:
        return spec
    return engine.reconfigured(**draw_options(engine, pick)).spec()


def parse_options(options: str) -> dict[str, Any]:
    """``key=value,...`` (values are JSON where they parse as JSON, else strings)."""
    config: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise BadInput(f"--engine: option {item!r} is not key=value")
        if key == "name":
            raise BadInput("--engine: 'name' is not an option (an engine is named by the spec's NAME)")
        config[key.replace("-", "_")] = _option_value(value)
    return config


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
