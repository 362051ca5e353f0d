"""The harness's WASI preview 1 host (resumefuzz.wasi.host), function by function, on a plain memory."""

from __future__ import annotations

import struct

import pytest

from resumefuzz.abi import WASI_IMPORTS
from resumefuzz.errors import BadInput
from resumefuzz.limits import WASI_MAX_FDS, WASI_MAX_OUTPUT_BYTES
from resumefuzz.oracles import compare
from resumefuzz.observation import Observation
from resumefuzz.snapshot import SnapshotError, decode, encode
from resumefuzz.state import HostImage, Snapshot
from resumefuzz.wasi import WasiInputs
from resumefuzz.wasi.host import (CLOCK_STEP_NS, EBADF, EEXIST, EFAULT, EINVAL, EISDIR, ENFILE, ENOENT, ENOTCAPABLE,
                                  ENOTDIR, ESPIPE, BytesMemory, OutputExceeded, ProcExit, WasiState, WasiStateError,
                                  initial_clocks, random_bytes)

MEM = 65536
INPUTS = WasiInputs(("prog.wasm", "a", "bc"), (("K", "v"), ("EMPTY", "")), b"stdin bytes",
                    (("data/in.txt", b"hello file"), ("top.bin", b"\x00\x01\x02")))


def state(inputs: WasiInputs = INPUTS, seed: int = 7) -> WasiState:
    return WasiState.fresh(inputs, seed)


def put_str(mem: BytesMemory, at: int, text: bytes) -> tuple[int, int]:
    mem.write(at, text)
    return at, len(text)


def u32(mem: BytesMemory, at: int) -> int:
    return struct.unpack_from("<I", mem.data, at)[0]


def u64(mem: BytesMemory, at: int) -> int:
    return struct.unpack_from("<Q", mem.data, at)[0]


def iov(mem: BytesMemory, at: int, *bufs: tuple[int, int]) -> None:
    for i, (ptr, length) in enumerate(bufs):
        mem.write(at + 8 * i, struct.pack("<II", ptr, length))


def open_file(s: WasiState, mem: BytesMemory, path: bytes, oflags: int = 0, rights: int = (1 << 29) - 1,
              fdflags: int = 0, dirfd: int = 3) -> tuple[int, int]:
    ptr, length = put_str(mem, 1000, path)
    errno = s.call("path_open", mem, (dirfd, 0, ptr, length, oflags, rights, rights, fdflags, 900))
    return errno, u32(mem, 900)


def write(s: WasiState, mem: BytesMemory, fd: int, data: bytes) -> int:
    mem.write(2000, data)
    iov(mem, 100, (2000, len(data)))
    return s.call("fd_write", mem, (fd, 100, 1, 200))


def read(s: WasiState, mem: BytesMemory, fd: int, length: int) -> tuple[int, bytes]:
    iov(mem, 100, (3000, length))
    errno = s.call("fd_read", mem, (fd, 100, 1, 200))
    return errno, bytes(mem.data[3000:3000 + u32(mem, 200)])


def test_every_import_is_implemented() -> None:
    s = state()
    assert all(callable(getattr(s, "_" + name, None)) for name in WASI_IMPORTS)


def test_args_and_environ() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert s.call("args_sizes_get", mem, (10, 14)) == 0
    assert (u32(mem, 10), u32(mem, 14)) == (3, len(b"prog.wasm\0a\0bc\0"))
    assert s.call("args_get", mem, (100, 200)) == 0
    pointers = [u32(mem, 100 + 4 * i) for i in range(3)]
    assert pointers[0] == 200 and bytes(mem.data[200:215]) == b"prog.wasm\0a\0bc\0"
    assert bytes(mem.data[pointers[2]:pointers[2] + 3]) == b"bc\0"
    assert s.call("environ_sizes_get", mem, (10, 14)) == 0
    assert (u32(mem, 10), u32(mem, 14)) == (2, len(b"K=v\0EMPTY=\0"))
    assert s.call("environ_get", mem, (300, 400)) == 0
    assert bytes(mem.data[400:411]) == b"K=v\0EMPTY=\0"


