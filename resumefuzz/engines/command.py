"""Any Asyncify-compatible transform, with no Python: ``--engine asyncify-compatible:'CMD {in} {out}'``.

CMD rewrites the module at ``{in}`` into ``{out}``; ``{import}`` expands to
the suspending import (``rfz.suspend``) that the transform must instrument.
The result must export Binaryen's control functions
(``asyncify_start_unwind`` … ``asyncify_get_state``) with the same
semantics, and keep its resume buffer in a linear memory of its own (as
Binaryen's ``asyncify-in-secondary-memory`` does), so the buffer is neither
clobbered by nor clobbering the program.  Example, Binaryen's own CLI (it
passes the engine contract, ``resumefuzz.testing.smoke_test_engine``)::

    --engine "asyncify-compatible:node node_modules/binaryen/bin/wasm-opt {in} --enable-multimemory \\
      --enable-bulk-memory --enable-multivalue --enable-sign-ext --enable-nontrapping-float-to-int \\
      --enable-mutable-globals --enable-simd --enable-reference-types --asyncify \\
      --pass-arg=asyncify-imports@{import} --pass-arg=asyncify-in-secondary-memory -o {out}"

What a snapshot holds is Asyncify's (see ``asyncify.py``); the buffer's end
is the private memory's size, whatever the command chose.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, EngineError, TransformTimeout, Unsupported
from ..limits import TRANSFORM_TIMEOUT
from ..process import die_with_parent, kill_group
from .asyncify import AsyncifyEngine

if TYPE_CHECKING:  # pragma: no cover
    from ..abi import Layout
    from ..runtime import Machine

#: bytes of the command's stdout/stderr read back for an error message
_DETAIL_TAIL = 4096

class CommandEngine(AsyncifyEngine):
    name = "asyncify-compatible"
    defaults: dict[str, Any] = {"command": ""}
    option_space: dict[str, tuple[Any, ...]] = {}  # the command is the whole configuration

    def __init__(self, command: str, *, timeout: float = TRANSFORM_TIMEOUT, name: str | None = None) -> None:
        if "{in}" not in command or "{out}" not in command:
            raise BadInput(f"--engine {name or self.name}:CMD: CMD must contain {{in}} and {{out}}")
        super().__init__(name=name, command=command)
        #: wall-clock seconds the command may run (--transform-timeout); settable after construction
        self.transform_timeout = timeout

    @classmethod
    def from_spec(cls, name: str, options: str) -> "CommandEngine":
        """``NAME:CMD``: everything after the first colon is the command."""
        return cls(options, name=name)

    def spec(self) -> str:
        return f"{self.name}:{self.config['command']}"

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        """Run the command in a process group of its own; a failure of any kind is an EngineError.

        The group is killed when the command ends or times out, so nothing it
        started (``sh -c 'tool & ...'``) outlives the transform.
        """
        with tempfile.TemporaryDirectory(prefix="resumefuzz-engine-") as tmp:
            folder = Path(tmp)
            source, target = folder / "in.wasm", folder / "out.wasm"
            source.write_bytes(wasm)
            command = self.config["command"].format_map({
                "in": shlex.quote(str(source)), "out": shlex.quote(str(target)),
                "import": shlex.quote(".".join(suspend_import)),
            })
            # output goes to files, not pipes: a leftover child holding a pipe open cannot block us
            with open(folder / "stdout", "wb") as stdout, open(folder / "stderr", "wb") as stderr:
                proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                        start_new_session=True, preexec_fn=die_with_parent)
                try:
                    returncode = proc.wait(timeout=self.transform_timeout)
                except subprocess.TimeoutExpired:
                    raise TransformTimeout(f"engine {self.name}: the transform command did not finish within "
                                      f"{self.transform_timeout:g}s (--transform-timeout); "
                                      f"its process group was killed") from None
                finally:
                    kill_group(proc)  # on timeout, and whatever it left running in the background
            if returncode != 0:
                how = f"killed by signal {-returncode}" if returncode < 0 else f"exit {returncode}"
                raise EngineError(f"engine {self.name}: transform command failed ({how}): {self._detail(folder)}")
            if not target.is_file() or target.stat().st_size == 0:
                raise EngineError(f"engine {self.name}: transform command exited 0 but wrote no module to {{out}}"
                                  f" ({self._detail(folder)})")
            return target.read_bytes()

    @staticmethod
    def _detail(folder: Path) -> str:
        """Last line the command printed (stderr first), with the temporary folder's path elided."""
        for name in ("stderr", "stdout"):
            with open(folder / name, "rb") as file:
                file.seek(0, 2)
                file.seek(max(0, file.tell() - _DETAIL_TAIL))
                lines = file.read().decode(errors="replace").replace(str(folder), "<tmp>").strip().splitlines()
            if lines:
                return lines[-1].strip()[:200]
        return "no output"

    def optimizes(self) -> bool:
        return True  # an unknown transform may optimize: A vs B allows what an optimizer may change

    def private_keys(self, layout: "Layout") -> set[str]:
        if not any(s.origin == "engine" for s in layout.memories):
            raise Unsupported("the transform must keep its resume buffer in a memory of its own "
                              "(e.g. Binaryen's --pass-arg=asyncify-in-secondary-memory)")
        return super().private_keys(layout)

    def _buffer_end(self, machine: "Machine", export: str) -> int:
        return int(machine.exports[export].data_len(machine.ctx))  # whatever size the transform chose
