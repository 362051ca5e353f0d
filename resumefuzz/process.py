"""Child processes that never outlive the one that started them.

A campaign's workers start node (Binaryen), ``wasm-tools shrink`` and its
predicates, and external transform commands.  Each is tied to its parent with
Linux's parent-death signal, and groups that a timeout ends are killed whole.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send SIG to this process when its parent exits (Linux; a no-op elsewhere).

    Usable as ``preexec_fn`` of a ``subprocess.Popen``.  If the parent already
    exited before the request took effect, exit now.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent or parent == 1:
        os.kill(os.getpid(), sig)


def kill_group(proc: "subprocess.Popen[bytes]") -> None:
    """SIGKILL PROC's whole process group (started with ``start_new_session``) and reap PROC."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
