"""WASI preview 1 programs: their inputs, what a run of one leaves behind, and the harness's host.

A WASI program (one importing from :data:`resumefuzz.abi.WASI_MODULE`; a *command* when it
exports ``_start``) runs against the harness's own WASI host (:mod:`resumefuzz.wasi.host`):
deterministic (virtual clocks, a seeded random stream) and snapshottable (descriptor table,
offsets, file contents, clock, random position, stdout/stderr bytes and exit code travel in
the snapshot).  Its straight run is checked against wasmtime's own WASI
(:mod:`resumefuzz.wasi.reference`) with the same :class:`WasiInputs`.

This module is the WASI part of the contract: the inputs a case gives (recorded with every
finding and corpus case), the outcome the oracle compares, and where the preopened directory is.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from ..errors import BadInput
from ..limits import WASI_MAX_ARGS_BYTES, WASI_MAX_FILES, WASI_MAX_STDIN_BYTES, WASI_MAX_TREE_BYTES

__all__ = ["PREOPEN_FD", "PREOPEN_GUEST", "WasiInputs", "WasiOutcome"]

#: The one preopened directory: descriptor 3, guest path "." (wasi-libc resolves relative paths
#: against it, as with `wasmtime run --dir .`); it holds WasiInputs.files.
PREOPEN_FD = 3
PREOPEN_GUEST = "."


def _check_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in path:
        raise BadInput(f"WASI file path {path!r}: expected a relative path of plain names separated by '/'")
    return path


@dataclass(frozen=True)
class WasiInputs:
    """What a WASI run is given: argv (argv[0] included), environment, stdin and the files of
    the preopened directory (relative '/'-separated path -> bytes; directories are implied)."""

    args: tuple[str, ...] = ("program",)
    env: tuple[tuple[str, str], ...] = ()
    stdin: bytes = b""
    files: tuple[tuple[str, bytes], ...] = ()

    def __post_init__(self) -> None:
        size = sum(len(a.encode()) + 1 for a in self.args) + sum(len(k.encode()) + len(v.encode()) + 2
                                                                 for k, v in self.env)
        if size > WASI_MAX_ARGS_BYTES:
            raise BadInput(f"WASI args and environment hold {size} bytes, more than {WASI_MAX_ARGS_BYTES}")
        if any("=" in k or "\0" in k or "\0" in v for k, v in self.env) or any("\0" in a for a in self.args):
            raise BadInput("WASI environment names may not contain '=' and no argument or value may contain NUL")
        if len(self.stdin) > WASI_MAX_STDIN_BYTES:
            raise BadInput(f"WASI stdin holds {len(self.stdin)} bytes, more than {WASI_MAX_STDIN_BYTES}")
        if len(self.files) > WASI_MAX_FILES:
            raise BadInput(f"WASI directory holds {len(self.files)} files, more than {WASI_MAX_FILES}")
        total = sum(len(data) for _, data in self.files)
        if total > WASI_MAX_TREE_BYTES:
            raise BadInput(f"WASI directory holds {total} bytes, more than {WASI_MAX_TREE_BYTES}")
        names = [_check_path(path) for path, _ in self.files]
        if len(set(names)) != len(names):
            raise BadInput("WASI directory names a file twice")

    def to_json(self) -> dict[str, Any]:
        return {"args": list(self.args), "env": [list(kv) for kv in self.env],
                "stdin": base64.b64encode(self.stdin).decode(),
                "files": {path: base64.b64encode(data).decode() for path, data in self.files}}

    @classmethod
    def from_json(cls, data: Any) -> "WasiInputs":
        """From :meth:`to_json`'s form (a case file, case.json); BadInput when malformed."""
        try:
            if not isinstance(data, dict) or set(data) - {"args", "env", "stdin", "files"}:
                raise TypeError("expected an object with args, env, stdin, files")
            args = tuple(str(a) for a in _list(data.get("args", ["program"])))
            env = tuple((str(k), str(v)) for k, v in (_pair(kv) for kv in _list(data.get("env", []))))
            stdin = _b64(data.get("stdin", ""), WASI_MAX_STDIN_BYTES)
            files = data.get("files", {})
            if not isinstance(files, dict):
                raise TypeError("files: expected an object of path -> base64")
            tree = tuple(sorted((str(path), _b64(text, WASI_MAX_TREE_BYTES)) for path, text in files.items()))
        except (TypeError, ValueError) as exc:
            raise BadInput(f"WASI inputs: {exc}") from None
        return cls(args or ("program",), env, stdin, tree)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _pair(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise TypeError("env: expected [name, value] pairs")
    return value[0], value[1]


def _b64(text: Any, limit: int) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    if len(text) > 4 * (limit // 3 + 1):  # bounded before decoding
        raise ValueError(f"base64 text longer than a {limit}-byte limit allows")
    return base64.b64decode(text.encode(), validate=True)


@dataclass(frozen=True)
class WasiOutcome:
    """What a WASI run leaves behind, compared by the oracle (facets stdout, stderr, exit, files).

    ``exit_code``: the code given to ``proc_exit``, 0 when ``_start`` returned, None when the run
    ended otherwise (a trap, a budget).  ``files``: the preopened directory's final tree, sorted
    (directories appear only through the paths of the files in them; an empty directory is
    recorded as its path with a trailing '/' and no bytes).
    """

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int | None = None
    files: tuple[tuple[str, bytes], ...] = ()
    #: the WASI functions the run called whose results a real host would not reproduce (clocks,
    #: random_get, poll_oneoff): where any was called, wasmtime's WASI is not a reference for it
    nondeterministic: tuple[str, ...] = ()
