"""Any Asyncify-compatible transform, with no Python: ``--engine asyncify-compatible:'CMD {in} {out}'``.

CMD rewrites the module at ``{in}`` into ``{out}``; ``{import}`` expands to
the suspending import (``rfz.suspend``) that the transform must instrument.
The result must export Binaryen's control functions
(``asyncify_start_unwind`` … ``asyncify_get_state``) with the same
semantics, and keep its resume buffer in a linear memory of its own (as
Binaryen's ``asyncify-in-secondary-memory`` does), so the buffer is neither
clobbered by nor clobbering the program.  Example, Binaryen's own CLI::

    --engine "asyncify-compatible:node node_modules/binaryen/bin/wasm-opt {in} --enable-multimemory \\
      --enable-bulk-memory --enable-multivalue --enable-sign-ext --enable-nontrapping-float-to-int \\
      --enable-mutable-globals --asyncify --pass-arg=asyncify-imports@{import} \\
      --pass-arg=asyncify-in-secondary-memory -o {out}"
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, Unsupported
from .asyncify import AsyncifyEngine

if TYPE_CHECKING:  # pragma: no cover
    from ..instrumentation import Layout


class CommandEngine(AsyncifyEngine):
    id = "asyncify-compatible"
    defaults: dict[str, Any] = {"command": ""}

    def __init__(self, command: str) -> None:
        if "{in}" not in command or "{out}" not in command:
            raise BadInput("--engine asyncify-compatible:CMD: CMD must contain {in} and {out}")
        super().__init__(command=command)

    def spec(self) -> str:
        return f"{self.id}:{self.config['command']}"

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        with tempfile.TemporaryDirectory(prefix="resumefuzz-engine-") as tmp:
            source, target = Path(tmp) / "in.wasm", Path(tmp) / "out.wasm"
            source.write_bytes(wasm)
            command = self.config["command"].format_map({
                "in": shlex.quote(str(source)), "out": shlex.quote(str(target)),
                "import": shlex.quote(".".join(suspend_import)),
            })
            proc = subprocess.run(command, shell=True, capture_output=True, timeout=300)
            if proc.returncode != 0 or not target.is_file():
                detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise Unsupported(f"transform command failed (exit {proc.returncode}): {detail[0][:200]}")
            return target.read_bytes()

    def folds_nans(self) -> bool:
        return True  # an unknown transform may optimize: judge A vs B up to arithmetic NaN payloads

    def private_keys(self, layout: "Layout") -> set[str]:
        if not any(s.origin == "engine" for s in layout.memories):
            raise Unsupported("the transform must keep its resume buffer in a memory of its own "
                              "(e.g. Binaryen's --pass-arg=asyncify-in-secondary-memory)")
        return super().private_keys(layout)

    def _buffer(self, machine: Any) -> tuple[str, int]:
        slot = next(s for s in machine.layout.memories if s.origin == "engine")
        return slot.export, machine.exports[slot.export].data_len(machine.ctx)
