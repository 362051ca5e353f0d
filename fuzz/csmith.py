"""Compiled C programs: Csmith writes a random C program, ``zig cc`` builds it for wasm32-wasi.

A case is a WASI command module (``_start``) compiled from a Csmith program, which computes
over its globals and prints a checksum of them (``checksum = ...`` on stdout).  It runs with
``WasiInputs(args=("program",))``.  What makes the case, all recorded in ``case.json``
(``record``) and derived from the case seed alone:

- Csmith's seed (32 bits of the case seed's hash; when Csmith fails, hangs or writes more than
  :data:`MAX_SOURCE_BYTES`, the next hash, a handful of times) and its options,
  :data:`CSMITH_OPTIONS`, fixed and chosen to keep programs small and quick to run: at most 4
  functions besides ``main``, blocks nested 3 deep with at most 3 statements, arrays of at most
  2 dimensions of 4 elements, expressions of complexity 5, structs of 5 fields, unions of 3.
  Measured over 20 seeds x 5 levels: sources of 2-30 KB, modules of 4-60 KB, 3,000-400,000
  instructions a run, 0.1-0.2 s a build once zig's wasi-libc is built; about one program in
  20 never ends (a Csmith loop whose counter wraps), which the harness's fuel budget makes
  inconclusive;
- the optimization level, drawn from the seed among ``-O0 -O1 -O2 -Os -Oz`` (zig 0.15.2 builds
  ``-O1`` exactly as ``-O2`` and ``-Oz`` as ``-Os``: three distinct pipelines);
- the zig and Csmith versions, and the compiler flags (``-w``, Csmith's include folder, and
  :data:`resumefuzz.compiler.BASE_FLAGS`);
- whether the case uses host I/O (``"host_io": true``, for :data:`HOST_IO_SHARE` of the seeds,
  drawn from the case seed): its build puts :data:`PLATFORM_DIR` (``fuzz/csmith_platform``) first
  on the include path, whose ``csmith.h`` replaces Csmith's ``platform_main_begin`` and
  ``platform_main_end`` (from ``platform_generic.h``) with hooks that use the WASI host's state:
  begin makes stdout line-buffered, opens ``csmith.log`` in the preopened directory and writes a
  line to it, reads the clocks and random bytes and prints a line; end reads them again, writes
  the checksum and the clock- and random-derived values to the file and stdout, seeks back,
  reads the file and prints it, and prints whether the monotonic clock went forwards; each writes
  a line to stderr, and end exits with the code :data:`HOST_IO_EXIT` in the environment gives
  (read at the first getenv, after the computation).  Such a case runs with ``argv[1] == "1"``
  and ``RESUMEFUZZ_EXIT=3`` (``WasiInputs(args=("program", "1"), env=...)``), so Csmith prints
  each global's checksum as it hashes it: output written before later suspensions, a file open
  with a nonzero offset and clock and random readings on both sides of them, which is what the
  host-state faults of :mod:`resumefuzz.engines.faults` break.  The other cases are plain
  Csmith programs, exactly as before (no ``host_io`` key).

The C source is kept with the case (``GeneratedCase.source``, ``program.c`` of a finding).
Modules come from the compiler's cache (:mod:`resumefuzz.compiler`): a case, its replay and
every shrink step compile a program once.

One profile, ``c``: the features zig's wasm32-wasi output uses beyond wasm1, found by validating
100 modules (20 seeds x 5 levels) with each feature left out: ``sign-extension``,
``bulk-memory`` (``memory.copy``/``memory.fill`` in memcpy/memset) and ``reference-types`` (LLVM
encodes ``call_indirect``'s table index in the overlong form only that feature allows).  The
WASI functions the programs import: ``args_get``, ``args_sizes_get``, ``fd_close``,
``fd_fdstat_get``, ``fd_seek``, ``fd_write``, ``proc_exit``, and at ``-O0`` ``random_get``
(zig's debug wasi-libc initializes a stack-protector canary); host-I/O cases add
``clock_time_get``, ``fd_prestat_get``, ``fd_prestat_dir_name``, ``fd_read``, ``fd_tell`` (at
some levels), ``path_open`` and ``random_get`` (:data:`HOST_IO_IMPORTS`) -- all in
:data:`resumefuzz.abi.WASI_IMPORTS`.
Host-I/O runs read clocks and random bytes, so their straight runs are not cross-checked
against wasmtime's WASI (:mod:`resumefuzz.wasi.reference` skips them, saying why).

Shrinking delta-debugs the C source: it removes chunks of lines and whole ``{...}`` blocks,
rebuilds each candidate at the case's level, and keeps a candidate only when it compiles and
the finding's predicate still holds, until the deadline.

Csmith comes from Debian (``apt-get install csmith libcsmith-dev``; ``make setup`` installs it
when it runs as root); without it the generator fails with a one-line SetupError saying so.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from resumefuzz import compiler
from resumefuzz.errors import SetupError
from resumefuzz.host import splitmix64
from resumefuzz.process import run_bounded
from resumefuzz.wasi import WasiInputs

from .generator import GeneratedCase, Generator, Predicate

#: Csmith's options for every case (see the module docstring)
CSMITH_OPTIONS = (
    "--max-funcs", "4", "--max-block-depth", "3", "--max-block-size", "3",
    "--max-array-dim", "2", "--max-array-len-per-dim", "4", "--max-expr-complexity", "5",
    "--max-struct-fields", "5", "--max-union-fields", "3", "--concise",
)
#: the levels a case's seed draws from
OPT_LEVELS = compiler.OPT_LEVELS
#: features of the ``c`` profile (see the module docstring)
FEATURES = frozenset({"sign-extension", "bulk-memory", "reference-types"})
#: the longest C program kept (Csmith's output with CSMITH_OPTIONS is 2-30 KB)
MAX_SOURCE_BYTES = 256 * 1024
#: wall-clock seconds Csmith may take for one program (it takes milliseconds)
CSMITH_TIMEOUT = 20.0
#: Csmith seeds tried for one case before giving up
CSMITH_TRIES = 4
#: the cases (out of 1024, drawn from the case seed) built with the host-I/O platform hooks
HOST_IO_SHARE = 512
#: the folder put first on a host-I/O case's include path (its csmith.h; see the module docstring)
PLATFORM_DIR = Path(__file__).resolve().parent / "csmith_platform"
#: the WASI functions host-I/O cases import besides the plain cases' (see the module docstring)
HOST_IO_IMPORTS = frozenset({"clock_time_get", "environ_get", "environ_sizes_get", "fd_prestat_get",
                             "fd_prestat_dir_name", "fd_read", "fd_tell", "path_open", "random_get"})
_SEED_SALT, _LEVEL_SALT, _HOST_IO_SALT = 0xC5, 0xC6, 0xC7
INSTALL = "apt-get install csmith libcsmith-dev"


class CsmithError(RuntimeError):
    """Csmith wrote no usable program for a case (after CSMITH_TRIES seeds)."""


def executable() -> str:
    """The csmith program on PATH (SetupError saying what to install when there is none)."""
    found = shutil.which("csmith")
    if found is None:
        raise SetupError(f"csmith not found: install it (Debian/Ubuntu: `{INSTALL}`)")
    return found


def include_dir() -> Path:
    """The folder holding csmith.h: next to the csmith executable's prefix, else the system's."""
    prefix = Path(executable()).resolve().parent.parent
    candidates: list[Path] = []
    for root in (prefix / "include", Path("/usr/include"), Path("/usr/local/include")):
        candidates += [root / "csmith", *sorted(root.glob("csmith-*"), reverse=True), root]
    for folder in candidates:
        if (folder / "csmith.h").is_file():
            return folder
    raise SetupError(f"csmith.h not found (looked under {prefix / 'include'}, /usr/include, /usr/local/include): "
                     f"install it (Debian/Ubuntu: `{INSTALL}`)")


@functools.cache
def _version_of(path: str) -> str:
    with tempfile.TemporaryDirectory(prefix="resumefuzz-csmith-") as folder:  # it writes platform.info there
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=CSMITH_TIMEOUT, cwd=folder)
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    return " ".join(lines[:2]) or "unknown"


def version() -> str:
    """Csmith's version, e.g. ``csmith 2.3.0 Git version: 30dccd7``."""
    return _version_of(executable())


