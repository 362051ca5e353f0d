"""The reference for the harness's WASI host: a command run under wasmtime's own WASI.

:func:`reference_run` runs a WASI command module (the *original* module, as the user gave it)
straight under wasmtime's built-in WASI with given :class:`~resumefuzz.wasi.WasiInputs`: argv,
environment, stdin from a temporary file, stdout and stderr captured to temporary files, the
input files written into a fresh temporary directory preopened as
:data:`~resumefuzz.wasi.PREOPEN_GUEST`.  It is fuel-limited (the caller's budget) and its wasm
execution wall-clock bounded (epoch interruption; a host call that blocks, a sleep through
``poll_oneoff``, is not interrupted, which is one reason a run that polled is never
cross-checked).  The final tree is read back sorted and bounded (``limits.WASI_MAX_*``), every
temporary file is removed, whatever happens.

:func:`cross_check` compares the harness host's straight run with it.  The two must agree on
stdout, stderr, exit code and final files: a disagreement is a *harness* bug (its host is
wrong), never a suspend/resume divergence.  Runs whose results a real host would not reproduce
(clocks, ``random_get``, ``poll_oneoff``, ``fd_readdir`` order), runs that did not end with an
exit code, and modules the reference cannot run are skipped, with the reason.

What ends a reference run:

* ``_start`` returns: exit code 0; ``proc_exit(n)`` (wasmtime's ``ExitTrap``): exit code n;
* any other trap (``unreachable``, an out-of-bounds access): an outcome with exit code None and
  the output written so far (the harness host that saw an exit code disagrees);
* fuel or the wall clock running out, the wasm stack overflowing, a module that does not
  compile, is not a command, or imports what wasmtime's WASI does not provide, ``proc_exit``
  with a status of 126 or more (wasmtime's WASI refuses it), output or a tree past the limits:
  no outcome, a reason (resources or wasmtime's own restrictions: nothing to compare).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from .. import limits
from ..abi import WASI_START
from ..errors import BadInput, Inconclusive, Unsupported
from ..runtime import _first_line, compile_module
from . import PREOPEN_GUEST, WasiInputs, WasiOutcome

__all__ = ["REFERENCE_STACK", "REFERENCE_TIMEOUT", "CrossCheck", "cross_check", "first_difference", "reference_run"]

#: Seconds of wasm execution a reference run may take (default of ``timeout``) before it is
#: interrupted (epoch interruption); compiling has its own budget (limits.compile_timeout()).
REFERENCE_TIMEOUT = 60.0

#: Native stack of a reference run: as much as the harness gives the (larger) prepared modules
#: (resumefuzz.preparation.INSTRUMENTED_STACK), so that what ran there does not overflow here.
REFERENCE_STACK = 2 * 1024 * 1024

#: Excerpt bytes shown either side of a difference in cross_check's detail.
_EXCERPT = 12

_STORE_MEMORY_BYTES = limits.MAX_MEMORY_PAGES * 65536


#: the reference run's wasmtime settings (runtime._config): fuel, and epochs for the wall clock
_SETTINGS = {"opt_level": "speed", "max_wasm_stack": REFERENCE_STACK, "canonicalize_nans": False,
             "epoch_interruption": True}


def reference_run(wasm: bytes, inputs: WasiInputs, *, fuel: int,
                  timeout: float = REFERENCE_TIMEOUT) -> WasiOutcome | str:
    """WASM's ``_start`` under wasmtime's WASI with INPUTS, within FUEL and TIMEOUT seconds:
    its :class:`WasiOutcome` (``nondeterministic`` empty: wasmtime does not report it), or why it
    could not be run (a one-line reason).  BadInput when INPUTS are over the limits (checked
    before anything is written)."""
    if fuel <= 0:
        raise BadInput(f"reference run fuel {fuel}: expected a positive number")
    # A WasiInputs is checked when made; check again (cheap) so that nothing over the limits is
    # written even if one was built around its checks.
    inputs = WasiInputs(tuple(inputs.args), tuple(inputs.env), bytes(inputs.stdin), tuple(inputs.files))
    try:  # in-process when small, else in a child stopped at the compile budget (as every run's module)
        engine, module = compile_module(wasm, _SETTINGS, "original")
    except (Unsupported, Inconclusive) as exc:
        return str(exc)
    start = next((e for e in module.exports if e.name == WASI_START), None)
    if start is None or not isinstance(start.type, wasmtime.FuncType) or start.type.params or start.type.results:
        return f"not a WASI command: no export {WASI_START!r} of type [] -> []"
    scratch = Path(tempfile.mkdtemp(prefix="resumefuzz-wasi-reference-"))
    try:
        return _run(engine, module, inputs, scratch, fuel, timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(engine: wasmtime.Engine, module: wasmtime.Module, inputs: WasiInputs, scratch: Path,
         fuel: int, timeout: float) -> WasiOutcome | str:
    tree = scratch / "tree"
    tree.mkdir()
    for path, data in inputs.files:
        target = tree.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    stdin, stdout, stderr = scratch / "stdin", scratch / "stdout", scratch / "stderr"
    stdin.write_bytes(inputs.stdin)
    wasi = wasmtime.WasiConfig()
    wasi.argv = list(inputs.args)
    wasi.env = [[name, value] for name, value in inputs.env]
    wasi.stdin_file = str(stdin)
    wasi.stdout_file = str(stdout)
    wasi.stderr_file = str(stderr)
    wasi.preopen_dir(str(tree), PREOPEN_GUEST)

    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    store.set_fuel(fuel)
    store.set_limits(memory_size=_STORE_MEMORY_BYTES, table_elements=limits.MAX_TABLE_ENTRIES)
    store.set_epoch_deadline(1)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    timer = threading.Timer(timeout, engine.increment_epoch)
    timer.daemon = True
    timer.start()
    exit_code: int | None
    try:
        instance = linker.instantiate(store, module)
        start = instance.exports(store)[WASI_START]
        assert isinstance(start, wasmtime.Func)
        start(store)
        exit_code = 0
    except wasmtime.ExitTrap as exc:
        exit_code = exc.code
    except wasmtime.Trap as exc:
        code = exc.trap_code
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return f"the reference run ran out of fuel ({fuel})"
        if code == wasmtime.TrapCode.INTERRUPT:
            return f"the reference run took longer than {timeout:g} s"
        if code == wasmtime.TrapCode.STACK_OVERFLOW:
            return "the reference run overflowed the wasm stack"
        exit_code = None
    except wasmtime.WasmtimeError as exc:  # unknown import, instantiation over the Store limits
        message = str(exc)
        if "invalid exit status" in message:  # wasmtime's proc_exit accepts only 0..125
            return "wasmtime's WASI refuses proc_exit with a status outside [0, 126)"
        return f"wasmtime's WASI cannot run the module: {_cause(message)}"
    finally:
        timer.cancel()
    written = sum(f.stat().st_size if f.exists() else 0 for f in (stdout, stderr))
    if written > limits.WASI_MAX_OUTPUT_BYTES:
        return (f"the reference run wrote {written} bytes to stdout and stderr, "
                f"more than {limits.WASI_MAX_OUTPUT_BYTES}")
    files = _read_tree(tree)
    if isinstance(files, str):
        return files
    return WasiOutcome(stdout=_read(stdout), stderr=_read(stderr), exit_code=exit_code, files=files)


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def _read_tree(root: Path) -> tuple[tuple[str, bytes], ...] | str:
    """The tree under ROOT, sorted, as WasiOutcome.files (an empty directory as "path/"), or why
    not: over the limits, or holding what is neither a regular file nor a directory.  Bounds:
    limits.WASI_MAX_FILES entries, and bytes up to the inputs' limit plus the growth a run may
    make (limits.WASI_MAX_TREE_BYTES + limits.WASI_MAX_OUTPUT_BYTES), from sizes, before reading."""
    max_bytes = limits.WASI_MAX_TREE_BYTES + limits.WASI_MAX_OUTPUT_BYTES
    entries: list[tuple[str, Path, bool]] = []  # (relative path, host path, is a directory)
    total = 0
    stack = [("", root)]
    while stack:
        prefix, directory = stack.pop()
        names = []
        with os.scandir(directory) as listing:
            for entry in listing:
                names.append(entry.name)
                if len(names) + len(entries) > limits.WASI_MAX_FILES:
                    return f"the reference run left more than {limits.WASI_MAX_FILES} files"
        names.sort()
        if not names and prefix:
            entries.append((prefix, directory, True))
        for name in names:
            path = directory / name
            relative = f"{prefix}{name}"
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                stack.append((relative + "/", path))
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                entries.append((relative, path, False))
            else:
                return f"the reference run left {relative!r}, neither a regular file nor a directory"
            if len(entries) + len(stack) > limits.WASI_MAX_FILES:
                return f"the reference run left more than {limits.WASI_MAX_FILES} files"
            if total > max_bytes:
                return f"the reference run left files of more than {max_bytes} bytes"
    return tuple(sorted((relative, b"" if is_dir else path.read_bytes()) for relative, path, is_dir in entries))


def _cause(text: str) -> str:
    """wasmtime's message without its wasm backtrace: the line after "Caused by:", or the first."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "Caused by:" in lines and lines.index("Caused by:") + 1 < len(lines):
        return lines[lines.index("Caused by:") + 1][:300]
    return _first_line(text)


