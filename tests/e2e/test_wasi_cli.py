"""`resumefuzz check` judges compiled C programs (zig cc, wasm32-wasi) as they are, against the harness's WASI host."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

RESUMEFUZZ = Path(sys.executable).parent / "resumefuzz"
#: Asyncify makes every instruction boundary of libc's printf a resume point with `all`: keep the
#: prepared modules small enough to compile quickly
OPTIONS = ("--schedule", "random:3", "--yield-points", "entry,loop")

HELLO = r'''
#include <stdio.h>
int main(void) { printf("hello, world\n"); return 0; }
'''

IO = r'''
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  char line[256]; unsigned sum = 0;
  for (int i = 0; i < argc; i++) printf("arg%d=%s\n", i, argv[i]);
  const char *g = getenv("GREETING"); printf("GREETING=%s\n", g ? g : "(unset)");
  while (fgets(line, sizeof line, stdin)) { for (char *p = line; *p; p++) sum = sum * 31 + (unsigned char)*p; printf("line: %s", line); }
  fprintf(stderr, "sum %u\n", sum);
  return 3;
}
'''

FILES = r'''
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  char buf[128] = {0};
  int in = open("input.txt", O_RDONLY);
  if (in >= 0) { ssize_t n = read(in, buf, sizeof buf - 1); close(in); printf("read %zd: %s", n, buf); }
  int fd = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); return 1; }
  for (int i = 0; i < 20; i++) { char row[160]; int len = snprintf(row, sizeof row, "row %d %s", i, buf); write(fd, row, len); }
  close(fd);
  fd = open("out.txt", O_RDWR);
  off_t size = lseek(fd, 0, SEEK_END); lseek(fd, 7, SEEK_SET);
  char back[32] = {0}; read(fd, back, 10);
  lseek(fd, 0, SEEK_END); write(fd, "tail\n", 5); close(fd);
  printf("size %lld back [%s]\n", (long long)size, back);
  return 0;
}
'''

CLOCK = r'''
#include <stdio.h>
#include <time.h>
int main(void) {
  struct timespec a, b; long long total = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < 50; i++) { clock_gettime(CLOCK_MONOTONIC, &b); total += (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec); a = b; }
  printf("elapsed %lld\n", total);
  return 0;
}
'''


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """C source -> path of its wasm32-wasi build (-O2 -s), cached by source hash across sessions."""
    pytest.importorskip("ziglang")
    cache = tmp_path_factory.getbasetemp().parent / "resumefuzz-wasi-cache"
    cache.mkdir(parents=True, exist_ok=True)

    def compile_(source: str, name: str) -> Path:
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        wasm = cache / f"{name}-{digest}.wasm"
        if not wasm.exists():
            c = cache / f"{name}-{digest}.c"
            c.write_text(source)
            partial = wasm.with_suffix(".partial")
            subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2", "-s", str(c),
                            "-o", str(partial)], check=True, capture_output=True, timeout=600)
            partial.rename(wasm)
        return wasm

    return compile_


def check(module: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RESUMEFUZZ), "check", str(module), *args], capture_output=True, text=True,
                          timeout=600)


def suspensions(report: str) -> int:
    match = re.search(r"interrupted run\(s\), (\d+) suspension\(s\)", report)
    assert match, report
    return int(match[1])


def wasi_note(report: str) -> str:
    match = re.search(r"note: +WASI program: (.*)", report)
    assert match, report
    return match[1]


def test_hello_world_is_equal_with_suspensions_and_snapshots_carry_stdout(build, tmp_path: Path) -> None:
    wasm = build(HELLO, "hello")
    out = tmp_path / "out"
    result = check(wasm, "--schedule", "random:4", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("resumefuzz check: EQUAL")
    assert suspensions(result.stdout) > 0
    assert wasi_note(result.stdout).startswith("exit code 0, stdout 13 byte(s), stderr 0 byte(s)")
    assert json.loads((out / "wasi.json").read_text())["args"] == [wasm.name]
    snapshots = sorted((out / "snapshots").glob("*.rfzsnap"))
    assert snapshots
    shown = subprocess.run([str(RESUMEFUZZ), "inspect", str(snapshots[-1])], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("snapshot v4,")
    assert "wasi fds: 0:stdin @0, 1:stdout, 2:stderr, 3:preopen" in shown.stdout
    assert re.search(r"wasi output: stdout \d+ byte\(s\)", shown.stdout)


def test_stdin_args_and_env_reach_the_program(build, tmp_path: Path) -> None:
    wasm = build(IO, "io")
    stdin = tmp_path / "in.txt"
    stdin.write_bytes(b"one\ntwo\n")
    out = tmp_path / "out"
    result = check(wasm, "--arg", "x", "--arg", "y z", "--env", "GREETING=hi", "--stdin", str(stdin),
                   "--out", str(out), *OPTIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert suspensions(result.stdout) > 0
    stdout = f"arg0={wasm.name}\narg1=x\narg2=y z\nGREETING=hi\nline: one\nline: two\n".encode()
    sum_ = 0
    for byte in b"one\ntwo\n":
        sum_ = (sum_ * 31 + byte) & 0xFFFFFFFF
    stderr = f"sum {sum_}\n".encode()
    assert wasi_note(result.stdout).startswith(f"exit code 3, stdout {len(stdout)} byte(s), "
                                               f"stderr {len(stderr)} byte(s)")
    # the replay line reads the recorded inputs and reproduces the verdict
    replay = re.search(r"^replay: +(.*)$", result.stdout, re.M)
    assert replay and "--wasi" in replay[1]
    again = subprocess.run([str(RESUMEFUZZ), *shlex.split(replay[1])[1:]], capture_output=True, text=True,
                           timeout=600, cwd=wasm.parent)
    assert again.returncode == 0, again.stdout + again.stderr
    assert wasi_note(again.stdout) == wasi_note(result.stdout)


def test_a_file_is_written_and_read_back_in_the_preopened_directory(build, tmp_path: Path) -> None:
    from resumefuzz.checker import Judge
    from resumefuzz.engines import get_engine
    from resumefuzz.preparation import prepare
    from resumefuzz.wasi import WasiInputs
    from resumefuzz.yieldpoints import YieldPoints

    wasm = build(FILES, "files")
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "input.txt").write_bytes(b"some input\n")
    result = check(wasm, "--dir", str(folder), *OPTIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert suspensions(result.stdout) > 0
    assert ", 2 file(s) in '.'" in wasi_note(result.stdout)
    # what the harness's host did, byte for byte, and a suspension with the file open
    judge = Judge(prepare(wasm.read_bytes(), get_engine("asyncify"), YieldPoints.parse("entry,loop")), 0,
                  WasiInputs(("files.wasm",), files=(("input.txt", b"some input\n"),)))
    assert judge.a.wasi is not None
    rows = b"".join(b"row %d some input\n" % i for i in range(20))
    assert dict(judge.a.wasi.files)["out.txt"] == rows + b"tail\n"
    assert judge.a.wasi.stdout == b"read 11: some input\nsize %d back [ome input\n]\n" % len(rows)
    from resumefuzz.schedule import Schedule
    finding, c = judge.interrupted(Schedule("mid", tuple(range(1, judge.crossings, max(1, judge.crossings // 40)))))
    assert finding is None and c.suspensions
    assert any(p.files_open for p in c.probes) and any(p.output_written for p in c.probes)
    assert any(p.shadow_stack for p in c.probes)


def test_clock_readings_in_a_loop(build) -> None:
    wasm = build(CLOCK, "clock")
    result = check(wasm, *OPTIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert suspensions(result.stdout) > 0
    note = wasi_note(result.stdout)
    assert "51 clock reading(s)" in note and "called clock_time_get" in note


def test_an_unsupported_wasi_import_is_exit_3_naming_it(tmp_path: Path) -> None:
    module = tmp_path / "m.wat"
    module.write_text('(module (import "wasi_snapshot_preview1" "path_unlink_file" (func (param i32 i32 i32) '
                      '(result i32))) (memory (export "memory") 1) (func (export "_start")))')
    result = check(module)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "wasi_snapshot_preview1.path_unlink_file" in result.stderr
    module.write_text('(module (import "wasi_snapshot_preview1" "fd_close" (func (param i64) (result i32))) '
                      '(func (export "_start")))')
    result = check(module)
    assert result.returncode == 3 and "wasi_snapshot_preview1.fd_close has type" in result.stderr


def test_a_hand_written_command_exits_through_proc_exit(tmp_path: Path) -> None:
    module = tmp_path / "exit.wat"
    module.write_text('''(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "bye\\n")
      (func (export "_start") (local i32)
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 4))
        (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if $l (i32.lt_u (local.get 0) (i32.const 5))))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (call $exit (i32.const 7))
        unreachable))''')
    result = check(module, "--schedule", "every")
    assert result.returncode == 0, result.stdout + result.stderr
    assert suspensions(result.stdout) > 0
    assert wasi_note(result.stdout).startswith("exit code 7, stdout 4 byte(s)")  # proc_exit, not the trap after it


@pytest.mark.parametrize("flags, message", [
    (("--env", "NOVALUE"), "--env 'NOVALUE': expected NAME=VALUE"),
    (("--stdin", "/nonexistent/file"), "--stdin /nonexistent/file: cannot read"),
    (("--dir", "/nonexistent/dir"), "--dir /nonexistent/dir: not a directory"),
    (("--wasi", "/nonexistent/w.json", "--arg", "x"), "--wasi gives every WASI input"),
])
def test_bad_wasi_flags_are_one_line_exit_2(tmp_path: Path, flags: tuple[str, ...], message: str) -> None:
    module = tmp_path / "m.wat"
    module.write_text('(module (func (export "_start")))')
    result = check(module, *flags)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
