"""PyInstaller runtime hook of the ClusterFuzzLite targets (build.sh passes it with --runtime-hook).

Runs in the bundle before the target: puts the bundled executables (node, wasm-tools) on PATH,
points resumefuzz at the bundled Binaryen package, and keeps Hypothesis' example database out of
the (possibly read-only) working directory.  Outside a PyInstaller bundle it does nothing.
"""

import os
import sys
import tempfile

_BASE = getattr(sys, "_MEIPASS", None)
if _BASE is not None:
    _BIN = os.path.join(_BASE, "bin")
    for _name in os.listdir(_BIN) if os.path.isdir(_BIN) else ():
        _path = os.path.join(_BIN, _name)
        os.chmod(_path, os.stat(_path).st_mode | 0o111)  # in case extraction dropped the mode bits
    os.environ["PATH"] = os.pathsep.join(p for p in (_BIN, os.environ.get("PATH")) if p)
    os.environ.setdefault("RESUMEFUZZ_BINARYEN", os.path.join(_BASE, "node_modules", "binaryen"))
    os.environ.setdefault("RESUMEFUZZ_HYPOTHESIS_DB", os.path.join(tempfile.gettempdir(), "resumefuzz-examples"))
