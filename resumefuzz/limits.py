"""Resource limits: every size an input may claim is checked against one of these
before anything of that size is allocated.  README "Resource limits" documents them.

A limit hit by the *input itself* (a module that declares a 2 GiB memory, a
snapshot that claims 65536 pages) is exit 3 (unsupported: the harness will not
judge that much) or exit 2 (a corrupt file); a limit the *program* runs into
while executing (it grows a table to 4e9 entries) is exit 4 (inconclusive).
"""

from __future__ import annotations

import os

from .errors import BadInput

#: Judged linear memory, all program memories of one instance together, in 64 KiB pages
#: (256 MiB).  Each of runs A, B, C holds a copy, a snapshot another; 4 GiB would be 16+ GB.
MAX_MEMORY_PAGES = 4096

#: Judged table slots, all tables of one instance together.  (wasmtime stores 4-8 bytes per slot
#: eagerly: a table.grow to 4e9 slots alone would take 16+ GB.)
MAX_TABLE_ENTRIES = 65536

#: Engine-private memory an engine may add to an instance, in pages (Asyncify's resume buffer,
#: its ``buffer_pages``).  Snapshots carry it next to the program's memories.
MAX_ENGINE_MEMORY_PAGES = 4096

#: Pages all memories of one snapshot may claim together: the judged program memories plus the
#: engine's.  The decoder checks every claim against this before allocating (a few hundred bytes
#: may claim 4 GiB of zero pages); the harness never writes a larger snapshot.
MAX_SNAPSHOT_MEMORY_PAGES = MAX_MEMORY_PAGES + MAX_ENGINE_MEMORY_PAGES

#: Largest single copy between wasm memory and Python: writes go in pieces of at most this many
#: bytes; reads up to it use one ``ctypes.string_at`` (whose C length is an int: it overflowed at
#: 2 GiB), larger reads copy once through a memoryview (no C length argument at all).
MEMORY_CHUNK = 64 * 1024 * 1024

#: Suspensions one interrupted run may perform, and crossings one schedule may name.
MAX_SUSPENSIONS = 100_000

#: Interrupted runs one schedule spec may expand to.
MAX_SCHEDULE_RUNS = 10_000

#: Largest crossing number (or stride, or count) a schedule spec may name: the harness counts
#: crossings in an i64, and no run crosses more yield points than this.
MAX_CROSSING = 2**63 - 1

#: Worker processes of one campaign on this machine.
MAX_JOBS = 8 * (os.cpu_count() or 1)

#: Seconds an external transform command may run (`asyncify-compatible:CMD`), default of --transform-timeout.
TRANSFORM_TIMEOUT = 120.0

#: Seconds wasmtime may spend compiling one prepared module before the case is inconclusive
#: (exit 4).  Override with the environment variable RESUMEFUZZ_COMPILE_TIMEOUT (seconds).
#: A 1 MB prepared module normally compiles in 1-3 s (the pathological one of issue 10 took
#: 173 s); two compiles per case stay inside a campaign's default 60 s --case-timeout.
COMPILE_TIMEOUT = 20.0
COMPILE_TIMEOUT_ENV = "RESUMEFUZZ_COMPILE_TIMEOUT"

#: Prepared modules at least this large are compiled in a child process that can be stopped
#: at COMPILE_TIMEOUT; smaller ones compile in-process (no process start per case).  A module
#: this size compiles in well under a second; the child costs ~0.2 s.
COMPILE_OUT_OF_PROCESS_BYTES = 256 * 1024


def compile_timeout() -> float:
    """COMPILE_TIMEOUT, or RESUMEFUZZ_COMPILE_TIMEOUT when set (a bad value is bad input, exit 2)."""
    text = os.environ.get(COMPILE_TIMEOUT_ENV)
    if text is None or not text.strip():
        return COMPILE_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise BadInput(f"{COMPILE_TIMEOUT_ENV}={text!r}: expected a positive number of seconds")
    return value

# -- WASI programs (resumefuzz.wasi) -----------------------------------------------------------
#: The most a WASI case's inputs may hold (args + env, stdin, the preopened directory's files, and
#: how many files), checked before anything is read or allocated (flags, case files, snapshots).
WASI_MAX_ARGS_BYTES = 64 * 1024
WASI_MAX_STDIN_BYTES = 16 * 1024 * 1024
WASI_MAX_TREE_BYTES = 64 * 1024 * 1024
WASI_MAX_FILES = 4096
#: The most a run may write to stdout + stderr, or grow the file tree to: past it the run ends
#: inconclusive (a budget, like fuel), so no observation or snapshot holds more.
WASI_MAX_OUTPUT_BYTES = 16 * 1024 * 1024
#: The most descriptors a run may hold open at once (path_open past it returns ERRNO_NFILE).
WASI_MAX_FDS = 1024
