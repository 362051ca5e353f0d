"""The harness's own WASI preview 1 host: deterministic, and snapshottable as plain data.

:class:`WasiState` is the whole mutable WASI state of one run, built from a case's
:class:`~resumefuzz.wasi.WasiInputs` and its seed, and every function of
:data:`resumefuzz.abi.WASI_IMPORTS` (:meth:`WasiState.call`).  Nothing lives outside it: its
canonical byte form (:meth:`WasiState.encode` / :meth:`WasiState.decode`) travels inside the
snapshot (section HOST), and a restore rebuilds it into the fresh instance.

State (plain fields; a live run reaches them as ``machine.runtime.host.wasi``, where planted
faults perturb them after a restore):

    args, env            argv (argv[0] included) and ``NAME=value`` entries, as bytes
    stdin                the bytes fd 0 reads; its read offset is fd 0's ``offset``
    fds                  descriptor -> :class:`Descriptor` (kind, path, offset, fdflags, read/write
                         access): 0 stdin, 1 stdout, 2 stderr, 3 the preopened directory ``.``;
                         ``path_open`` gives the lowest free fd >= 4, at most ``WASI_MAX_FDS`` open
    files, dirs          the preopened directory's in-memory tree: relative path -> bytearray, and
                         the set of directory paths ("" is the preopened directory itself)
    stdout, stderr       every byte written to fd 1 / fd 2
    exit_code            the code given to ``proc_exit`` (None: not called)
    clocks               virtual clocks in ns, by clock id (0 realtime, 1 monotonic, 2 process and
                         3 thread CPU time): realtime starts at a fixed epoch plus a seed-derived
                         offset, the others at seed-derived values; each ``clock_time_get`` returns
                         the clock and advances it by :data:`CLOCK_STEP_NS`; a ``poll_oneoff`` clock
                         subscription advances every clock by its (relative) timeout.  Never backwards.
    random_position      bytes of the seeded ``random_get`` stream consumed so far
    written              output budget spent: stdout + stderr bytes + growth of files; past
                         ``WASI_MAX_OUTPUT_BYTES`` the run ends inconclusive (:class:`OutputExceeded`)
    nondeterministic     the functions called whose results a real host would not reproduce
                         (clocks, random_get, poll_oneoff, fd_readdir's order)

Not state (never encoded, set by whoever runs the program): ``on_clock``, called with
(clock id, value) at every clock reading, so a run can check monotonicity outside the snapshot.

Guest memory is reached through :class:`GuestMemory` (``read``, ``write``, ``size``).  Every
length or count the guest claims is checked against the memory size before anything is read or
allocated: out of bounds is ``ERRNO_FAULT``, never an exception.  ``proc_exit`` raises
:class:`ProcExit` (wasmtime-py re-raises a host function's Python exception from the call into
wasm), which ends the run with its exit code: an outcome, not a trap.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import Callable, Protocol

from ..abi import WASI_IMPORTS
from ..errors import BadInput
from ..limits import (WASI_MAX_ARGS_BYTES, WASI_MAX_FDS, WASI_MAX_FILES, WASI_MAX_OUTPUT_BYTES, WASI_MAX_STDIN_BYTES,
                      WASI_MAX_TREE_BYTES)
from . import PREOPEN_FD, PREOPEN_GUEST, WasiInputs, WasiOutcome

__all__ = ["CLOCK_STEP_NS", "Descriptor", "GuestMemory", "BytesMemory", "OutputExceeded", "ProcExit",
           "WasiState", "WasiStateError", "NONDETERMINISTIC"]

# -- WASI preview 1 constants ----------------------------------------------------------------------
ESUCCESS, EBADF, EEXIST, EFAULT, EILSEQ, EINVAL, EISDIR, ENAMETOOLONG, ENFILE, ENOENT, ENOSPC, ENOTDIR, \
    ENOTCAPABLE, ESPIPE = 0, 8, 20, 21, 25, 28, 31, 37, 41, 44, 51, 54, 76, 70
FILETYPE_CHARACTER_DEVICE, FILETYPE_DIRECTORY, FILETYPE_REGULAR_FILE = 2, 3, 4
OFLAG_CREAT, OFLAG_DIRECTORY, OFLAG_EXCL, OFLAG_TRUNC = 1, 2, 4, 8
FDFLAG_APPEND = 1
FDFLAGS_ALL = 0x1F
WHENCE_SET, WHENCE_CUR, WHENCE_END = 0, 1, 2
RIGHT_FD_READ, RIGHT_FD_WRITE = 1 << 1, 1 << 6
RIGHTS_ALL = (1 << 29) - 1
EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE = 0, 1, 2
SUBSCRIPTION_CLOCK_ABSTIME = 1
CLOCKS = 4  # realtime, monotonic, process CPU time, thread CPU time
#: how far a clock moves at each reading, and the resolution clock_res_get reports
CLOCK_STEP_NS = 1_000_000
CLOCK_RESOLUTION_NS = 1_000
#: realtime's fixed epoch (2023-11-14), to which a seed-derived offset of up to a year is added
REALTIME_EPOCH_NS = 1_700_000_000 * 10**9
#: the longest path (bytes) the host resolves (ENAMETOOLONG past it) or a snapshot may hold
PATH_MAX = 4096

#: the functions whose results a real host would not reproduce (WasiOutcome.nondeterministic)
NONDETERMINISTIC = ("clock_res_get", "clock_time_get", "fd_readdir", "poll_oneoff", "random_get")

_MASK64 = (1 << 64) - 1
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")

# descriptor kinds (their codes in the byte form)
STDIN, STDOUT, STDERR, PREOPEN, DIR, FILE = "stdin", "stdout", "stderr", "preopen", "dir", "file"
_KINDS = (STDIN, STDOUT, STDERR, PREOPEN, DIR, FILE)


class ProcExit(Exception):
    """``proc_exit(code)`` was called: the run ends with CODE (not a trap)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"proc_exit({code})")
        self.code = code


