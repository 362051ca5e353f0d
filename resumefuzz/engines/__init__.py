"""Engines under test: the suspend/resume mechanisms resumefuzz judges.

An engine is one small class (:class:`Engine`, in ``interface.py``), and a
new engine is one file plus one registration: a line in
``registry.BUILTIN``, or, from any installed package, an entry point in the
group ``resumefuzz.engines`` naming the Engine subclass.  The name a spec
selects an engine by is the name recorded in its snapshots, reports and
replay lines.  ``resumefuzz.testing.smoke_test_engine(spec)`` is the
contract every engine must pass.  A transform that is Asyncify-compatible
needs no Python at all: ``--engine asyncify-compatible:'CMD {in} {out}'``
(see ``command.py``).

Built in: ``asyncify.py`` (Binaryen's Asyncify), ``command.py`` (any
Asyncify-compatible command), ``faults.py`` (Asyncify with a planted fault).
"""

from .interface import Engine, RunContext
from .registry import ENTRY_POINT_GROUP, draw_options, draw_spec, engine_class, engine_names, get_engine

__all__ = [
    "ENTRY_POINT_GROUP",
    "Engine",
    "RunContext",
    "draw_options",
    "draw_spec",
    "engine_class",
    "engine_names",
    "get_engine",
]
