"""Binaryen's Asyncify (npm `binaryen`, pinned), driven through the resident worker.

Resume buffer placement: Asyncify runs with ``asyncify-in-secondary-memory``,
so its buffer lives in a linear memory of its own that no program
instruction can address (the program's loads/stores name its own memories
only).  The program therefore cannot clobber the saved stack, and an
overflowing buffer cannot clobber the program: it traps out of bounds of the
private memory instead.  The buffer is ``{i32 current, i32 end}`` at offset
``BUFFER``, data growing up to the end of that memory; an overflow Binaryen
only notices afterwards (Binaryen #3839) is caught by checking ``current <=
end`` after every unwind.

Declared private (excluded from the oracle): exactly the two globals
(``__asyncify_state``, ``__asyncify_data``) and the one memory that the
transform adds.  Anything else the transform adds is compared.

What a snapshot holds: the program's memories, globals and tables, the host
state, and Asyncify's own state: its two globals and its private memory,
whose used part ``[BUFFER + 8, current)`` is the saved stack (every unwound
frame's locals, operand-stack values and call position, in Binaryen's
layout).  The resume data is only the 4-byte address of the buffer header
(``BUFFER``), handed back to ``asyncify_start_rewind``; ``saved_stack`` /
``with_saved_stack`` read and replace the saved stack without anyone else
knowing this layout.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from .. import binaryen, callgraph
from ..errors import BadInput, EngineDefect, EngineError, SetupError, Unsupported
from .interface import Engine, RunContext

if TYPE_CHECKING:  # pragma: no cover
    from ..abi import Layout, Slot
    from ..callgraph import CallGraph
    from ..runtime import Machine
    from ..state import Snapshot

BUFFER = 16  # offset of the {current, end} header in the private memory

# Features Binaryen may read and write here: what wasmtime, Binaryen and the
# harness accept together (no compact imports, custom page sizes, GC...).  ExceptionHandling lets
# Binaryen read try_table (Asyncify cannot instrument a function holding one: see _explained).
_FEATURES = {
    "MutableGlobals": 2, "NontrappingFPToInt": 4, "SIMD128": 8, "BulkMemory": 16, "SignExt": 32,
    "ExceptionHandling": 64,
    "TailCall": 128, "ReferenceTypes": 256, "Multivalue": 512, "Memory64": 2048, "MultiMemory": 32768,
    "BulkMemoryOpt": 524288, "CallIndirectOverlong": 1048576,
}
FEATURES = sum(_FEATURES.values())
#: Atomics (threads: shared memories, atomic loads and stores), given only for a module in yield-point mode
#: ``flag`` (its flag memory and polls, abi.FLAG_MEMORY); programs' own atomics stay out of scope
ATOMICS = 1


def features(wasm: bytes) -> int:
    """The features Binaryen is given for WASM: FEATURES, and ATOMICS if WASM polls a flag memory."""
    from ..abi import FLAG_MEMORY

    return FEATURES | (ATOMICS if FLAG_MEMORY.encode() in wasm else 0)


#: Binaryen's own words for a module it cannot read: its binary parser gave up
_PARSE_FAILURE = re.compile(r"pars(?:e|ing)", re.IGNORECASE)
#: ... and for a feature the transform was not given (FEATURES): out of scope, not a defect
_FEATURE_MISSING = re.compile(r"--enable-|feature", re.IGNORECASE)
#: ... and for what its parser documents it cannot read yet (release 120: "control flow inputs are
#: not supported yet", i.e. block/loop/if parameters) or an instruction it does not decode at all
#: (releases 121-123: "unknown misc operation: 13", i.e. ``elem.drop``): a limitation of that release,
#: not a defect
_NOT_YET = re.compile(r"not (?:yet )?supported|not supported yet|unknown \w+ operation", re.IGNORECASE)


def rejects_valid(exc: binaryen.BinaryenError) -> bool:
    """Does EXC say Binaryen's front end refused a module (one the harness has validated)?

    Its validator rejecting the input (``rejected``) or its binary parser failing, unless the
    complaint is a feature left out of FEATURES or its parser says it does not support the
    construct yet (an older release's limitation).  A documented Asyncify limitation ("Fatal:
    Asyncify does not support ...", tail calls, reference-typed locals live across a yield) is
    ``fatal`` with other words, and stays Unsupported.
    """
    text = str(exc)
    if _FEATURE_MISSING.search(text) or (exc.kind == "fatal" and _NOT_YET.search(text)):
        return False
    return exc.kind == "rejected" or (exc.kind == "fatal" and bool(_PARSE_FAILURE.search(text)))


#: list option -> Binaryen's pass argument naming the list, derived from the call graph
#: (:mod:`resumefuzz.callgraph`) of the module Asyncify is given:
#: ``only``: exactly the functions that can reach the suspending import; ``remove``: all the others;
#: ``add``: the reaching ones on top of Binaryen's own analysis, which ignores indirect calls
#: (``asyncify-ignore-indirect``: they are followed through the list only); ``propagate-add``: the
#: same, the list propagated to callers (``asyncify-propagate-addlist``).
LISTS = {"none": "", "only": "asyncify-onlylist", "remove": "asyncify-removelist", "add": "asyncify-addlist",
         "propagate-add": "asyncify-addlist"}


def _explained(exc: binaryen.BinaryenError, wasm: bytes, suspend_import: tuple[str, str]) -> str:
    """Why Binaryen aborted, when WASM holds try_table where Asyncify instruments ("" otherwise).

    Asyncify flattens every function it instruments, and Binaryen's flatten pass does not know
    try_table: it prints "unexpected expr type" (Flatten.cpp) and aborts, so the reply says only
    "Aborted()".  The functions Asyncify instruments without a list: those that can reach the
    suspending import and those that make an indirect call.
    """
    if "Aborted" not in str(exc) and "Flatten" not in str(exc):
        return ""
    try:
        graph = callgraph.call_graph(wasm)
    except Exception:  # noqa: BLE001 - only an explanation: the refusal stands without it
        return ""
    reaching = graph.reaching_import(*suspend_import)
    held = [f.name or str(f.index) for f in graph.functions
            if f.try_tables and (f.index in reaching or f.indirect)]
    if not held:
        return ""
    return (f" (try_table in function {', '.join(held[:3])}, which Asyncify instruments: Binaryen's flatten"
            f" pass, run on every instrumented function, does not handle try_table)")


class ResumeBufferExhausted(Exception):
    """The unwound stack did not fit the resume buffer (a capacity limit, not a divergence)."""


class AsyncifyEngine(Engine):
    name = "asyncify"
    defaults: dict[str, Any] = {
        "buffer_pages": 16,  # size of the private memory holding the resume buffer
        "optimize_level": 0,  # Binaryen optimize level while running the pass (0-4)
        "shrink_level": 0,  # Binaryen shrink level (0-2)
        "optimize_before": False,  # run Binaryen's default pipeline before --asyncify
        "optimize_after": False,  # ... and/or after it
        "asserts": False,  # asyncify-asserts: trap if the state changes in a function left uninstrumented
        # which function list Asyncify is given, derived from the call graph (see LISTS)
        "list": "none",
        # the Binaryen release (its major, e.g. "125") among those installed (binaryen.installed_versions);
        # "" here stands for the default release, and config["version"] always names it (e.g. "132")
        "version": "",
    }
    ranges = {"buffer_pages": (1, 4096), "optimize_level": (0, 4), "shrink_level": (0, 2)}
    option_space = {
        "optimize_level": (0, 0, 1, 2, 3),
        "shrink_level": (0, 0, 1, 2),
        "optimize_before": (False, False, True),
        "optimize_after": (False, False, True),
        # small buffers are cheap to snapshot (the whole private memory is captured at every
        # suspension) and test the overflow path; 16 pages fit deep stacks
        "buffer_pages": (1, 1, 2, 16),
        "asserts": (False, False, True),
        "list": ("none", "none", "only", "remove", "add", "propagate-add"),
        # "version": every installed Binaryen release, the default twice (set per instance: see __init__)
    }

    def __init__(self, *, name: str | None = None, **config: Any) -> None:
        if "version" in self.defaults:
            config = _version_normalized(config)
        super().__init__(name=name, **config)
        if "version" in self.defaults:
            if not self.config["version"]:
                self.config["version"] = _default_version()
            installed = _installed_versions()
            if installed:  # the default twice: campaigns spread cases across releases, the default a bit more
                self.option_space = {**type(self).option_space, "version": (_default_version(), *installed)}

    def _check_option(self, key: str, value: Any) -> None:
        if key == "list" and value not in LISTS:
            raise BadInput(f"engine {self.name}: option list must be one of {', '.join(LISTS)}, not {value!r}")
        if key != "version" or "version" not in self.defaults:
            super()._check_option(key, value)
            return
        installed = _installed_versions()
        if not isinstance(value, str) or value not in installed:
            raise BadInput(f"engine {self.name}: option version must be an installed Binaryen release "
                           f"({', '.join(installed) or 'none found'}; default {_default_version() or '?'}), "
                           f"not {value!r}")

    def reconfigured(self, **options: Any) -> "AsyncifyEngine":
        if "version" in self.defaults:
            options = _version_normalized(options)
        return super().reconfigured(**options)  # type: ignore[return-value]

    def spec(self) -> str:
        """As every engine's, but the version unquoted (``version=125``), and kept whenever it was given
        (a drawn or chosen release, the default included, is recorded and replayed as such)."""
        if "version" not in self.defaults:
            return super().spec()
        options = [f"{k.replace('_', '-')}={v if k == 'list' else json.dumps(v)}"  # list=only: no quotes
                   for k, v in sorted(self.config.items())
                   if k != "version" and v != self.defaults[k]]
        if "version" in self.given or self.config["version"] != _default_version():
            options.append(f"version={self.config['version']}")
        return f"{self.name}:{','.join(options)}" if options else self.name

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        return self.transform_listed(wasm, suspend_import, self.config["list"])

    def transform_listed(self, wasm: bytes, suspend_import: tuple[str, str], listing: str,
                         leave_out: "Callable[[CallGraph, frozenset[int]], frozenset[int]] | None" = None) -> bytes:
        """The transform, given the function list LISTING (one of LISTS) derived from WASM's call graph.

        LEAVE_OUT(graph, reaching) names functions to drop from an only-list (a planted fault's).
        With ``optimize_before``, a list is derived from the optimized module: Binaryen's optimizer
        may merge, outline or drop functions, so it runs first on its own (one more worker request).
        """
        optimize_before = bool(self.config["optimize_before"])
        try:
            if listing != "none" and optimize_before:
                wasm = self._run(wasm, [], {}, optimize_before=True, optimize_after=False)
                optimize_before = False
            args = {
                "asyncify-imports": f"{suspend_import[0]}.{suspend_import[1]}",
                "asyncify-in-secondary-memory": "1",
                "asyncify-secondary-memory-size": str(self.config["buffer_pages"]),
                **({"asyncify-asserts": "1"} if self.config["asserts"] else {}),
                **self._list_args(wasm, suspend_import, listing, leave_out),
            }
            return self._run(wasm, ["asyncify"], args, optimize_before=optimize_before,
                             optimize_after=bool(self.config["optimize_after"]))
        except binaryen.BinaryenError as exc:
            if exc.kind in ("invalid-output", "died"):  # Binaryen failed on a module it accepted
                raise EngineError(f"engine {self.name}: {exc}") from None
            if rejects_valid(exc):  # the harness validated this module: Binaryen's front end is wrong
                raise EngineDefect(f"engine {self.name} rejects a valid module: Binaryen {exc}",
                                   engine=self.name, detail=str(exc)) from None
            # what Binaryen documents as out of scope (Asyncify limitations, features left off)
            raise Unsupported(f"Binaryen Asyncify cannot transform this module: {exc}"
                              f"{_explained(exc, wasm, suspend_import)}") from None

    def _run(self, wasm: bytes, passes: list[str], args: dict[str, str], *, optimize_before: bool,
             optimize_after: bool) -> bytes:
        return binaryen.worker(self.config.get("version") or None).run_passes(
            wasm, passes, args, features=features(wasm),
            optimize_level=int(self.config["optimize_level"]),
            shrink_level=int(self.config["shrink_level"]),
            optimize_before=optimize_before,
            optimize_after=optimize_after,
        )

    def _list_args(self, wasm: bytes, suspend_import: tuple[str, str], listing: str,
                   leave_out: "Callable[[CallGraph, frozenset[int]], frozenset[int]] | None") -> dict[str, str]:
        """Binaryen's pass arguments for LISTING (see LISTS) on WASM."""
        if listing == "none":
            return {}
        graph = callgraph.call_graph(wasm)
        reaching = graph.reaching_import(*suspend_import)
        chosen = graph.defined() - reaching if listing == "remove" else reaching
        if leave_out is not None:
            chosen = chosen - leave_out(graph, reaching)
        try:
            names = graph.names(chosen)
        except callgraph.Unlistable as exc:
            raise Unsupported(f"engine {self.name}: list={listing}: {exc}") from None
        args = {LISTS[listing]: ",".join(names)} if names else {}  # an empty list is no list
        if listing in ("add", "propagate-add"):  # indirect calls are followed through the list only
            args["asyncify-ignore-indirect"] = "1"
        if listing == "propagate-add":
            args["asyncify-propagate-addlist"] = "1"
        return args

    def optimizes(self) -> bool:
        config = self.config
        return bool(config["optimize_level"] or config["shrink_level"] or config["optimize_before"]
                    or config["optimize_after"])

    def private_keys(self, layout: "Layout") -> set[str]:
        added_globals = [s.key for s in layout.globals if s.origin == "engine"]
        added_memories = [s.key for s in layout.memories if s.origin == "engine"]
        if len(added_globals) == 3 and len(added_memories) == 1 and not self.config["optimize_after"]:
            # Binaryen's optimizer run before the pass added a global of its own (seen with
            # optimize-before): Asyncify appends its two after it, and nothing reorders them later
            return {*added_globals[1:], *added_memories}
        if len(added_globals) != 2 or len(added_memories) != 1:
            return set()  # not the shape Asyncify is known to add: declare nothing private
        return {*added_globals, *added_memories}

    def _buffer(self, machine: "Machine") -> tuple[str, int]:
        """(export of the private memory, the buffer's end: the memory's size)."""
        export = _private_memory(machine.layout).export
        return export, self._buffer_end(machine, export)

    def _buffer_end(self, machine: "Machine", export: str) -> int:
        return int(self.config["buffer_pages"]) * 65536

    def start_suspend(self, machine: "Machine", context: RunContext) -> None:
        export, end = self._buffer(machine)
        machine.write_memory(export, BUFFER, struct.pack("<II", BUFFER + 8, end))
        machine.invoke("asyncify_start_unwind", BUFFER)

    def finish_suspend(self, machine: "Machine", context: RunContext) -> bytes:
        machine.invoke("asyncify_stop_unwind")
        export, end = self._buffer(machine)
        current, stored_end = struct.unpack("<II", machine.read_memory(export, BUFFER, 8))
        if current > stored_end or stored_end != end:
            raise ResumeBufferExhausted(f"Asyncify resume buffer overflowed ({current} > {stored_end})")
        return struct.pack("<I", BUFFER)

    def start_resume(self, machine: "Machine", resume: bytes, context: RunContext) -> None:
        (pointer,) = struct.unpack("<I", resume)
        machine.invoke("asyncify_start_rewind", pointer)

    def finish_resume(self, machine: "Machine", context: RunContext) -> None:
        machine.invoke("asyncify_stop_rewind")

    def saved_stack(self, snapshot: "Snapshot", layout: "Layout") -> bytes:
        """The used part of the buffer in SNAPSHOT's image of the private memory."""
        data, current = self._saved(snapshot, layout)
        return data[BUFFER + 8:current]

    def with_saved_stack(self, snapshot: "Snapshot", layout: "Layout", stack: bytes) -> "Snapshot":
        data, current = self._saved(snapshot, layout)
        if len(stack) != current - (BUFFER + 8):
            raise ValueError(f"saved stack of {current - (BUFFER + 8)} bytes replaced by {len(stack)}")
        index = _private_memory(layout).index
        data = data[:BUFFER + 8] + stack + data[current:]
        return replace(snapshot, memories=tuple(replace(m, data=data) if m.index == index else m
                                                for m in snapshot.memories))

    @staticmethod
    def _saved(snapshot: "Snapshot", layout: "Layout") -> tuple[bytes, int]:
        """(the private memory's bytes, the buffer's current end) in SNAPSHOT."""
        index = _private_memory(layout).index
        data = next(m.data for m in snapshot.memories if m.index == index)
        return data, int.from_bytes(data[BUFFER:BUFFER + 4], "little")


def _version_normalized(config: dict[str, Any]) -> dict[str, Any]:
    """CONFIG with a version given as a number (``version=125`` parses as JSON) as its string."""
    version = config.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        return {**config, "version": str(version)}
    return config


def _installed_versions() -> tuple[str, ...]:
    """The installed Binaryen releases (majors, oldest first); none when Binaryen is not set up."""
    try:
        return tuple(binaryen.installed_versions())
    except SetupError:
        return ()


def _default_version() -> str:
    try:
        return binaryen.default_version()
    except SetupError:
        return ""


def _private_memory(layout: "Layout") -> "Slot":
    """The memory the transform added (the resume buffer's)."""
    return next(s for s in layout.memories if s.origin == "engine")
