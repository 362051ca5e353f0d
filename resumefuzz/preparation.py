"""Prepare a module once; run it under many schedules.

    original ──observe──► observed ──expose──────────────────────────► plain (run A)
                              └─inject yield points─► engine.transform ─expose─► suspendable (runs B, C)

Both variants are compiled once by wasmtime and instantiated per run/cycle.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import wasmtime

from . import wasmtools
from .engines import Engine
from .errors import BadInput, EngineDefect, EngineError, Unsupported
from .abi import SUSPEND, Layout
from .instrumentation import expose, observe
from .runtime import Runtime
from .yieldpoints import YieldPoints, inject

DEFAULT_FUEL = 200_000_000
#: Instrumented runs may spend this many times the straight budget.
INSTRUMENTED_FUEL_FACTOR = 20
#: wasmtime's default wasm stack (512 KiB) for A; instrumented frames are larger, so B/C get 4x.
#: (Still far below the 8 MiB native stack the calling thread has.)
INSTRUMENTED_STACK = 2 * 1024 * 1024


@dataclass
class Preparation:
    original: bytes
    plain: bytes
    suspendable: bytes
    plain_layout: Layout
    layout: Layout
    private: set[str]  # keys the engine declared private
    engine: Engine
    yield_points: YieldPoints
    fuel: int
    wasmtime_opt: str = "speed"
    sites: tuple[int | None, ...] = ()  # static stack height per yield site
    site_kinds: tuple[str, ...] = ()  # kind of each yield site (yieldpoints.LOOP, CALL, ...)
    _compiled: dict[tuple[str, bool], Runtime] = field(default_factory=dict, repr=False)

    @functools.cached_property
    def names(self) -> Mapping[str, str]:
        """Slot key -> human name ("g0 $counter", "g2 (export "x")"), read only when a report needs one."""
        return _LazyNames(self.original)

    def plain_runtime(self) -> Runtime:
        """The compiled plain module (run A), built on first use."""
        return self._runtime("plain", False)

    def suspendable_runtime(self) -> Runtime:
        """The compiled suspendable module (runs B, C), built on first use: a case that run A
        alone decides (A out of budget) never compiles it."""
        return self._runtime("suspendable", False)

    def runtimes(self, *, canonicalize_nans: bool = False) -> tuple[Runtime, Runtime]:
        """Compiled (plain, suspendable) runtimes; the normal pair is kept, a NaN-canonicalizing
        pair is built afresh each time."""
        if canonicalize_nans:
            return self._build("plain", True), self._build("suspendable", True)
        return self.plain_runtime(), self.suspendable_runtime()

    def _runtime(self, which: str, canonicalize_nans: bool) -> Runtime:
        key = (which, canonicalize_nans)
        if key not in self._compiled:
            self._compiled[key] = self._build(which, canonicalize_nans)
        return self._compiled[key]

    def _build(self, which: str, canonicalize_nans: bool) -> Runtime:
        """Compile one variant (within the compile budget, see runtime.compile_module)."""
        if which == "plain":
            return Runtime(self.plain, self.plain_layout, fuel=self.fuel, opt_level=self.wasmtime_opt,
                           canonicalize_nans=canonicalize_nans, what="prepared plain")
        return Runtime(self.suspendable, self.layout, fuel=self.fuel * INSTRUMENTED_FUEL_FACTOR,
                       opt_level=self.wasmtime_opt, max_wasm_stack=INSTRUMENTED_STACK,
                       canonicalize_nans=canonicalize_nans, what="prepared suspendable")


WASMTIME_OPT_LEVELS = ("none", "speed", "speed_and_size")


def prepare(wasm: bytes, engine: Engine, yield_points: YieldPoints, *, fuel: int = DEFAULT_FUEL,
            wasmtime_opt: str = "speed") -> Preparation:
    """Blame is placed in order: an invalid input is BadInput; an engine output that does not
    validate, or that the harness cannot read, is the engine's EngineError; a valid module the
    engine refuses to read is its EngineDefect (the instrumented module is checked first)."""
    _check_input(wasm)
    observed = observe(wasm)
    plain, plain_layout = expose(observed.wasm, observed.calls)
    injected = inject(observed.wasm, yield_points)
    try:
        transformed = engine.transform(injected.wasm, (SUSPEND.module, SUSPEND.name))
    except EngineDefect:
        # the engine says it was handed a valid module it cannot read: only if that is so
        problem = _invalid(injected.wasm)
        if problem is not None:  # the harness's instrumentation broke the module: its own bug
            raise RuntimeError(f"instrumented module does not validate: {problem}") from None
        raise
    problem = _invalid(transformed)
    if problem is not None:
        raise EngineError(f"engine {engine.name} produced an invalid module: {problem}")
    try:
        suspendable, layout = expose(transformed, observed.calls)
    except (BadInput, Unsupported) as exc:
        raise EngineError(f"engine {engine.name} produced a module the harness cannot read: {exc}") from None
    return Preparation(wasm, plain, suspendable, plain_layout, layout,
                       engine.private_keys(layout), engine, yield_points, fuel, wasmtime_opt, injected.sites,
                       injected.kinds)


@functools.cache
def _validator() -> wasmtime.Engine:
    return wasmtime.Engine()  # the features runs compile with (Runtime changes no feature flags)


def _invalid(wasm: bytes) -> str | None:
    """Why wasmtime would refuse WASM (in-process, ~0.1 ms), or None."""
    try:
        wasmtime.Module.validate(_validator(), wasm)
    except wasmtime.WasmtimeError as exc:
        return " ".join(str(exc).split())[:300]
    return None


def _check_input(wasm: bytes) -> None:
    """The input module must be valid (BadInput), a core module and runnable by wasmtime (Unsupported)."""
    if wasm[:4] == wasmtools.CORE_PREAMBLE[:4] and not wasmtools.is_core_module(wasm):
        raise Unsupported("not a core WebAssembly module (components are not supported)")
    problem = _invalid(wasm)
    if problem is None:
        return
    try:  # wasm-tools has the last word on validity (as `resumefuzz check` loads modules)
        wasmtools.validate(wasm)
    except wasmtools.WasmToolsError as exc:
        raise BadInput(f"invalid input module: {exc}") from None
    raise Unsupported(f"wasmtime cannot run this module: {problem}")


class _LazyNames(Mapping[str, str]):
    def __init__(self, wasm: bytes) -> None:
        self._wasm = wasm

    @functools.cached_property
    def _names(self) -> dict[str, str]:
        return item_names(self._wasm)

    def __getitem__(self, key: str) -> str:
        return self._names[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


_NAMED = re.compile(r"^  \((global|memory|table) (\$\S+) \(;(\d+);\)")
_EXPORTED = re.compile(r'^  \(export "((?:[^"\\]|\\.)*)" \((?:global|memory|table) (\$\S+)\)\)$')


def item_names(wasm: bytes) -> dict[str, str]:
    """Readable names of the original globals/memories/tables for reports."""
    lines = wasmtools.print_text(wasm).splitlines()
    key_of: dict[str, str] = {}
    names: dict[str, str] = {}
    for line in lines:
        match = _NAMED.match(line)
        if match:
            key = f"{match.group(1)[0]}{match.group(3)}"
            key_of[match.group(2)] = key
            names[key] = key if match.group(2).startswith("$#") else f"{key} {match.group(2)}"
    for line in lines:
        match = _EXPORTED.match(line)
        if match and match.group(2) in key_of:
            key = key_of[match.group(2)]
            names[key] += f' (export "{match.group(1)}")'
    return names