@pytest.mark.parametrize("call", [
    ("args_get", (MEM - 4, 0)),  # three pointers do not fit
    ("args_get", (0, MEM - 3)),  # the strings do not fit
    ("args_sizes_get", (MEM, 0)),
    ("environ_get", (0xFFFFFFFF, 0)),
    ("fd_write", (1, 0, 0x7FFFFFFF, 16)),  # a huge iovec count: refused before anything is read
    ("fd_read", (0, MEM - 8, 2, 16)),
    ("fd_seek", (3 + 1, 0, 0, MEM)),  # (fd 4 is not open: EBADF comes first) see below
    ("clock_time_get", (0, 0, MEM - 4)),
    ("random_get", (MEM - 10, 11)),
    ("random_get", (0, 0xFFFFFFFF)),
    ("poll_oneoff", (0, 100, 0x10000000, 16)),
    ("fd_readdir", (3, MEM - 10, 100, 0, 0)),
    ("path_open", (3, 0, MEM - 2, 10, 0, 0, 0, 0, 0)),
    ("fd_prestat_dir_name", (3, MEM, 1)),
])
def test_out_of_bounds_is_efault_never_an_exception(call: tuple[str, tuple[int, ...]]) -> None:
    name, args = call
    s, mem = state(), BytesMemory(MEM)
    before = s.copy()
    assert s.call(name, mem, args) in ((EBADF,) if name == "fd_seek" else (EFAULT,))
    s.nondeterministic.clear()  # being called is recorded; nothing else changed
    assert s == before and mem.data == bytes(MEM)


def test_bad_iovec_inside_count_is_efault_and_writes_nothing() -> None:
    s, mem = state(), BytesMemory(MEM)
    iov(mem, 100, (2000, 5), (MEM - 2, 5))
    assert s.call("fd_write", mem, (1, 100, 2, 200)) == EFAULT
    assert s.stdout == b""


def test_memoryless_module_gets_efault() -> None:
    assert state().call("args_sizes_get", BytesMemory(0), (0, 4)) == EFAULT


def test_signed_arguments_are_taken_unsigned() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert s.call("args_sizes_get", mem, (-1, 0)) == EFAULT  # 0xFFFFFFFF, not -1


def test_stdout_stderr_and_stdin() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert write(s, mem, 1, b"out!") == 0 and u32(mem, 200) == 4
    assert write(s, mem, 2, b"err") == 0
    assert (bytes(s.stdout), bytes(s.stderr)) == (b"out!", b"err")
    assert read(s, mem, 0, 5) == (0, b"stdin")
    assert read(s, mem, 0, 100) == (0, b" bytes")
    assert read(s, mem, 0, 100) == (0, b"")
    assert s.fds[0].offset == len(b"stdin bytes")
    assert write(s, mem, 0, b"x") == EBADF and read(s, mem, 1, 1)[0] == EBADF
    assert write(s, mem, 9, b"x") == EBADF
    assert s.call("fd_seek", mem, (1, 0, 0, 300)) == ESPIPE
    assert s.call("fd_tell", mem, (0, 300)) == ESPIPE


def test_output_budget_ends_the_run() -> None:
    s, mem = state(), BytesMemory(MEM)
    s.written = WASI_MAX_OUTPUT_BYTES - 2
    assert write(s, mem, 1, b"ab") == 0
    with pytest.raises(OutputExceeded):
        write(s, mem, 1, b"c")
    errno, fd = open_file(s, mem, b"f", oflags=1)
    assert errno == 0
    assert s.call("fd_seek", mem, (fd, 1 << 40, 0, 300)) == 0  # a seek alone allocates nothing
    with pytest.raises(OutputExceeded):  # the write would grow the file by 2**40 bytes: refused before
        write(s, mem, fd, b"x")
    assert len(s.files["f"]) == 0


