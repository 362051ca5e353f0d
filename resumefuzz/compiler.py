"""C to WebAssembly: ``zig cc`` builds a wasm32-wasi command module, each program once.

:func:`compile_c` runs ``python -m ziglang cc -target wasm32-wasi -O<level> -s BASE_FLAGS FLAGS
program.c`` (PyPI ``ziglang``, pinned in pyproject.toml) in a private folder and keeps the module
in a content-addressed cache: the key is the source bytes, the optimization level, the flags,
the zig version and whatever else the caller says the build depends on (``depends``: e.g. the
version of the headers it includes).  The cache is ``$RESUMEFUZZ_CACHE/cc`` when that variable is
set, else ``~/.cache/resumefuzz/cc`` (``$XDG_CACHE_HOME`` replaces ``~/.cache``); entries are
written atomically, so concurrent campaign workers share it safely, and a program is compiled
once however many cases, replays and shrink steps ask for it.

:data:`BASE_FLAGS` are what every program the harness builds gets: no UBSan (zig turns it on at
``-O0``, and its runtime imports ``fd_pwrite``, outside the harness's WASI host) and a 256 KiB
shadow stack instead of zig's 16 MiB (the linear memory, which every snapshot carries, is then a
few pages instead of 257).  A later ``-Wl,-z,stack-size=N`` in FLAGS wins.

zig builds its own wasi-libc once per optimization level the first time that level is used
(about 20 s each, kept in zig's own cache, ``~/.cache/zig``); after that a small program compiles
in 0.1-0.5 s.  ``make programs`` builds the corpus programs at every level, which also does that.

Errors: zig missing is a :class:`~resumefuzz.errors.SetupError` (install PyPI ziglang: ``make
setup``); a program zig rejects is a :class:`CompileError` carrying zig's first error lines; a
build running past its wall-clock limit is a :class:`CompileTimeout` (zig's whole process group
is killed, clang included).

``python -m resumefuzz.compiler [-O LEVEL]... [--all-levels] FILE.c...`` builds each FILE at each
level into the cache and prints the modules' paths (default level: ``-O2``; no FILE: a minimal
program, which only warms zig's wasi-libc for those levels).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ResumefuzzError, SetupError
from .files import write_atomic
from .process import run_bounded

__all__ = ["BASE_FLAGS", "CompileError", "CompileTimeout", "Compiled", "OPT_LEVELS", "TARGET", "cache_dir",
           "compile_c", "zig_version"]

TARGET = "wasm32-wasi"
#: the optimization levels zig cc takes for this target, as flags
OPT_LEVELS = ("-O0", "-O1", "-O2", "-Os", "-Oz")
#: flags every build gets (see the module docstring); part of the cache key
BASE_FLAGS = ("-fno-sanitize=undefined", "-Wl,-z,stack-size=262144")
#: wall-clock seconds a build may take: room for zig's first wasi-libc build of a level on a busy machine
COMPILE_TIMEOUT = 300.0
CACHE_ENV = "RESUMEFUZZ_CACHE"
#: error lines of zig's output kept in a CompileError
ERROR_LINES = 4
_MINIMAL = "int main(void) { return 0; }\n"


class CompileError(ResumefuzzError):
    """zig could not build the program: its first error lines."""

    exit_code = 2


class CompileTimeout(CompileError):
    """The build ran past its wall-clock limit (zig's process group was killed)."""


@dataclass(frozen=True)
class Compiled:
    """A built module, where the cache keeps it, and whether this call built it."""

    wasm: bytes
    path: Path
    cached: bool  # True: found in the cache, zig did not run
    seconds: float  # wall-clock time of this call


def cache_dir() -> Path:
    """Where compiled modules are kept (see the module docstring)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root) / "cc"
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home) / "resumefuzz" / "cc"


@functools.cache
def zig_version() -> str:
    """The version of the PyPI ziglang package the builds run (SetupError when it is not installed)."""
    if importlib.util.find_spec("ziglang") is None:
        raise SetupError("zig not found: install the PyPI package ziglang (run `make setup`)")
    try:
        return importlib.metadata.version("ziglang")
    except importlib.metadata.PackageNotFoundError:  # importable but not installed as a distribution
        raise SetupError("zig not found: install the PyPI package ziglang (run `make setup`)") from None


def normalize_level(level: str) -> str:
    """``-O2``, ``O2`` or ``2`` as ``-O2``; CompileError for a level zig cc does not take here."""
    flag = "-O" + level.removeprefix("-").removeprefix("O")
    if flag not in OPT_LEVELS:
        raise CompileError(f"optimization level {level!r}: expected one of {', '.join(OPT_LEVELS)}")
    return flag


def cache_key(source: bytes, opt: str, flags: tuple[str, ...], depends: str = "") -> str:
    """The cache key of a build: sha256 over the source, level, flags, zig version and DEPENDS."""
    meta = json.dumps({"target": TARGET, "opt": opt, "flags": [*BASE_FLAGS, *flags], "zig": zig_version(),
                       "depends": depends}, sort_keys=True).encode()
    digest = hashlib.sha256()
    digest.update(len(meta).to_bytes(8, "little") + meta)
    digest.update(source)
    return digest.hexdigest()


def compile_c(source: str | bytes, opt: str = "-O2", flags: tuple[str, ...] | list[str] = (), *,
              depends: str = "", timeout: float = COMPILE_TIMEOUT) -> Compiled:
    """SOURCE (a C program) built for wasm32-wasi at level OPT with FLAGS, from the cache when it
    was built before.  DEPENDS: what else the build depends on (joins the cache key)."""
    data = source.encode() if isinstance(source, str) else source
    opt = normalize_level(opt)
    flags = tuple(flags)
    started = time.monotonic()
    key = cache_key(data, opt, flags, depends)
    path = cache_dir() / key[:2] / f"{key}.wasm"
    try:
        return Compiled(path.read_bytes(), path, True, time.monotonic() - started)
    except FileNotFoundError:
        pass
    wasm = _build(data, opt, flags, timeout)
    write_atomic(path, wasm)
    return Compiled(wasm, path, False, time.monotonic() - started)


def _build(source: bytes, opt: str, flags: tuple[str, ...], timeout: float) -> bytes:
    zig_version()  # SetupError before anything runs
    with tempfile.TemporaryDirectory(prefix="resumefuzz-cc-") as folder:
        (Path(folder) / "program.c").write_bytes(source)
        command = [sys.executable, "-m", "ziglang", "cc", "-target", TARGET, opt, "-s", *BASE_FLAGS, *flags,
                   "program.c", "-o", "program.wasm"]
        try:
            code, output, _ = run_bounded(command, cwd=folder, timeout=timeout, merge_stderr=True)
        except subprocess.TimeoutExpired:
            raise CompileTimeout(f"zig cc {opt}: no module after {timeout:g} s (killed)") from None
        text = output.decode(errors="replace")
        result = Path(folder) / "program.wasm"
        if code != 0 or not result.is_file():
            raise CompileError(f"zig cc {opt}: {_first_errors(text, folder) or f'exit {code}'}")
        return result.read_bytes()


def _first_errors(output: str, folder: str) -> str:
    """zig's first error lines (else its first lines), one line, the private folder's path removed."""
    lines = [line.replace(folder + os.sep, "").strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return " | ".join((errors or lines)[:ERROR_LINES])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resumefuzz.compiler",
                                     description="Build C programs for wasm32-wasi into the cache; print their paths.")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE.c")
    parser.add_argument("-O", dest="levels", action="append", metavar="LEVEL",
                        help="optimization level: 0, 1, 2, s, z (repeatable; default 2)")
    parser.add_argument("--all-levels", action="store_true", help="build at every level (-O0 -O1 -O2 -Os -Oz)")
    args = parser.parse_args(argv)
    try:
        levels = list(OPT_LEVELS) if args.all_levels else [normalize_level(l) for l in args.levels or ["2"]]
        sources = [(str(f), f.read_bytes()) for f in args.files] or [("(minimal)", _MINIMAL.encode())]
        for name, source in sources:
            for level in levels:
                try:
                    print(compile_c(source, level).path, flush=True)
                except CompileError as exc:
                    raise CompileError(f"{name}: {exc}") from None
    except OSError as exc:
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except ResumefuzzError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