class OutputExceeded(Exception):
    """The program wrote more than WASI_MAX_OUTPUT_BYTES (stdout + stderr + file growth): a budget."""


class WasiStateError(ValueError):
    """A WASI state's byte form is corrupt (one line)."""


class GuestMemory(Protocol):
    """The program's linear memory as the host sees it."""

    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...


class BytesMemory:
    """A GuestMemory over a bytearray (unit tests; a memory-less module is ``BytesMemory(0)``)."""

    def __init__(self, size: int | bytes) -> None:
        self.data = bytearray(size)

    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.data[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        self.data[offset:offset + len(data)] = data


@dataclass
class Descriptor:
    """One open descriptor: KIND (stdin, stdout, stderr, preopen, dir, file), the tree PATH of a
    file or directory ("" for the preopened directory and for stdio), the read/write OFFSET (files,
    stdin), its fdflags and whether it may be read and written."""

    kind: str
    path: str = ""
    offset: int = 0
    flags: int = 0
    read: bool = True
    write: bool = True


class _Errno(Exception):
    def __init__(self, errno: int) -> None:
        self.errno = errno


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _draw(seed: int, stream: int) -> int:
    return _splitmix64(_splitmix64(seed & _MASK64) ^ (0x5741_5349_0000 + stream))


def initial_clocks(seed: int) -> list[int]:
    """The four clocks' values at the start of a run with SEED."""
    return [REALTIME_EPOCH_NS + _draw(seed, 0) % (365 * 86400 * 10**9),
            10**9 + _draw(seed, 1) % (10**12),
            _draw(seed, 2) % 10**9,
            _draw(seed, 3) % 10**9]


def random_bytes(seed: int, position: int, length: int) -> bytes:
    """LENGTH bytes of SEED's random_get stream from POSITION (64-byte BLAKE2b blocks)."""
    key = (seed & _MASK64).to_bytes(8, "little")
    first, last = position // 64, (position + length + 63) // 64
    data = b"".join(hashlib.blake2b(block.to_bytes(8, "little"), key=key, person=b"rfz-wasi").digest()
                    for block in range(first, last))
    start = position - first * 64
    return data[start:start + length]


def _ino(path: str) -> int:
    """A stable inode number for a tree path."""
    return int.from_bytes(hashlib.sha256(b"rfz-ino\0" + path.encode()).digest()[:8], "little") >> 1


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


@dataclass
class WasiState:
    """The WASI host state of one run (see the module doc for every field)."""

    seed: int
    args: list[bytes] = field(default_factory=list)
    env: list[bytes] = field(default_factory=list)
    stdin: bytes = b""
    fds: dict[int, Descriptor] = field(default_factory=dict)
    files: dict[str, bytearray] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=lambda: {""})
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    exit_code: int | None = None
    clocks: list[int] = field(default_factory=lambda: [0] * CLOCKS)
    random_position: int = 0
    written: int = 0
    nondeterministic: set[str] = field(default_factory=set)
    #: not state: called with (clock id, value) at every clock reading (never encoded)
    on_clock: Callable[[int, int], None] | None = field(default=None, repr=False, compare=False)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def fresh(cls, inputs: WasiInputs, seed: int) -> "WasiState":
        """The state at the start of a run given INPUTS and SEED."""
        state = cls(seed, [a.encode() for a in inputs.args], [f"{k}={v}".encode() for k, v in inputs.env],
                    bytes(inputs.stdin), clocks=initial_clocks(seed))
        state.fds = {0: Descriptor(STDIN, write=False), 1: Descriptor(STDOUT, read=False),
                     2: Descriptor(STDERR, read=False), PREOPEN_FD: Descriptor(PREOPEN)}
        for path, data in inputs.files:
            if len(path.encode()) > PATH_MAX:
                raise BadInput(f"WASI file path {path[:40]!r}...: longer than {PATH_MAX} bytes")
            parts = path.split("/")
            for depth in range(1, len(parts)):
                state.dirs.add("/".join(parts[:depth]))
            state.files[path] = bytearray(data)
        clash = sorted(state.dirs & set(state.files))
        if clash:
            raise BadInput(f"WASI directory: {clash[0]!r} is both a file and a directory")
        if len(state.dirs) > WASI_MAX_FILES:
            raise BadInput(f"WASI directory holds {len(state.dirs)} directories, more than {WASI_MAX_FILES}")
        return state

    def copy(self) -> "WasiState":
        """An independent copy (the callback is not copied)."""
        return WasiState.decode(self.encode())

    def outcome(self, exit_code: int | None) -> WasiOutcome:
        """What the run leaves behind, EXIT_CODE being how it ended (proc_exit's code wins)."""
        code = self.exit_code if self.exit_code is not None else exit_code
        tree = [(path, bytes(data)) for path, data in self.files.items()]
        parents = {_parent(p) for p in (*self.files, *self.dirs) if p}
        tree += [(d + "/", b"") for d in self.dirs if d and d not in parents]
        return WasiOutcome(bytes(self.stdout), bytes(self.stderr), code, tuple(sorted(tree)),
                           tuple(sorted(self.nondeterministic)))

    # -- dispatch ----------------------------------------------------------------------------
    def call(self, name: str, memory: GuestMemory, args: tuple[int, ...] | list[int]) -> int | None:
        """Run WASI function NAME with the raw (wasmtime-py, signed) integer ARGS; its errno."""
        handler = getattr(self, "_" + name)
        unsigned = [a & (_MASK64 if t == "i64" else 0xFFFFFFFF) for a, t in zip(args, WASI_IMPORTS[name].params)]
        if name in NONDETERMINISTIC:
            self.nondeterministic.add(name)
        try:
            return handler(_Memory(memory), *unsigned)
        except _Errno as exc:
            return exc.errno

    # -- helpers -------------------------------------------------------------------------------
    def _fd(self, fd: int) -> Descriptor:
        d = self.fds.get(fd)
        if d is None:
            raise _Errno(EBADF)
        return d

    def _spend(self, n: int) -> None:
        if self.written + n > WASI_MAX_OUTPUT_BYTES:
            raise OutputExceeded(f"the program wrote more than {WASI_MAX_OUTPUT_BYTES} bytes to stdout, stderr and "
                                 f"files (limits.WASI_MAX_OUTPUT_BYTES)")
        self.written += n

    def _iovecs(self, m: "_Memory", iovs: int, count: int) -> list[tuple[int, int]]:
        raw = m.read(iovs, 8 * count)
        vecs = [(_U32.unpack_from(raw, 8 * i)[0], _U32.unpack_from(raw, 8 * i + 4)[0]) for i in range(count)]
        for buf, length in vecs:
            m.check(buf, length)
        return vecs

    def _resolve(self, m: "_Memory", dirfd: int, path_ptr: int, path_len: int) -> tuple[str, bool]:
        """The tree path PATH names relative to directory DIRFD, and whether it ended in '/'."""
        d = self._fd(dirfd)
        if d.kind not in (PREOPEN, DIR):
            raise _Errno(ENOTDIR)
        if path_len > PATH_MAX:
            m.check(path_ptr, path_len)
            raise _Errno(ENAMETOOLONG)
        raw = m.read(path_ptr, path_len)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Errno(EILSEQ) from None
        if "\0" in text:
            raise _Errno(EINVAL)
        if text.startswith("/"):
            raise _Errno(ENOTCAPABLE)
        parts = d.path.split("/") if d.path else []
        for part in text.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise _Errno(ENOTCAPABLE)
                parts.pop()
                continue
            prefix = "/".join(parts)
            if prefix not in self.dirs:
                raise _Errno(ENOTDIR if prefix in self.files else ENOENT)
            parts.append(part)
        return "/".join(parts), text.endswith("/") or text.endswith("/.") or text in (".", "..")

    def _filestat(self, kind: str, path: str) -> bytes:
        if kind == FILE:
            filetype, size = FILETYPE_REGULAR_FILE, len(self.files[path])
        elif kind in (PREOPEN, DIR):
            filetype, size = FILETYPE_DIRECTORY, 0
        else:
            filetype, size = FILETYPE_CHARACTER_DEVICE, 0
        return struct.pack("<QQB7xQQQQQ", 0, _ino(path) if kind in (FILE, DIR, PREOPEN) else 0, filetype, 1, size,
                           0, 0, 0)

    # -- args and environment --------------------------------------------------------------------
    def _sizes(self, m: "_Memory", items: list[bytes], count_ptr: int, size_ptr: int) -> int:
        m.check(count_ptr, 4)
        m.check(size_ptr, 4)
        m.write(count_ptr, _U32.pack(len(items)))
        m.write(size_ptr, _U32.pack(sum(len(a) + 1 for a in items)))
        return ESUCCESS

    def _get(self, m: "_Memory", items: list[bytes], ptrs: int, buf: int) -> int:
        m.check(ptrs, 4 * len(items))
        m.check(buf, sum(len(a) + 1 for a in items))
        pointers, data = [], bytearray()
        for item in items:
            pointers.append(_U32.pack((buf + len(data)) & 0xFFFFFFFF))
            data += item + b"\0"
        m.write(ptrs, b"".join(pointers))
        m.write(buf, bytes(data))
        return ESUCCESS

    def _args_sizes_get(self, m: "_Memory", count_ptr: int, size_ptr: int) -> int:
        return self._sizes(m, self.args, count_ptr, size_ptr)

    def _args_get(self, m: "_Memory", ptrs: int, buf: int) -> int:
        return self._get(m, self.args, ptrs, buf)

    def _environ_sizes_get(self, m: "_Memory", count_ptr: int, size_ptr: int) -> int:
        return self._sizes(m, self.env, count_ptr, size_ptr)

    def _environ_get(self, m: "_Memory", ptrs: int, buf: int) -> int:
        return self._get(m, self.env, ptrs, buf)

    # -- descriptors -----------------------------------------------------------------------------
    def _fd_write(self, m: "_Memory", fd: int, iovs: int, count: int, nwritten: int) -> int:
        d = self._fd(fd)
        vecs = self._iovecs(m, iovs, count)
        m.check(nwritten, 4)
        if d.kind in (PREOPEN, DIR):
            raise _Errno(EISDIR)
        if not d.write or d.kind == STDIN:
            raise _Errno(EBADF)
        data = b"".join(m.read(buf, length) for buf, length in vecs)
        if d.kind in (STDOUT, STDERR):
            self._spend(len(data))
            (self.stdout if d.kind == STDOUT else self.stderr).extend(data)
        else:
            content = self.files[d.path]
            at = len(content) if d.flags & FDFLAG_APPEND else d.offset
            end = at + len(data)
            self._spend(max(0, end - len(content)))
            if at > len(content):
                content.extend(bytes(at - len(content)))
            content[at:end] = data
            d.offset = end
        m.write(nwritten, _U32.pack(len(data)))
        return ESUCCESS

    def _fd_read(self, m: "_Memory", fd: int, iovs: int, count: int, nread: int) -> int:
        d = self._fd(fd)
        vecs = self._iovecs(m, iovs, count)
        m.check(nread, 4)
        if d.kind in (PREOPEN, DIR):
            raise _Errno(EISDIR)
        if not d.read or d.kind in (STDOUT, STDERR):
            raise _Errno(EBADF)
        source = self.stdin if d.kind == STDIN else self.files[d.path]
        total = 0
        for buf, length in vecs:
            piece = bytes(source[d.offset:d.offset + length])
            m.write(buf, piece)
            d.offset += len(piece)
            total += len(piece)
            if len(piece) < length:
                break
        m.write(nread, _U32.pack(total))
        return ESUCCESS

    def _fd_seek(self, m: "_Memory", fd: int, offset: int, whence: int, result: int) -> int:
        d = self._fd(fd)
        m.check(result, 8)
        if d.kind in (PREOPEN, DIR):
            raise _Errno(EISDIR)
        if d.kind != FILE:
            raise _Errno(ESPIPE)
        offset = offset - (1 << 64) if offset >> 63 else offset
        bases = {WHENCE_SET: 0, WHENCE_CUR: d.offset, WHENCE_END: len(self.files[d.path])}
        if whence not in bases:
            raise _Errno(EINVAL)
        new = bases[whence] + offset
        if not 0 <= new <= _MASK64 >> 1:
            raise _Errno(EINVAL)
        d.offset = new
        m.write(result, _U64.pack(new))
        return ESUCCESS

    def _fd_tell(self, m: "_Memory", fd: int, result: int) -> int:
        d = self._fd(fd)
        m.check(result, 8)
        if d.kind in (PREOPEN, DIR):
            raise _Errno(EISDIR)
        if d.kind != FILE:
            raise _Errno(ESPIPE)
        m.write(result, _U64.pack(d.offset))
        return ESUCCESS

    def _fd_close(self, m: "_Memory", fd: int) -> int:
        self._fd(fd)
        del self.fds[fd]
        return ESUCCESS

    def _fd_fdstat_get(self, m: "_Memory", fd: int, result: int) -> int:
        d = self._fd(fd)
        m.check(result, 24)
        filetype = (FILETYPE_REGULAR_FILE if d.kind == FILE else FILETYPE_DIRECTORY if d.kind in (PREOPEN, DIR)
                    else FILETYPE_CHARACTER_DEVICE)
        m.write(result, struct.pack("<B1xH4xQQ", filetype, d.flags, RIGHTS_ALL, RIGHTS_ALL))
        return ESUCCESS

    def _fd_fdstat_set_flags(self, m: "_Memory", fd: int, flags: int) -> int:
        """Set a descriptor's fdflags (wasi-libc's fopen sets O_APPEND this way); only the flags the
        host models are kept, the rest are accepted and ignored, as for path_open."""
        d = self._fd(fd)
        if flags & 0xFFFF != flags:
            raise _Errno(EINVAL)
        d.flags = flags & FDFLAGS_ALL
        return ESUCCESS

    def _fd_filestat_get(self, m: "_Memory", fd: int, result: int) -> int:
        d = self._fd(fd)
        m.check(result, 64)
        m.write(result, self._filestat(d.kind, d.path))
        return ESUCCESS

    def _fd_prestat_get(self, m: "_Memory", fd: int, result: int) -> int:
        d = self._fd(fd)
        m.check(result, 8)
        if d.kind != PREOPEN:
            raise _Errno(EBADF)
        m.write(result, struct.pack("<B3xI", 0, len(PREOPEN_GUEST.encode())))
        return ESUCCESS

    def _fd_prestat_dir_name(self, m: "_Memory", fd: int, path: int, length: int) -> int:
        d = self._fd(fd)
        m.check(path, length)
        if d.kind != PREOPEN:
            raise _Errno(EBADF)
        name = PREOPEN_GUEST.encode()
        if length < len(name):
            raise _Errno(ENAMETOOLONG)
        m.write(path, name)
        return ESUCCESS

    def _path_open(self, m: "_Memory", dirfd: int, lookupflags: int, path_ptr: int, path_len: int, oflags: int,
                   rights: int, inheriting: int, fdflags: int, result: int) -> int:
        m.check(result, 4)
        m.check(path_ptr, path_len)
        path, slash = self._resolve(m, dirfd, path_ptr, path_len)
        if path in self.dirs:
            if oflags & OFLAG_CREAT and oflags & OFLAG_EXCL:
                raise _Errno(EEXIST)
            if oflags & OFLAG_TRUNC:
                raise _Errno(EISDIR)
            descriptor = Descriptor(DIR, path, 0, fdflags & FDFLAGS_ALL, bool(rights & RIGHT_FD_READ),
                                    bool(rights & RIGHT_FD_WRITE))
        else:
            if path in self.files:
                if slash or oflags & OFLAG_DIRECTORY:
                    raise _Errno(ENOTDIR)
                if oflags & OFLAG_CREAT and oflags & OFLAG_EXCL:
                    raise _Errno(EEXIST)
            elif oflags & OFLAG_CREAT and not oflags & OFLAG_DIRECTORY and not slash:
                if len(self.files) >= WASI_MAX_FILES:
                    raise _Errno(ENOSPC)
            else:
                raise _Errno(ENOENT)
            if len(self.fds) >= WASI_MAX_FDS:
                raise _Errno(ENFILE)
            self.files.setdefault(path, bytearray())
            if oflags & OFLAG_TRUNC:
                del self.files[path][:]
            descriptor = Descriptor(FILE, path, 0, fdflags & FDFLAGS_ALL, bool(rights & RIGHT_FD_READ),
                                    bool(rights & RIGHT_FD_WRITE))
        if len(self.fds) >= WASI_MAX_FDS:
            raise _Errno(ENFILE)
        fd = next(n for n in range(PREOPEN_FD + 1, PREOPEN_FD + 2 + len(self.fds)) if n not in self.fds)
        self.fds[fd] = descriptor
        m.write(result, _U32.pack(fd))
        return ESUCCESS

    def _path_filestat_get(self, m: "_Memory", dirfd: int, lookupflags: int, path_ptr: int, path_len: int,
                           result: int) -> int:
        m.check(result, 64)
        m.check(path_ptr, path_len)
        path, slash = self._resolve(m, dirfd, path_ptr, path_len)
        if path in self.dirs:
            m.write(result, self._filestat(DIR, path))
        elif path in self.files:
            if slash:
                raise _Errno(ENOTDIR)
            m.write(result, self._filestat(FILE, path))
        else:
            raise _Errno(ENOENT)
        return ESUCCESS

    def _fd_readdir(self, m: "_Memory", fd: int, buf: int, length: int, cookie: int, used: int) -> int:
        d = self._fd(fd)
        m.check(buf, length)
        m.check(used, 4)
        if d.kind not in (PREOPEN, DIR):
            raise _Errno(ENOTDIR)
        prefix = d.path + "/" if d.path else ""
        children = sorted({p[len(prefix):] for p in (*self.files, *self.dirs)
                           if p and p.startswith(prefix) and "/" not in p[len(prefix):]})
        entries = [(".", d.path, FILETYPE_DIRECTORY), ("..", _parent(d.path), FILETYPE_DIRECTORY)]
        entries += [(name, prefix + name, FILETYPE_DIRECTORY if prefix + name in self.dirs else FILETYPE_REGULAR_FILE)
                    for name in children]
        out = bytearray()
        for index in range(cookie, len(entries)):
            name, path, filetype = entries[index]
            encoded = name.encode()
            out += struct.pack("<QQIB3x", index + 1, _ino(path), len(encoded), filetype) + encoded
            if len(out) >= length:
                break
        m.write(buf, bytes(out[:length]))
        m.write(used, _U32.pack(min(len(out), length)))
        return ESUCCESS

    # -- clocks, randomness, scheduling, exit ---------------------------------------------------
    def _clock_res_get(self, m: "_Memory", clock: int, result: int) -> int:
        m.check(result, 8)
        if clock >= CLOCKS:
            raise _Errno(EINVAL)
        m.write(result, _U64.pack(CLOCK_RESOLUTION_NS))
        return ESUCCESS

    def _clock_time_get(self, m: "_Memory", clock: int, precision: int, result: int) -> int:
        m.check(result, 8)
        if clock >= CLOCKS:
            raise _Errno(EINVAL)
        value = self.clocks[clock]
        self.clocks[clock] = min(value + CLOCK_STEP_NS, _MASK64)
        m.write(result, _U64.pack(value))
        if self.on_clock is not None:
            self.on_clock(clock, value)
        return ESUCCESS

    def _random_get(self, m: "_Memory", buf: int, length: int) -> int:
        m.check(buf, length)
        m.write(buf, random_bytes(self.seed, self.random_position, length))
        self.random_position += length
        return ESUCCESS

    def _sched_yield(self, m: "_Memory") -> int:
        return ESUCCESS

    def _proc_exit(self, m: "_Memory", code: int) -> None:
        self.exit_code = code & 0xFFFFFFFF
        raise ProcExit(self.exit_code)

    def _poll_oneoff(self, m: "_Memory", subs: int, events: int, count: int, nevents: int) -> int:
        if count == 0:
            raise _Errno(EINVAL)
        raw = m.read(subs, 48 * count)
        m.check(events, 32 * count)
        m.check(nevents, 4)
        ready: list[bytes] = []
        timers: list[tuple[int, int, int]] = []  # (delay, userdata, errno)
        for i in range(count):
            userdata, tag = struct.unpack_from("<QB", raw, 48 * i)
            if tag == EVENTTYPE_CLOCK:
                clock, timeout, _precision, flags = struct.unpack_from("<I4xQQH", raw, 48 * i + 16)
                if clock >= CLOCKS:
                    timers.append((0, userdata, EINVAL))
                    continue
                delay = max(0, timeout - self.clocks[clock]) if flags & SUBSCRIPTION_CLOCK_ABSTIME else timeout
                timers.append((delay, userdata, ESUCCESS))
            elif tag in (EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE):
                fd = _U32.unpack_from(raw, 48 * i + 16)[0]
                d = self.fds.get(fd)
                error, available = (EBADF, 0) if d is None else (ESUCCESS, 0)
                if d is not None and tag == EVENTTYPE_FD_READ and d.kind in (STDIN, FILE):
                    size = len(self.stdin) if d.kind == STDIN else len(self.files[d.path])
                    available = max(0, size - d.offset)
                ready.append(struct.pack("<QHB5xQH6x", userdata, error, tag, available, 0))
            else:
                raise _Errno(EINVAL)
        if not ready and timers:
            delay = min(t[0] for t in timers)
            self.clocks = [min(c + delay, _MASK64) for c in self.clocks]
            ready = [struct.pack("<QHB5xQH6x", userdata, error, EVENTTYPE_CLOCK, 0, 0)
                     for d_, userdata, error in timers if d_ == delay]
        m.write(events, b"".join(ready))
        m.write(nevents, _U32.pack(len(ready)))
        return ESUCCESS

    # -- summary ------------------------------------------------------------------------------
    def summary(self) -> list[str]:
        """Lines describing the state (``resumefuzz inspect``)."""
        fds = ", ".join(f"{fd}:{d.kind}{' ' + repr(d.path) if d.kind in (FILE, DIR) else ''}"
                        f"{' @' + str(d.offset) if d.kind in (FILE, STDIN) else ''}"
                        for fd, d in sorted(self.fds.items()))
        clocks = ", ".join(f"{name} {value}" for name, value in
                           zip(("realtime", "monotonic", "process", "thread"), self.clocks))
        return [
            f"wasi: {len(self.args)} arg(s), {len(self.env)} env var(s), stdin {len(self.stdin)} byte(s)",
            f"wasi fds: {fds or 'none'}",
            f"wasi output: stdout {len(self.stdout)} byte(s), stderr {len(self.stderr)} byte(s), "
            f"exit code {self.exit_code if self.exit_code is not None else 'none'}",
            f"wasi tree: {len(self.files)} file(s), {len(self.dirs) - 1} dir(s), "
            f"{sum(len(v) for v in self.files.values())} byte(s)",
            f"wasi clocks (ns): {clocks}",
            f"wasi random position: {self.random_position}; nondeterministic calls: "
            f"{', '.join(sorted(self.nondeterministic)) or 'none'}",
        ]

    # -- byte form ----------------------------------------------------------------------------
    def encode(self) -> bytes:
        """The canonical byte form (``decode(encode())`` equals the state)."""
        out = bytearray(b"\x01")  # version of this layout
        out += _U64.pack(self.seed & _MASK64)

        def blob(data: bytes, size: struct.Struct = _U32) -> None:
            out.extend(size.pack(len(data)))
            out.extend(data)

        for items in (self.args, self.env):
            out += _U32.pack(len(items))
            for item in items:
                blob(item)
        blob(self.stdin)
        dirs = sorted(d for d in self.dirs if d)
        out += _U32.pack(len(dirs))
        for d in dirs:
            blob(d.encode())
        out += _U32.pack(len(self.files))
        for path in sorted(self.files):
            blob(path.encode())
            blob(bytes(self.files[path]))
        out += _U32.pack(len(self.fds))
        for fd in sorted(self.fds):
            d = self.fds[fd]
            out += _U32.pack(fd) + bytes([_KINDS.index(d.kind)])
            blob(d.path.encode())
            out += _U64.pack(d.offset) + struct.pack("<HB", d.flags, d.read | d.write << 1)
        blob(bytes(self.stdout))
        blob(bytes(self.stderr))
        out += b"\0" + bytes(4) if self.exit_code is None else b"\1" + _U32.pack(self.exit_code)
        for value in self.clocks:
            out += _U64.pack(value)
        out += _U64.pack(self.random_position) + _U64.pack(self.written)
        out += _U32.pack(sum(1 << i for i, name in enumerate(NONDETERMINISTIC) if name in self.nondeterministic))
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> "WasiState":
        """Inverse of :meth:`encode`; WasiStateError (one line) for anything else.  Every count and
        length is checked against limits.WASI_* and the bytes present before anything is built."""
        return _Decoder(memoryview(bytes(data))).state()