# -- the cross-check ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CrossCheck:
    """The harness host's straight run against wasmtime's WASI: ``status`` "agree", "disagree"
    (a harness bug; ``detail`` names the first difference) or "skipped" (``detail`` says why)."""

    status: str  # "agree" | "disagree" | "skipped"
    detail: str


_BLAME = "harness WASI host disagrees with wasmtime's WASI: "


def cross_check(wasm: bytes, inputs: WasiInputs, ours: WasiOutcome, *, fuel: int,
                timeout: float = REFERENCE_TIMEOUT) -> CrossCheck:
    """Compare OURS (the harness host's straight run of WASM with INPUTS) with wasmtime's WASI."""
    if ours.nondeterministic:
        return CrossCheck("skipped", "the run called " + ", ".join(sorted(set(ours.nondeterministic)))
                          + ", which a real host does not reproduce")
    if ours.exit_code is None:
        return CrossCheck("skipped", "the harness run did not end with an exit code")
    reference = reference_run(wasm, inputs, fuel=fuel, timeout=timeout)
    if isinstance(reference, str):
        return CrossCheck("skipped", f"wasmtime's WASI could not run it: {reference}")
    difference = first_difference(ours, reference)
    if difference is None:
        return CrossCheck("agree", "stdout, stderr, exit code and files agree with wasmtime's WASI")
    return CrossCheck("disagree", _BLAME + difference)


