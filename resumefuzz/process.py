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
import time

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
    """SIGKILL PROC's whole process group (started with ``start_new_session``), reap PROC, and wait
    until no member of the group is still running.

    A SIGKILLed process dies asynchronously: without the wait, a grandchild could still be
    running (and writing) when the caller goes on.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
        killed = True
    except (ProcessLookupError, PermissionError):
        killed = False  # the common case: the group ended and left nothing behind
    proc.wait()
    deadline = time.monotonic() + GROUP_EXIT_WAIT
    while killed and _group_running(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.005)


#: seconds to wait for the members of a killed process group to be gone
GROUP_EXIT_WAIT = 5.0


def _group_running(group: int) -> bool:
    """Whether any process of GROUP is alive (not yet a zombie), from /proc (False where there is none)."""
    try:
        entries = os.listdir("/proc")
    except OSError:  # pragma: no cover - not Linux
        return False
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            return True
    return False


def run_bounded(command: list[str], *, timeout: float, input: bytes | None = None, cwd: str | None = None,
                env: dict[str, str] | None = None, merge_stderr: bool = False) -> tuple[int, bytes, bytes]:
    """Run COMMAND in a process group of its own, tied to this process (:func:`die_with_parent`):
    (exit code, stdout, stderr; stderr is empty with MERGE_STDERR, which sends it to stdout).

    ``subprocess.TimeoutExpired`` after TIMEOUT seconds, once the whole group is killed
    (:func:`kill_group`); any other exception also kills the group first.
    """
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                            start_new_session=True, preexec_fn=die_with_parent)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except BaseException:
        kill_group(proc)
        raise
    return proc.returncode, out, err or b""