class _Memory:
    """GuestMemory with bounds checks raising EFAULT (as an _Errno) before any access."""

    def __init__(self, memory: GuestMemory) -> None:
        self.memory = memory
        self.size = memory.size()

    def check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Errno(EFAULT)

    def read(self, offset: int, length: int) -> bytes:
        self.check(offset, length)
        return self.memory.read(offset, length) if length else b""

    def write(self, offset: int, data: bytes) -> None:
        self.check(offset, len(data))
        if data:
            self.memory.write(offset, data)


_TREE_BYTES = WASI_MAX_TREE_BYTES + WASI_MAX_OUTPUT_BYTES  # the most a tree can hold: inputs plus growth


class _Decoder:
    def __init__(self, data: memoryview) -> None:
        self.data, self.pos = data, 0

    def fail(self, message: str) -> WasiStateError:
        return WasiStateError(f"WASI state: {message} (at byte {self.pos})")

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise self.fail(f"truncated (needs {n} bytes, has {len(self.data) - self.pos})")
        self.pos += n
        return bytes(self.data[self.pos - n:self.pos])

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def u64(self) -> int:
        return _U64.unpack(self.take(8))[0]

    def count(self, what: str, limit: int) -> int:
        n = self.u32()
        if n > limit:
            raise self.fail(f"{n} {what}, more than {limit}")
        return n

    def blob(self, what: str, limit: int) -> bytes:
        n = self.u32()
        if n > limit:
            raise self.fail(f"{what} of {n} bytes, more than {limit}")
        return self.take(n)

    def text(self, what: str) -> str:
        raw = self.blob(what, PATH_MAX)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not UTF-8") from None

    def sorted_paths(self, items: list[str], what: str) -> None:
        for a, b in zip(items, items[1:]):
            if not a < b:
                raise self.fail(f"{what} not strictly ascending ({b!r} after {a!r})")
        for p in items:
            if not p or p.startswith("/") or any(part in ("", ".", "..") for part in p.split("/")):
                raise self.fail(f"{what} {p!r} is not a relative path of plain names")

    def state(self) -> WasiState:
        version = self.u8()
        if version != 1:
            raise self.fail(f"unsupported layout version {version}")
        seed = self.u64()
        args_budget = WASI_MAX_ARGS_BYTES
        lists = []
        for what in ("arguments", "environment entries"):
            items = []
            for _ in range(self.count(what, WASI_MAX_ARGS_BYTES)):
                item = self.blob(what[:-1], args_budget)
                args_budget -= len(item) + 1
                if args_budget < 0:
                    raise self.fail(f"arguments and environment hold more than {WASI_MAX_ARGS_BYTES} bytes")
                items.append(item)
            lists.append(items)
        stdin = self.blob("stdin", WASI_MAX_STDIN_BYTES)
        dirs = [self.text("directory path") for _ in range(self.count("directories", WASI_MAX_FILES))]
        self.sorted_paths(dirs, "directory")
        files: dict[str, bytearray] = {}
        tree = 0
        names = []
        for _ in range(self.count("files", WASI_MAX_FILES)):
            path = self.text("file path")
            content = self.blob(f"file {path!r}", _TREE_BYTES - tree)
            tree += len(content)
            names.append(path)
            files[path] = bytearray(content)
        self.sorted_paths(names, "file")
        dirset = {"", *dirs}
        for p in (*dirs, *names):
            if _parent(p) not in dirset:
                raise self.fail(f"{p!r} lies in a directory the tree does not hold")
        if dirset & set(files):
            raise self.fail("a path is both a file and a directory")
        fds: dict[int, Descriptor] = {}
        previous = -1
        for _ in range(self.count("descriptors", WASI_MAX_FDS)):
            fd = self.u32()
            if fd <= previous:
                raise self.fail(f"descriptor {fd} after {previous}: not strictly ascending")
            previous = fd
            kind = self.u8()
            if kind >= len(_KINDS):
                raise self.fail(f"descriptor {fd}: unknown kind {kind}")
            path = self.text("descriptor path")
            offset = self.u64()
            flags, access = struct.unpack("<HB", self.take(3))
            if flags & ~FDFLAGS_ALL or access > 3:
                raise self.fail(f"descriptor {fd}: bad flags 0x{flags:x} or access {access}")
            d = Descriptor(_KINDS[kind], path, offset, flags, bool(access & 1), bool(access & 2))
            if (d.kind == FILE and path not in files) or (d.kind == DIR and path not in dirset) \
                    or (d.kind not in (FILE, DIR) and path):
                raise self.fail(f"descriptor {fd} ({d.kind}) names {path!r}, not in the tree")
            fds[fd] = d
        stdout = self.blob("stdout", WASI_MAX_OUTPUT_BYTES)
        stderr = self.blob("stderr", WASI_MAX_OUTPUT_BYTES)
        has_exit = self.u8()
        code = self.u32()
        if has_exit > 1 or (not has_exit and code):
            raise self.fail("bad exit code field")
        clocks = [self.u64() for _ in range(CLOCKS)]
        random_position, written = self.u64(), self.u64()
        if written > WASI_MAX_OUTPUT_BYTES:
            raise self.fail(f"output budget spent {written} > {WASI_MAX_OUTPUT_BYTES}")
        mask = self.u32()
        if mask >> len(NONDETERMINISTIC):
            raise self.fail(f"unknown nondeterministic-call bits 0x{mask:x}")
        if self.pos != len(self.data):
            raise self.fail(f"{len(self.data) - self.pos} trailing bytes")
        return WasiState(seed, lists[0], lists[1], stdin, fds, files, dirset, bytearray(stdout), bytearray(stderr),
                         code if has_exit else None, clocks, random_position, written,
                         {name for i, name in enumerate(NONDETERMINISTIC) if mask >> i & 1})
