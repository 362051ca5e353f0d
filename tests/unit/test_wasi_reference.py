"""wasmtime's own WASI as the reference for the harness's WASI host (resumefuzz.wasi.reference),
run on the hand-written C workloads of corpus/programs.

The programs are built here (zig cc, wasm32-wasi, -O2) into a per-session cache; without the
PyPI package ziglang these tests skip.  Every expected output is recomputed in Python from what
the program states it computes (its data generator, Python's own hashing and %-formatting), never
copied from a run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
import wasmtime

from resumefuzz import limits
from resumefuzz.errors import BadInput
from resumefuzz.wasi import WasiInputs, WasiOutcome
from resumefuzz.wasi.reference import CrossCheck, _read_tree, cross_check, reference_run

PROGRAMS = Path(__file__).resolve().parents[2] / "corpus" / "programs"
NAMES = ("sort", "hash", "interp", "format", "recursion", "files")
#: every program finishes well inside this (recursion, the longest, in under 50M)
FUEL = 200_000_000
MASK32, MASK64 = (1 << 32) - 1, (1 << 64) - 1


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("PyPI ziglang is not installed (make setup)")
    cache = tmp_path_factory.mktemp("programs")
    built = {}
    for name in NAMES:
        out = cache / f"{name}.wasm"
        subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2", "-s",
                        str(PROGRAMS / f"{name}.c"), "-o", str(out)], check=True, capture_output=True, timeout=300)
        built[name] = out.read_bytes()
    return built


def run(wasm: bytes, inputs: WasiInputs = WasiInputs()) -> WasiOutcome:
    outcome = reference_run(wasm, inputs, fuel=FUEL)
    assert isinstance(outcome, WasiOutcome), outcome
    return outcome


def lines(outcome: WasiOutcome) -> list[str]:
    assert outcome.exit_code == 0, (outcome.exit_code, outcome.stderr)
    return outcome.stdout.decode().splitlines()


def lcg(x: int) -> int:
    return (x * 1103515245 + 12345) & MASK32


# -- each program, checked against Python ------------------------------------------------------

def test_sort_checksums_match_python(programs: dict[str, bytes]) -> None:
    out = lines(run(programs["sort"]))
    assert out[-1] == "failures=0"
    seen = 0
    for line in out[:-1]:
        n, algorithm, ok, total, first, last = re.fullmatch(
            r"n=(\d+) (\w+) sorted=(\d) sum=([0-9a-f]{8}) first=(\d+) last=(\d+)", line).groups()
        x, data = 42 + int(n), []
        for _ in range(int(n)):
            x = lcg(x)
            data.append(x >> 8)
        data.sort()
        h = 2166136261
        for i, v in enumerate(data):
            h = (((h ^ v) * 16777619) + i) & MASK32
        assert (ok, int(total, 16), int(first), int(last)) == ("1", h, data[0], data[-1]), (algorithm, line)
        seen += 1
    assert seen == 5 * 7


def test_hash_matches_python(programs: dict[str, bytes]) -> None:
    stdin = bytes(range(256)) * 5 + b"tail"
    out = lines(run(programs["hash"], WasiInputs(stdin=stdin)))
    inputs = {}
    for n in (0, 1, 55, 56, 64, 1000, 65536):
        x, data = n, bytearray()
        for _ in range(n):
            x = lcg(x)
            data.append(x >> 24)
        inputs[f"generated-{n}"] = bytes(data)
    inputs["stdin"] = stdin
    assert [line.split()[0] for line in out] == list(inputs)
    for line in out:
        name, *fields = line.split()
        data = inputs[name]
        fnv32, fnv64 = 2166136261, 14695981039346656037
        for byte in data:
            fnv32 = ((fnv32 ^ byte) * 16777619) & MASK32
            fnv64 = ((fnv64 ^ byte) * 1099511628211) & MASK64
        assert fields == [f"len={len(data)}", f"fnv32={fnv32:08x}", f"fnv64={fnv64:016x}",
                          f"crc32={zlib.crc32(data):08x}", f"sha256={hashlib.sha256(data).hexdigest()}"], name


def _signed64(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


def _fact(n: int) -> int:
    return _signed64(math.factorial(n))


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _primes(n: int) -> int:
    return sum(1 for k in range(2, n) if all(k % d for d in range(2, math.isqrt(k) + 1)))


def _collatz(n: int) -> int:
    steps = 0
    while n != 1:
        n, steps = (n // 2 if n % 2 == 0 else 3 * n + 1), steps + 1
    return steps


def test_interp_results_match_python(programs: dict[str, bytes]) -> None:
    out = lines(run(programs["interp"]))
    assert out[-1] == "mismatches=0"
    functions = {"fact": _fact, "fib": _fib, "gcd": math.gcd, "primes": _primes, "collatz": _collatz}
    for line in out[:-1]:
        name, args, result, by_switch, by_table = re.fullmatch(
            r"(\w+)\(([-\d,]+)\) = (-?\d+) switch=(-?\d+) table=(-?\d+) steps=\d+", line).groups()
        expected = functions[name](*(int(a) for a in args.split(",")))
        assert int(result) == int(by_switch) == int(by_table) == expected, line
    assert {line.split("(")[0] for line in out[:-1]} == set(functions)


def _python_format(kind: str, fmt: str, value: int | float | str) -> str:
    """What C's printf gives for FMT and VALUE, through Python's %-formatting where the two agree,
    adjusted where C differs: length modifiers (Python has none), unsigned conversions of signed
    values (two's complement of the type's width), '%#o' ("0" prefix, Python "0o"), and the 0
    flag, which C ignores for infinities and NaN."""
    fmt = fmt.replace("ll", "")
    conversion = fmt[-1] if not fmt.endswith("%%") else fmt[-3]
    if conversion in "xXou" and isinstance(value, int):
        value &= MASK64 if kind == "l" else MASK32
    if isinstance(value, float) and not math.isfinite(value):
        fmt = re.sub(r"^%([-+ #]*)0", r"%\1", fmt)
    if fmt == "%#o":
        return "0" + format(value, "o")
    return fmt % value


def test_format_matches_python_formatting(programs: dict[str, bytes]) -> None:
    out = lines(run(programs["format"]))
    assert out[-1] == f"count={len(out) - 1}" and len(out) > 500
    parse = {"i": int, "u": int, "l": int, "c": int, "s": str,
             "d": lambda text: struct.unpack(">d", bytes.fromhex(text))[0]}
    kinds = set()
    for line in out[:-1]:
        kind, fmt, value, result = line.split("\t")
        assert result.startswith("[") and result.endswith("]"), line
        assert result[1:-1] == _python_format(kind, fmt, parse[kind](value)), line
        kinds.add(kind)
    assert kinds == set(parse)
    assert any(line.endswith("\t[inf]") for line in out) and any(line.endswith("\t[nan]") for line in out)


def test_recursion_results_match_python(programs: dict[str, bytes]) -> None:
    out = lines(run(programs["recursion"]))
    checked = set()
    for line in out:
        if m := re.fullmatch(r"ack\((\d),(\d+)\) = (\d+)", line):
            m_, n = int(m[1]), int(m[2])
            expected = [n + 1, n + 2, 2 * n + 3, 2 ** (n + 3) - 3][m_]
            assert int(m[3]) == expected, line
        elif m := re.fullmatch(r"expr ([-+*()0-9]+) = (\d+)", line):
            assert int(m[2]) == eval(m[1]) & MASK32, line  # only digits, + - * and parentheses
        elif m := re.fullmatch(r"chain\((\d+)\) = (\d+)", line):
            n = int(m[1])
            assert int(m[2]) == (n * (n + 1) // 2 * 2654435761) & MASK32, line
        elif m := re.fullmatch(r"even\((\d+)\) = ([01])", line):
            assert int(m[2]) == (int(m[1]) % 2 == 0), line
        elif m := re.fullmatch(r"max parse depth = (\d+)", line):
            assert int(m[1]) > 300  # 150 nested parentheses, three frames each
        else:
            pytest.fail(f"unexpected line {line!r}")
        checked.add(line.split("(")[0].split(" ")[0])
    assert checked == {"ack", "expr", "chain", "even", "max"}


def test_files_reads_and_writes_the_preopened_directory(programs: dict[str, bytes]) -> None:
    given = b"first line\nsecond \x00 line\n\xff bytes"
    stdin = b"from stdin\n" * 3
    inputs = WasiInputs(args=("files", "7"), env=(("FILES_TAG", "tag value"),), stdin=stdin,
                        files=(("input.txt", given), ("sub/deep.bin", b"12345")))
    outcome = run(programs["files"], inputs)
    assert outcome.exit_code == 7 and outcome.stderr == b"files: done\n"
    out = outcome.stdout
    assert out.split(b"--- input.txt ---\n")[1].split(b"--- end ---\n")[0] == given
    written = out.split(b"--- out.txt ---\n")[1].split(b"--- end ---\n")[0]
    tree = dict(outcome.files)
    assert tree == {"input.txt": given, "sub/deep.bin": b"12345", "out.txt": written + b"appended\n",
                    "stdin-copy.txt": stdin}
    text = out.decode(errors="replace")
    size = len(tree["out.txt"])
    assert f"size: seek {size} fstat {size} stat {size}; last line: appended\n" in text
    assert f"stdin: {len(stdin)} bytes\n" in text and "FILES_TAG=tag value\n" in text
    listed = re.findall(r"^entry ([df]) (\S+)(?: (\d+))?$", text, re.M)
    assert listed == [("f", "input.txt", str(len(given))), ("f", "out.txt", str(size)),
                      ("f", "stdin-copy.txt", str(len(stdin))), ("d", "sub", "")]
    # relative paths resolve against the "." preopen: out.txt landed at the top of the tree


def test_files_without_input_returns_from_start(programs: dict[str, bytes]) -> None:
    outcome = run(programs["files"], WasiInputs(env=(("FILES_NO_LIST", "1"),)))
    assert outcome.exit_code == 0 and b"input.txt: absent\n" in outcome.stdout
    assert b"entry " not in outcome.stdout
    assert [path for path, _ in outcome.files] == ["out.txt", "stdin-copy.txt"]


# -- cross_check --------------------------------------------------------------------------------

def _inputs_for(name: str) -> WasiInputs:
    if name == "files":
        return WasiInputs(args=("files", "3"), stdin=b"in", files=(("input.txt", b"given\n"),))
    return WasiInputs(stdin=b"some stdin" if name == "hash" else b"")


@pytest.mark.parametrize("name", NAMES)
def test_cross_check_agrees_with_the_reference_itself(programs: dict[str, bytes], name: str) -> None:
    inputs = _inputs_for(name)
    reference = run(programs[name], inputs)
    check = cross_check(programs[name], inputs, reference, fuel=FUEL)
    assert check == CrossCheck("agree", check.detail), check


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x20]) + data[offset + 1:]


def test_cross_check_names_the_first_difference(programs: dict[str, bytes]) -> None:
    wasm, inputs = programs["files"], _inputs_for("files")
    good = run(wasm, inputs)
    assert good.exit_code == 3 and good.stdout and good.files

    def disagree(ours: WasiOutcome) -> str:
        check = cross_check(wasm, inputs, ours, fuel=FUEL)
        assert check.status == "disagree", check
        assert check.detail.startswith("harness WASI host disagrees with wasmtime's WASI: ")
        assert "\n" not in check.detail
        return check.detail

    detail = disagree(replace(good, stdout=_flip(good.stdout, 40)))
    assert "stdout differs at byte 40" in detail and repr(good.stdout[40:41])[2:-1] in detail
    assert "stdout" in disagree(replace(good, stdout=good.stdout[:-1]))  # shorter: at the end
    assert "stderr differs at byte 0" in disagree(replace(good, stderr=b"x" + good.stderr))
    detail = disagree(replace(good, exit_code=4))
    assert "exit code 4 (harness) vs 3 (wasmtime)" in detail
    files = dict(good.files)
    detail = disagree(replace(good, files=tuple((p, d) for p, d in good.files if p != "out.txt")))
    assert "'out.txt' present only in wasmtime's tree" in detail
    detail = disagree(replace(good, files=good.files + (("zzz.txt", b""),)))
    assert "'zzz.txt' present only in the harness's tree" in detail
    changed = tuple((p, _flip(d, 2) if p == "out.txt" else d) for p, d in good.files)
    detail = disagree(replace(good, files=changed))
    assert "file 'out.txt' differs at byte 2" in detail and files["out.txt"] != dict(changed)["out.txt"]


def test_cross_check_skips_what_a_real_host_cannot_reproduce(programs: dict[str, bytes]) -> None:
    wasm = programs["sort"]
    good = run(wasm)
    check = cross_check(wasm, WasiInputs(), replace(good, nondeterministic=("random_get", "clock_time_get")),
                        fuel=FUEL)
    assert check.status == "skipped" and "clock_time_get, random_get" in check.detail
    check = cross_check(wasm, WasiInputs(), replace(good, exit_code=None), fuel=FUEL)
    assert check.status == "skipped" and "exit code" in check.detail
    check = cross_check(wasm, WasiInputs(), good, fuel=1000)  # the reference runs out of fuel
    assert check.status == "skipped" and "fuel" in check.detail
    check = cross_check(programs["files"], WasiInputs(args=("files", "200")), replace(good, exit_code=200),
                        fuel=FUEL)
    assert check.status == "skipped" and "[0, 126)" in check.detail


# -- what reference_run cannot run, traps, bounds, clean-up --------------------------------------

def test_not_a_command_and_traps() -> None:
    library = wasmtime.wat2wasm('(module (func (export "f")))')
    assert "not a WASI command" in str(reference_run(library, WasiInputs(), fuel=FUEL))
    assert "cannot compile" in str(reference_run(b"\0asm\x01\0\0\0\x05", WasiInputs(), fuel=FUEL))
    trapping = wasmtime.wat2wasm("""
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "partial")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 7))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            unreachable))""")
    outcome = run(trapping)
    assert outcome == WasiOutcome(stdout=b"partial", exit_code=None)
    unknown = wasmtime.wat2wasm('(module (import "env" "f" (func)) (func (export "_start")))')
    assert "cannot run" in str(reference_run(unknown, WasiInputs(), fuel=FUEL))


def test_wall_clock_bound() -> None:
    spin = wasmtime.wat2wasm('(module (func (export "_start") (loop (br 0))))')
    reason = reference_run(spin, WasiInputs(), fuel=10**15, timeout=0.3)
    assert isinstance(reason, str) and "longer than 0.3 s" in reason


def test_inputs_over_the_limits_are_refused_before_writing(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    too_many = tuple((f"f{i}", b"") for i in range(limits.WASI_MAX_FILES + 1))
    with pytest.raises(BadInput, match="files"):
        WasiInputs(files=too_many)
    # one built around the checks is refused too, before any temporary directory exists
    sneaky = WasiInputs()
    object.__setattr__(sneaky, "files", too_many)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spin = wasmtime.wat2wasm('(module (func (export "_start")))')
    with pytest.raises(BadInput, match="more than"):
        reference_run(spin, sneaky, fuel=FUEL)
    assert list(tmp_path.iterdir()) == []


def test_outcomes_over_the_limits_are_reasons_and_temp_dirs_go(programs: dict[str, bytes],
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(limits, "WASI_MAX_OUTPUT_BYTES", 100)
    reason = reference_run(programs["sort"], WasiInputs(), fuel=FUEL)
    assert isinstance(reason, str) and "more than 100" in reason
    monkeypatch.setattr(limits, "WASI_MAX_OUTPUT_BYTES", 1 << 20)
    monkeypatch.setattr(limits, "WASI_MAX_FILES", 2)  # files.c leaves out.txt and stdin-copy.txt, + input
    reason = reference_run(programs["files"], WasiInputs(env=(("FILES_NO_LIST", "1"),),
                                                         files=(("input.txt", b"x"),)), fuel=FUEL)
    assert isinstance(reason, str) and "more than 2 files" in reason
    assert isinstance(run(programs["files"], WasiInputs(env=(("FILES_NO_LIST", "1"),))), WasiOutcome)
    assert list(tmp_path.iterdir()) == []  # every scratch directory removed


def test_read_tree_records_empty_directories(tmp_path: Path) -> None:
    (tmp_path / "a" / "empty").mkdir(parents=True)
    (tmp_path / "a" / "f.bin").write_bytes(b"\x00\x01")
    (tmp_path / "b").mkdir()
    (tmp_path / "top").write_bytes(b"t")
    assert _read_tree(tmp_path) == (("a/empty/", b""), ("a/f.bin", b"\x00\x01"), ("b/", b""), ("top", b"t"))
    (tmp_path / "link").symlink_to("top")
    assert "neither a regular file" in str(_read_tree(tmp_path))


def test_large_modules_compile_in_a_child_within_the_budget(programs: dict[str, bytes],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    in_process = run(programs["format"])
    monkeypatch.setattr(limits, "COMPILE_OUT_OF_PROCESS_BYTES", 0)  # every module counts as large
    assert run(programs["format"]) == in_process
    monkeypatch.setenv(limits.COMPILE_TIMEOUT_ENV, "0.001")
    reason = reference_run(programs["format"], WasiInputs(), fuel=FUEL)
    assert isinstance(reason, str) and "longer than 0.001 s" in reason