def test_prestat() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert s.call("fd_prestat_get", mem, (3, 100)) == 0
    assert mem.data[100] == 0 and u32(mem, 104) == 1
    assert s.call("fd_prestat_dir_name", mem, (3, 200, 1)) == 0 and mem.data[200:201] == b"."
    assert s.call("fd_prestat_dir_name", mem, (3, 200, 0)) == 37  # ENAMETOOLONG
    assert s.call("fd_prestat_get", mem, (4, 100)) == EBADF
    assert s.call("fd_prestat_get", mem, (1, 100)) == EBADF


def test_path_open_read_write_seek_tell_close() -> None:
    s, mem = state(), BytesMemory(MEM)
    errno, fd = open_file(s, mem, b"data/in.txt")
    assert (errno, fd) == (0, 4)
    assert read(s, mem, fd, 5) == (0, b"hello")
    assert s.call("fd_tell", mem, (fd, 300)) == 0 and u64(mem, 300) == 5
    assert s.call("fd_seek", mem, (fd, -2, 1, 300)) == 0 and u64(mem, 300) == 3
    assert s.call("fd_seek", mem, (fd, -1, 2, 300)) == 0 and u64(mem, 300) == 9
    assert s.call("fd_seek", mem, (fd, -100, 1, 300)) == EINVAL
    assert s.call("fd_seek", mem, (fd, 0, 3, 300)) == EINVAL
    assert s.call("fd_seek", mem, (fd, 12, 0, 300)) == 0
    assert write(s, mem, fd, b"!") == 0
    assert bytes(s.files["data/in.txt"]) == b"hello file\0\0!"
    assert s.call("fd_close", mem, (fd,)) == 0 and fd not in s.fds
    assert s.call("fd_close", mem, (fd,)) == EBADF
    assert open_file(s, mem, b"./data/../top.bin")[1] == 4  # the lowest free descriptor again


def test_path_open_flags() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert open_file(s, mem, b"new.txt")[0] == ENOENT
    assert open_file(s, mem, b"new.txt", oflags=1)[0] == 0 and s.files["new.txt"] == b""
    assert open_file(s, mem, b"new.txt", oflags=1 | 4)[0] == EEXIST
    assert open_file(s, mem, b"top.bin", oflags=2)[0] == ENOTDIR
    assert open_file(s, mem, b"top.bin/x", oflags=1)[0] == ENOTDIR
    assert open_file(s, mem, b"nodir/x", oflags=1)[0] == ENOENT
    assert open_file(s, mem, b"/etc/passwd")[0] == ENOTCAPABLE
    assert open_file(s, mem, b"../escape")[0] == ENOTCAPABLE
    assert open_file(s, mem, b"data", oflags=8)[0] == EISDIR
    errno, fd = open_file(s, mem, b"top.bin", oflags=8)
    assert errno == 0 and s.files["top.bin"] == b""
    errno, dfd = open_file(s, mem, b"data", oflags=2)
    assert errno == 0 and s.fds[dfd].kind == "dir"
    assert open_file(s, mem, b"in.txt", dirfd=dfd)[0] == 0  # relative to an opened directory
    assert open_file(s, mem, b"x", dirfd=1)[0] == ENOTDIR
    assert read(s, mem, dfd, 1)[0] == EISDIR


def test_append_and_read_only() -> None:
    s, mem = state(), BytesMemory(MEM)
    errno, fd = open_file(s, mem, b"top.bin", fdflags=1)
    assert errno == 0
    assert write(s, mem, fd, b"AB") == 0 and write(s, mem, fd, b"C") == 0
    assert bytes(s.files["top.bin"]) == b"\x00\x01\x02ABC"
    errno, ro = open_file(s, mem, b"top.bin", rights=1 << 1)
    assert write(s, mem, ro, b"x") == EBADF
    assert read(s, mem, ro, 3) == (0, b"\x00\x01\x02")