def csmith_seed(seed: int, attempt: int = 0) -> int:
    """Csmith's seed for the case with SEED (ATTEMPT > 0: the next ones, when a seed gave no program)."""
    return splitmix64((seed ^ _SEED_SALT) + attempt) & 0xFFFFFFFF


def opt_level(seed: int) -> str:
    """The optimization level of the case with SEED."""
    return OPT_LEVELS[splitmix64(seed ^ _LEVEL_SALT) % len(OPT_LEVELS)]


#: the environment variable a host-I/O case's end hook exits with (csmith_platform/csmith.h)
HOST_IO_EXIT = "RESUMEFUZZ_EXIT"


def host_io(seed: int) -> bool:
    """Whether the case with SEED is built with the host-I/O platform hooks (HOST_IO_SHARE in 1024)."""
    return splitmix64(seed ^ _HOST_IO_SALT) % 1024 < HOST_IO_SHARE


@functools.cache
def _platform_digest() -> str:
    digest = hashlib.sha256()
    for header in sorted(PLATFORM_DIR.glob("*.h")):
        digest.update(header.name.encode() + b"\0" + header.read_bytes())
    return digest.hexdigest()[:16]


def run_csmith(seed: int) -> str:
    """Csmith's program for csmith seed SEED (CsmithError when it fails, hangs or writes too much)."""
    # Csmith writes platform.info into its working directory: a private one
    with tempfile.TemporaryDirectory(prefix="resumefuzz-csmith-") as folder:
        try:
            code, out, err = run_bounded([executable(), "--seed", str(seed), *CSMITH_OPTIONS], cwd=folder,
                                         timeout=CSMITH_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise CsmithError(f"csmith --seed {seed}: no program after {CSMITH_TIMEOUT:g} s") from None
    if code != 0 or not out:
        raise CsmithError(f"csmith --seed {seed}: exit {code}: {err.decode(errors='replace').strip()[:200]}")
    if len(out) > MAX_SOURCE_BYTES:
        raise CsmithError(f"csmith --seed {seed}: {len(out)} bytes of C, more than {MAX_SOURCE_BYTES}")
    return out.decode()


def cc_flags(host_io: bool = False) -> tuple[str, ...]:
    """The flags a Csmith program is built with (besides the level and compiler.BASE_FLAGS);
    HOST_IO: with the host-I/O platform hooks first on the include path."""
    return ("-w", *((f"-I{PLATFORM_DIR}",) if host_io else ()), f"-I{include_dir()}")


def build(source: str, level: str, host_io: bool = False) -> compiler.Compiled:
    """SOURCE built at LEVEL with Csmith's headers (HOST_IO: and the host-I/O platform hooks, whose
    content joins the cache key), from the cache when built before."""
    depends = version() + (f"; platform {_platform_digest()}" if host_io else "")
    return compiler.compile_c(source, level, cc_flags(host_io), depends=depends)


class CsmithGenerator(Generator):
    """Csmith programs compiled by zig cc at a level drawn from the seed; shrunk on the C source."""

    name = "csmith"
    profiles = {"c": FEATURES}
    #: loop heads (and function entries): with ``all``, wasi-libc's printf alone makes a prepared
    #: module of 1-2 MB that wasmtime cannot compile within the compile budget (measured: ``loop``
    #: judges a case in ~4 s with hundreds of suspensions)
    yield_points = ("loop", "loop", "entry,loop")

    def generate(self, seed: int, profile: str) -> GeneratedCase:
        self.check_profile(profile)
        failures = []
        for attempt in range(CSMITH_TRIES):
            cseed = csmith_seed(seed, attempt)
            try:
                source = run_csmith(cseed)
                break
            except CsmithError as exc:
                failures.append(str(exc))
        else:
            raise CsmithError(f"case seed {seed}: " + "; ".join(failures))
        level, io = opt_level(seed), host_io(seed)
        compiled = build(source, level, io)
        record = {"csmith_seed": cseed, "csmith_options": list(CSMITH_OPTIONS), "opt_level": level,
                  "cc_flags": [*compiler.BASE_FLAGS, *cc_flags(io)], "zig_version": compiler.zig_version(),
                  "csmith_version": version(), **({"host_io": True} if io else {})}
        wasi = WasiInputs(args=("program", "1"), env=((HOST_IO_EXIT, "3"),)) if io else WasiInputs(args=("program",))
        return GeneratedCase(self.name, seed, profile, compiled.wasm, record=record, wasi=wasi, source=source)

    def shrink(self, case: GeneratedCase, interesting: Predicate, *, deadline: float,
               attempts: int) -> GeneratedCase | None:
        """Delta-debug CASE's C source (see the module docstring); ATTEMPTS is not used: the
        deadline bounds the search."""
        if case.source is None:
            return None
        level = case.record.get("opt_level") or opt_level(case.seed)
        io = bool(case.record.get("host_io", False))
        best = reduce_source(case.source, lambda text: _still_interesting(text, level, io, interesting), deadline)
        if best is None:
            return None
        source, wasm = best
        return replace(case, wasm=wasm, source=source, record={**case.record, "reduced": True})


def _still_interesting(text: str, level: str, io: bool, interesting: Predicate) -> bytes | None:
    """TEXT's module (built with the host-I/O hooks when IO) when it compiles and INTERESTING holds
    for it, else None."""
    try:
        wasm = build(text, level, io).wasm
    except compiler.CompileError:
        return None
    return wasm if interesting(wasm) else None


def reduce_source(source: str, test: Callable[[str], bytes | None], deadline: float) -> tuple[str, bytes] | None:
    """The smallest SOURCE found before DEADLINE for which TEST (text -> module or None) gives a
    module, with that module; None when no line could be removed.

    Two passes, repeated while either removes something: whole ``{...}`` blocks (a line ending
    in ``{`` through its matching ``}``, an ``else`` branch included), then chunks of lines,
    halving the chunk size down to one line (ddmin's complement steps).  Candidates whose braces
    do not balance are skipped without compiling.
    """
    lines = source.splitlines(keepends=True)
    best: tuple[str, bytes] | None = None

    def attempt(candidate: list[str]) -> bool:
        nonlocal best, lines
        text = "".join(candidate)
        if not _balanced(text):
            return False
        wasm = test(text)
        if wasm is None:
            return False
        lines, best = candidate, (text, wasm)
        return True

    progress = True
    while progress and time.time() < deadline:
        progress = False
        i = 0
        while i < len(lines) and time.time() < deadline:  # blocks, outermost first
            end = _block_end(lines, i)
            if end is not None and attempt(lines[:i] + lines[end + 1:]):
                progress = True
                continue
            i += 1
        size = max(1, len(lines) // 2)
        while time.time() < deadline:  # chunks of lines
            i = 0
            while i < len(lines) and time.time() < deadline:
                if attempt(lines[:i] + lines[i + size:]):
                    progress = True
                else:
                    i += size
            if size == 1:
                break
            size = max(1, size // 2)
    return best


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return False
    return depth == 0


def _block_end(lines: list[str], start: int) -> int | None:
    """The index of the line closing the block LINES[START] begins, or None when it begins none.

    A block begins on a line ending in ``{`` or on a statement header followed by a line ``{``
    (Csmith's style); a directly following ``else`` branch belongs to it.
    """
    header = lines[start].rstrip()
    if not header.endswith("{"):
        opens_next = start + 1 < len(lines) and lines[start + 1].strip() == "{"
        if not opens_next or not header.strip() or header.endswith((";", "}")):
            return None
    depth, opened = 0, False
    for index in range(start, len(lines)):
        depth += lines[index].count("{") - lines[index].count("}")
        opened = opened or "{" in lines[index]
        if depth <= 0 and opened:
            if index + 1 < len(lines) and lines[index + 1].strip().startswith("else"):
                return _block_end(lines, index + 1) or index
            return index
        if depth < 0:
            return None
    return None
