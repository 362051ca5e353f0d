"""Client for the resident Binaryen workers (node + an npm `binaryen` release).

Starting node and loading binaryen.js costs ~0.3-1 s, ruinous per module, so
one worker process per Binaryen release is started lazily per Python process
and kept (a fresh worker also runs cold: V8 needs a few dozen requests to tier
binaryen.js up, so restarts are expensive twice over).  A module Binaryen
merely rejects (validation) leaves the worker intact; a worker that reports
anything else (a C++ fatal error or an abort can leave the wasm heap of
binaryen.js unusable) is restarted before the next request.

Releases: the default is the pinned ``node_modules/binaryen``; older releases
are installed beside it as npm aliases ``node_modules/binaryen-NNN`` (see
package.json) and named by their major version, e.g. ``"125"``
(:func:`installed_versions`, :func:`default_version`; ``--engine
asyncify:version=125``).
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .errors import BadInput, SetupError

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


def binaryen_package_dir(version: str | None = None) -> Path:
    """The npm package of release VERSION (a major, e.g. "125"), or of the default release.

    The default: $RESUMEFUZZ_BINARYEN, else node_modules/binaryen up from here or cwd.  The other
    releases are the ``binaryen-NNN`` directories beside it (see :func:`installed_versions`).
    """
    if version is None:
        return _default_dir()
    versions = installed_versions()
    if str(version) not in versions:
        raise BadInput(f"--engine asyncify: Binaryen version {version} is not installed "
                       f"(installed: {', '.join(versions)}; default {default_version()})")
    return versions[str(version)]


def _default_dir() -> Path:
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


def _major(package: Path) -> str | None:
    """The major version of the `binaryen` npm package at PACKAGE (None if it is not one)."""
    try:
        meta = json.loads((package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("name") != "binaryen" or not (package / "index.js").is_file():
        return None
    major = str(meta.get("version", "")).split(".")[0]
    return major if major.isdigit() else None


#: default package directory -> (its major version, every installed release: major -> directory)
_discovered: dict[Path, tuple[str, dict[str, Path]]] = {}


def _discover() -> tuple[str, dict[str, Path]]:
    default = _default_dir()
    if default not in _discovered:
        major = _major(default)
        if major is None:
            raise SetupError(f"Binaryen at {default} has no readable package.json version")
        found = {major: default}
        try:
            siblings = sorted(default.parent.iterdir())
        except OSError:
            siblings = []
        for folder in siblings:
            match = re.fullmatch(r"binaryen-(\d+)", folder.name)
            if match and _major(folder) == match.group(1):
                found.setdefault(match.group(1), folder)
        _discovered[default] = (major, dict(sorted(found.items(), key=lambda item: int(item[0]))))
    return _discovered[default]


def default_version() -> str:
    """The default release's major version, e.g. "132"."""
    return _discover()[0]


def installed_versions() -> dict[str, Path]:
    """Every installed release: major version -> package directory, oldest first.

    The default release and every ``binaryen-NNN`` directory beside it (the npm aliases of
    package.json) whose package.json says it is binaryen NNN.x.
    """
    return dict(_discover()[1])


class BinaryenWorker:
    """One resident node process answering JSON-line requests (for one release: VERSION, or the default)."""

    def __init__(self, version: str | None = None) -> None:
        self.version = version
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
            [node, str(_WORKER_SCRIPT), str(binaryen_package_dir(self.version))],
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


_workers: dict[str | None, BinaryenWorker] = {}
_workers_lock = threading.Lock()


def worker(version: str | None = None) -> BinaryenWorker:
    """The process-wide resident worker of release VERSION (a major, e.g. "125"; None or the
    default's major: the default release).  Started on first use; an uninstalled VERSION is BadInput."""
    if version is not None:
        version = str(version)
        if version not in installed_versions():
            binaryen_package_dir(version)  # raises BadInput, naming the installed ones
        if version == default_version():
            version = None
    with _workers_lock:
        found = _workers.get(version)
        if found is None:
            found = _workers[version] = BinaryenWorker(version)
            atexit.register(found.close)
        return found