def test_fdstat_set_flags_turns_append_on() -> None:
    """wasi-libc's fopen(..., "a") opens, then sets FDFLAGS_APPEND with fd_fdstat_set_flags."""
    s, mem = state(), BytesMemory(MEM)
    errno, fd = open_file(s, mem, b"top.bin")
    assert errno == 0 and write(s, mem, fd, b"A") == 0
    assert bytes(s.files["top.bin"]) == b"A\x01\x02"  # at offset 0
    assert s.call("fd_fdstat_set_flags", mem, (fd, 1)) == 0
    assert write(s, mem, fd, b"Z") == 0
    assert bytes(s.files["top.bin"]) == b"A\x01\x02Z"  # appended
    assert s.call("fd_fdstat_get", mem, (fd, 500)) == 0 and struct.unpack_from("<H", mem.data, 502)[0] == 1
    assert s.call("fd_fdstat_set_flags", mem, (99, 1)) == EBADF
    assert s.call("fd_fdstat_set_flags", mem, (fd, 1 << 20)) == EINVAL


def test_descriptor_limit() -> None:
    s, mem = state(), BytesMemory(MEM)
    for _ in range(WASI_MAX_FDS - 4):
        assert open_file(s, mem, b"top.bin")[0] == 0
    assert open_file(s, mem, b"top.bin")[0] == ENFILE
    assert open_file(s, mem, b"brand-new", oflags=1)[0] == ENFILE and "brand-new" not in s.files


def test_fdstat_and_filestat() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert s.call("fd_fdstat_get", mem, (1, 100)) == 0
    filetype, flags, base, inheriting = struct.unpack_from("<B1xH4xQQ", mem.data, 100)
    assert (filetype, flags, base, inheriting) == (2, 0, (1 << 29) - 1, (1 << 29) - 1)
    assert s.call("fd_fdstat_get", mem, (3, 100)) == 0 and mem.data[100] == 3
    _, fd = open_file(s, mem, b"data/in.txt", fdflags=1)
    assert s.call("fd_fdstat_get", mem, (fd, 100)) == 0 and mem.data[100] == 4 and u32(mem, 102) & 0xFFFF == 1
    assert s.call("fd_filestat_get", mem, (fd, 200)) == 0
    assert mem.data[216] == 4 and u64(mem, 232) == len(b"hello file")
    ptr, length = put_str(mem, 1000, b"data")
    assert s.call("path_filestat_get", mem, (3, 0, ptr, length, 300)) == 0 and mem.data[316] == 3
    ptr, length = put_str(mem, 1000, b"missing")
    assert s.call("path_filestat_get", mem, (3, 0, ptr, length, 300)) == ENOENT
    assert s.call("fd_filestat_get", mem, (99, 200)) == EBADF


def readdir(s: WasiState, mem: BytesMemory, fd: int, size: int, cookie: int = 0) -> list[tuple[int, str, int]]:
    assert s.call("fd_readdir", mem, (fd, 5000, size, cookie, 400)) == 0
    used, data, out, at = u32(mem, 400), bytes(mem.data[5000:5000 + size]), [], 0
    while at + 24 <= used:
        nxt, _ino, namlen, filetype = struct.unpack_from("<QQIB", data, at)
        out.append((nxt, data[at + 24:at + 24 + namlen].decode(), filetype))
        at += 24 + namlen
    return out


def test_fd_readdir() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert readdir(s, mem, 3, 1000) == [(1, ".", 3), (2, "..", 3), (3, "data", 3), (4, "top.bin", 4)]
    assert readdir(s, mem, 3, 1000, cookie=3) == [(4, "top.bin", 4)]
    assert readdir(s, mem, 3, 1000, cookie=9) == []
    assert s.call("fd_readdir", mem, (3, 5000, 30, 0, 400)) == 0 and u32(mem, 400) == 30  # full buffer: more
    assert "fd_readdir" in s.nondeterministic
    assert s.call("fd_readdir", mem, (1, 5000, 30, 0, 400)) == ENOTDIR


