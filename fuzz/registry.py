"""Which generators exist and how ``--generator NAME`` selects one.

Built-in generators are registered in :data:`BUILTIN`; any installed package
adds one under the entry-point group ``resumefuzz.generators`` (name = what
``--generator`` selects, value = ``module:GeneratorSubclass``).  As for
engines, plug-ins are loaded lazily (only the one a name selects, so a broken
plug-in is reported by name only when selected) and cannot take a built-in name.
"""

from __future__ import annotations

from importlib import metadata

from resumefuzz.errors import BadInput

from .generator import Generator

ENTRY_POINT_GROUP = "resumefuzz.generators"

#: built-in generators: name -> ``module:class`` (what a plug-in's entry point says)
BUILTIN: dict[str, str] = {
    "smith": "resumefuzz.fuzz.smith:SmithGenerator",
    "structured": "resumefuzz.fuzz.structured:StructuredGenerator",
    "mixed": "resumefuzz.fuzz.mixed:MixedGenerator",
    "csmith": "resumefuzz.fuzz.csmith:CsmithGenerator",
}


def _entry(name: str) -> metadata.EntryPoint | None:
    """NAME's entry point, built-in first; None when nothing is registered under NAME."""
    if name in BUILTIN:
        return metadata.EntryPoint(name, BUILTIN[name], ENTRY_POINT_GROUP)
    return next((e for e in metadata.entry_points(group=ENTRY_POINT_GROUP) if e.name == name), None)


def generator_names() -> list[str]:
    """Every name ``--generator`` accepts: the built-ins, then installed plug-ins (none is loaded)."""
    plugins = {e.name for e in metadata.entry_points(group=ENTRY_POINT_GROUP)} - set(BUILTIN)
    return [*BUILTIN, *sorted(plugins)]


def get_generator(name: str) -> Generator:
    """The generator registered under NAME (a plug-in is imported here, and only here)."""
    entry = _entry(name)
    if entry is None:
        raise BadInput(f"--generator: unknown generator {name!r} (choose from {', '.join(generator_names())})")
    try:
        cls = entry.load()
    except Exception as exc:  # noqa: BLE001 - whatever a plug-in raises, the user gets one line
        if name in BUILTIN:
            raise
        raise BadInput(f"generator plug-in {name!r} ({entry.value}) failed to load: "
                       f"{type(exc).__name__}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise BadInput(f"generator plug-in {name!r} ({entry.value}) is not a Generator subclass")
    generator = cls()
    generator.name = name
    return generator
