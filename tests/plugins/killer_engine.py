"""A plug-in engine for the tests that kills the process hosting it, for the cases that draw ``kill``.

``killer`` is Binaryen's Asyncify (the built-in engine, defaults) with one option, ``kill``, drawn per
case from its option space (1 case in 6 on average): a case that draws ``kill=true`` has its transform
SIGKILL the process hosting the case runner when that is a Dask worker (the runner's parent, a process a
Dask nanny spawned: ``--multiprocessing-fork`` on its command line), then the runner itself.  Anywhere
else (a local campaign's runner, whose parent is the campaign; ``check``; a finding's ``replay``) only the
process running the transform dies, so a local campaign sees the same case crash its runner.

Registered by an entry point the tests write (``killer = killer_engine:KillerEngine``), as any installed
package registers an engine (README "Adding an engine").
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from resumefuzz.engines import Engine, get_engine

NAME = "killer"


def hosted_by_a_dask_worker() -> bool:
    """Whether this process's parent is a Dask worker process (one a nanny spawned)."""
    try:
        command = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"--multiprocessing-fork" in command


class KillerEngine(Engine):
    """Asyncify, except that a ``kill=true`` case kills the Dask worker hosting it (and its runner)."""

    defaults = {"kill": False}
    option_space = {"kill": (False, False, False, False, False, True)}

    def asyncify(self) -> Engine:
        return get_engine("asyncify")

    def transform(self, wasm, suspend_import):  # type: ignore[no-untyped-def]
        if self.config["kill"]:
            if hosted_by_a_dask_worker():
                os.kill(os.getppid(), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
        return self.asyncify().transform(wasm, suspend_import)

    def private_keys(self, layout):  # type: ignore[no-untyped-def]
        return self.asyncify().private_keys(layout)

    def start_suspend(self, machine, context):  # type: ignore[no-untyped-def]
        self.asyncify().start_suspend(machine, context)

    def finish_suspend(self, machine, context):  # type: ignore[no-untyped-def]
        return self.asyncify().finish_suspend(machine, context)

    def start_resume(self, machine, resume, context):  # type: ignore[no-untyped-def]
        self.asyncify().start_resume(machine, resume, context)

    def finish_resume(self, machine, context):  # type: ignore[no-untyped-def]
        self.asyncify().finish_resume(machine, context)

    def saved_stack(self, snapshot, layout):  # type: ignore[no-untyped-def]
        return self.asyncify().saved_stack(snapshot, layout)

    def with_saved_stack(self, snapshot, layout, stack):  # type: ignore[no-untyped-def]
        return self.asyncify().with_saved_stack(snapshot, layout, stack)