def test_clocks_advance_and_are_reported() -> None:
    s, mem = state(seed=3), BytesMemory(MEM)
    readings: list[tuple[int, int]] = []
    s.on_clock = lambda clock, value: readings.append((clock, value))
    start = initial_clocks(3)
    assert s.call("clock_time_get", mem, (1, 0, 100)) == 0 and u64(mem, 100) == start[1]
    assert s.call("clock_time_get", mem, (1, 0, 100)) == 0 and u64(mem, 100) == start[1] + CLOCK_STEP_NS
    assert s.call("clock_time_get", mem, (0, 0, 100)) == 0 and u64(mem, 100) == start[0]
    assert readings == [(1, start[1]), (1, start[1] + CLOCK_STEP_NS), (0, start[0])]
    assert s.call("clock_time_get", mem, (4, 0, 100)) == EINVAL
    assert s.call("clock_res_get", mem, (0, 100)) == 0 and u64(mem, 100) > 0
    assert start != initial_clocks(4) and start[0] >= 1_700_000_000 * 10**9
    assert {"clock_time_get", "clock_res_get"} <= s.nondeterministic


def subscription(userdata: int, clock: int, timeout: int, flags: int = 0) -> bytes:
    return struct.pack("<QB7xI4xQQH6x", userdata, 0, clock, timeout, 0, flags)


def test_poll_oneoff_sleeps_on_the_virtual_clock() -> None:
    s, mem = state(), BytesMemory(MEM)
    before = list(s.clocks)
    mem.write(100, subscription(11, 1, 5_000) + subscription(12, 0, 9_000))
    assert s.call("poll_oneoff", mem, (100, 400, 2, 600)) == 0
    assert u32(mem, 600) == 1 and u64(mem, 400) == 11 and mem.data[410] == 0
    assert s.clocks == [c + 5_000 for c in before]
    mem.write(100, subscription(13, 1, s.clocks[1] - 1, flags=1))  # an absolute time already passed
    assert s.call("poll_oneoff", mem, (100, 400, 1, 600)) == 0 and s.clocks[1] == before[1] + 5_000
    assert s.call("poll_oneoff", mem, (100, 400, 0, 600)) == EINVAL


def test_random_get_is_a_seeded_stream() -> None:
    s, mem = state(seed=5), BytesMemory(MEM)
    assert s.call("random_get", mem, (100, 10)) == 0
    assert s.call("random_get", mem, (110, 70)) == 0
    assert bytes(mem.data[100:180]) == random_bytes(5, 0, 80) and s.random_position == 80
    assert random_bytes(5, 0, 80) != random_bytes(6, 0, 80)


def test_proc_exit_and_sched_yield() -> None:
    s, mem = state(), BytesMemory(MEM)
    assert s.call("sched_yield", mem, ()) == 0
    with pytest.raises(ProcExit) as info:
        s.call("proc_exit", mem, (-1,))
    assert info.value.code == 0xFFFFFFFF and s.exit_code == 0xFFFFFFFF


def test_outcome() -> None:
    s, mem = state(), BytesMemory(MEM)
    write(s, mem, 1, b"hi")
    open_file(s, mem, b"made", oflags=1)
    outcome = s.outcome(0)
    assert outcome.stdout == b"hi" and outcome.exit_code == 0
    assert outcome.files == (("data/in.txt", b"hello file"), ("made", b""), ("top.bin", b"\x00\x01\x02"))
    s.exit_code = 4
    assert s.outcome(None).exit_code == 4


def test_fresh_refuses_a_file_that_is_also_a_directory() -> None:
    with pytest.raises(BadInput):
        WasiState.fresh(WasiInputs(files=(("a", b""), ("a/b", b""))), 0)


