"""Client for the resident Binaryen worker (node + the pinned npm `binaryen`).

Starting node and loading binaryen.js costs ~0.3-1 s, ruinous per module, so
one worker process is started lazily per Python process and kept (a fresh
worker also runs cold: V8 needs a few dozen requests to tier binaryen.js up,
so restarts are expensive twice over).  A module Binaryen merely rejects
(validation) leaves the worker intact; a worker that reports anything else (a
C++ fatal error or an abort can leave the wasm heap of binaryen.js unusable)
is restarted before the next request.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .errors import SetupError

_WORKER_SCRIPT = Path(__file__).with_name("binaryen_worker.mjs")


class BinaryenError(Exception):
    """Binaryen rejected the module or failed to transform it.

    ``kind``: ``"rejected"`` (the input does not validate in Binaryen; the
    message carries the validator's own text), ``"invalid-output"`` (Binaryen's
    result does not validate), ``"died"`` (the worker process ended) or
    ``"fatal"`` (anything else Binaryen threw, e.g. an Asyncify limitation).
    """

    def __init__(self, message: str, kind: str = "fatal") -> None:
        super().__init__(message)
        self.kind = kind


def binaryen_package_dir() -> Path:
    """Locate the pinned npm package: $RESUMEFUZZ_BINARYEN, else node_modules/ up from here or cwd."""
    env = os.environ.get("RESUMEFUZZ_BINARYEN")
    if env:
        return Path(env)
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "node_modules" / "binaryen"
            if (candidate / "index.js").is_file():
                return candidate
    raise SetupError(
        "Binaryen not found: run `make setup` (npm ci) in the resumefuzz checkout "
        "or set RESUMEFUZZ_BINARYEN to the node_modules/binaryen directory"
    )


class BinaryenWorker:
    """One resident node process answering JSON-line requests."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()
        self._lock = threading.Lock()
        self._next_id = 0

    def _start(self) -> subprocess.Popen[bytes]:
        node = shutil.which("node")
        if node is None:
            raise SetupError("node not found on PATH (Binaryen runs under node)")
        self._stderr.seek(0)
        self._stderr.truncate()
        return subprocess.Popen(
            [node, str(_WORKER_SCRIPT), str(binaryen_package_dir())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def request(self, payload: dict) -> dict:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            self._next_id += 1
            payload = {**payload, "id": self._next_id}
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._stderr.seek(0)  # keep only this request's diagnostics
            self._stderr.truncate()
            try:
                self._proc.stdin.write(json.dumps(payload).encode() + b"\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except BrokenPipeError:
                line = b""
            if not line:
                self.close()
                self._stderr.seek(0)
                tail = self._stderr.read().decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise BinaryenError(f"Binaryen worker died: {tail[0]}", "died")
            reply = json.loads(line)
            if not reply.get("ok"):
                if reply.get("restart", True):
                    self.close()  # never reuse a worker after a fatal error
                raise BinaryenError(reply.get("error", "unknown Binaryen error"), str(reply.get("kind", "fatal")))
            return reply

    def run_passes(
        self,
        wasm: bytes,
        passes: list[str],
        pass_args: dict[str, str] | None = None,
        *,
        features: int,
        optimize_level: int = 0,
        shrink_level: int = 0,
        optimize_before: bool = False,
        optimize_after: bool = False,
    ) -> bytes:
        reply = self.request(
            {
                "op": "passes",
                "wasm": base64.b64encode(wasm).decode(),
                "features": features,
                "passes": passes,
                "passArgs": pass_args or {},
                "optimizeLevel": optimize_level,
                "shrinkLevel": shrink_level,
                "optimizeBefore": optimize_before,
                "optimizeAfter": optimize_after,
            }
        )
        return base64.b64decode(reply["wasm"])


_worker: BinaryenWorker | None = None


def worker() -> BinaryenWorker:
    """The process-wide resident worker."""
    global _worker
    if _worker is None:
        _worker = BinaryenWorker()
        atexit.register(_worker.close)
    return _worker