def first_difference(ours: WasiOutcome, reference: WasiOutcome) -> str | None:
    """The first difference between OURS (harness) and REFERENCE (wasmtime), one line, or None."""
    for facet in ("stdout", "stderr"):
        where = _bytes_difference(getattr(ours, facet), getattr(reference, facet))
        if where is not None:
            return f"{facet} {where}"
    if ours.exit_code != reference.exit_code:
        return f"exit code {_exit(ours.exit_code)} (harness) vs {_exit(reference.exit_code)} (wasmtime)"
    mine, theirs = dict(ours.files), dict(reference.files)
    for path in sorted(set(mine) | set(theirs)):
        if path not in theirs:
            return f"file {path!r} present only in the harness's tree"
        if path not in mine:
            return f"file {path!r} present only in wasmtime's tree"
        where = _bytes_difference(mine[path], theirs[path])
        if where is not None:
            return f"file {path!r} {where}"
    return None


def _exit(code: int | None) -> str:
    return "none (trapped)" if code is None else str(code)


def _bytes_difference(mine: bytes, theirs: bytes) -> str | None:
    if mine == theirs:
        return None
    offset, common = 0, min(len(mine), len(theirs))
    while offset < common and mine[offset:offset + 4096] == theirs[offset:offset + 4096]:
        offset += 4096  # whole blocks first: outputs run to megabytes
    offset = next((i for i in range(offset, common) if mine[i] != theirs[i]), common)
    return (f"differs at byte {offset} (harness {len(mine)} bytes, wasmtime {len(theirs)}): "
            f"harness {_excerpt(mine, offset)} vs wasmtime {_excerpt(theirs, offset)}")


def _excerpt(data: bytes, offset: int) -> str:
    start = max(0, offset - _EXCERPT)
    text = repr(data[start:offset + _EXCERPT])
    return ("..." if start else "") + text + ("..." if offset + _EXCERPT < len(data) else "")