# -- byte form ---------------------------------------------------------------------------------


def busy_state() -> WasiState:
    s, mem = state(), BytesMemory(MEM)
    write(s, mem, 1, b"out")
    write(s, mem, 2, b"err")
    read(s, mem, 0, 3)
    _, fd = open_file(s, mem, b"data/new", oflags=1, fdflags=1)
    write(s, mem, fd, b"xyz")
    s.call("clock_time_get", mem, (1, 0, 100))
    s.call("random_get", mem, (100, 9))
    s.exit_code = 2
    return s


def test_codec_round_trip() -> None:
    s = busy_state()
    data = s.encode()
    back = WasiState.decode(data)
    assert back == s and back.encode() == data
    assert back.fds[4].offset == 3 and back.fds[0].offset == 3 and back.random_position == 9
    assert state().copy() == state()


def test_codec_travels_in_the_snapshot() -> None:
    snap = Snapshot(bytes(32), "asyncify", "{}", HostImage((), 0, 0, (), busy_state()), (), (), (), b"")
    data = encode(snap)
    assert decode(data) == snap and encode(decode(data)) == data
    corrupt = bytearray(data)
    start = data.index(b"HOST")
    # the WASI blob's first byte (its layout version) sits after HOST's 4+4+4 framing and 4+8+4+4+1+4 fields
    corrupt[start + 12 + 25] = 9
    import zlib
    length = struct.unpack_from("<I", corrupt, start + 4)[0]
    struct.pack_into("<I", corrupt, start + 8, zlib.crc32(bytes(corrupt[start + 12:start + 12 + length])))
    with pytest.raises(SnapshotError, match="snapshot section HOST: WASI state: unsupported layout version 9"):
        decode(bytes(corrupt))


def test_codec_rejects_every_truncation_in_one_line() -> None:
    data = busy_state().encode()
    for cut in range(len(data)):
        with pytest.raises(WasiStateError) as info:
            WasiState.decode(data[:cut])
        assert "\n" not in str(info.value)
    with pytest.raises(WasiStateError, match="trailing"):
        WasiState.decode(data + b"\0")


def test_codec_bounds_claims_before_allocating() -> None:
    data = bytearray(busy_state().encode())
    argc_at = 1 + 8
    data[argc_at:argc_at + 4] = struct.pack("<I", 0xFFFFFFFF)
    with pytest.raises(WasiStateError, match="more than"):
        WasiState.decode(bytes(data))
    s = busy_state()
    s.fds[4].path = "nowhere"
    with pytest.raises(WasiStateError, match="not in the tree"):
        WasiState.decode(s.encode())


def observation(label: str, s: WasiState, clocks: list[tuple[int, int]]) -> Observation:
    obs = Observation(label)
    obs.wasi, obs.clocks = s.outcome(0), clocks
    return obs


def test_oracle_facets() -> None:
    ref = busy_state()
    assert not compare(observation("B", ref, [(1, 5), (1, 6)]), observation("C", busy_state(), [(1, 5), (1, 6)]))
    other = busy_state()
    other.stdout += b"!"
    other.exit_code = 1
    other.files["data/new"][0:1] = b"Q"
    found = compare(observation("B", ref, [(1, 5), (1, 6)]), observation("C", other, [(1, 5), (1, 4)]))
    facets = {d.facet: d for d in found}
    assert set(facets) == {"stdout", "exit", "files", "clock"}
    assert "first difference at byte 3" in facets["stdout"].detail
    assert "B: 2" in facets["exit"].detail and "C: 1" in facets["exit"].detail
    assert "file data/new byte 0" in facets["files"].where
    backwards = [d for d in found if d.facet == "clock" and "backwards" in d.where]
    assert backwards and "reading 0 gave 5 ns, reading 1 gave 4 ns" in backwards[0].detail
