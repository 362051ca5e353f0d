"""`resumefuzz check` judges 64-bit memories (memory64) end to end, and sees a restore that loses them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESUMEFUZZ = Path(sys.executable).parent / "resumefuzz"
CASE = ROOT / "corpus" / "cases" / "memory64-grow-and-suspend.wat"
MEMORY32 = ROOT / "corpus" / "cases" / "memory-grow-before-suspend.wat"
SCHEDULE = "every;spread:8"


def check(module: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RESUMEFUZZ), "check", str(module), "--schedule", SCHEDULE, *args],
                          capture_output=True, text=True, timeout=300)


def headline_facets(report: str) -> set[str]:
    match = re.match(r"resumefuzz check: DIVERGENT: (.+)\n", report)
    assert match, report
    return set(match[1].split(", "))


def test_a_memory64_module_is_judged_equal() -> None:
    result = check(CASE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("resumefuzz check: EQUAL")
    assert re.search(r"[1-9]\d* suspension\(s\)", result.stdout)


def test_truncating_a_grown_64_bit_memory_is_reported_under_memory() -> None:
    result = check(CASE, "--engine", "faulty:truncate-memory64")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "memory" in headline_facets(result.stdout)
    assert "[memory] memory m0 size" in result.stdout


def test_the_fault_leaves_32_bit_memories_alone() -> None:
    """truncate-memory64 plants its bug only where a memory is 64-bit: a 32-bit program stays EQUAL."""
    result = check(MEMORY32, "--engine", "faulty:truncate-memory64")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_64_bit_grow_past_the_judged_cap_is_inconclusive(tmp_path: Path) -> None:
    module = tmp_path / "grow.wat"
    module.write_text("""(module
  (import "host" "out_i64" (func $out (param i64)))
  (memory i64 1 0x1_0000_0000)
  (func (export "grow") (result i64)
    (call $out (memory.grow (i64.const -1)))               ;; fails: no cap involved
    (call $out (memory.grow (i64.const 0x1_0000_0000_0000)))  ;; fails too (past 2**48 pages)
    (call $out (memory.grow (i64.const 3)))
    (call $out (memory.grow (i64.const 5000)))             ;; would pass MAX_MEMORY_PAGES
    (memory.size)))""")
    result = check(module)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "the program grew memory 0 so that its memories would hold 5004 pages" in result.stdout


@pytest.mark.parametrize("pages", [2**33])
def test_inspect_refuses_a_snapshot_claiming_a_huge_64_bit_memory(tmp_path: Path, pages: int) -> None:
    import struct
    import zlib

    from resumefuzz.snapshot import encode
    from resumefuzz.state import HostImage, Snapshot

    data = encode(Snapshot(bytes(32), "asyncify", "{}", HostImage((), 0, 0, ()), (), (), (), b""))
    mems = struct.pack("<IIBQQI", 1, 0, 0x7E, pages, 2**64 - 1, 0)
    out, pos = [data[:16]], 16
    while pos < len(data):
        tag, length, _ = struct.unpack_from("<4sII", data, pos)
        payload = mems if tag == b"MEMS" else data[pos + 12:pos + 12 + length]
        out += [struct.pack("<4sII", tag, len(payload), zlib.crc32(payload)), payload]
        pos += 12 + length
    path = tmp_path / "claim.rfzsnap"
    path.write_bytes(b"".join(out))
    result = subprocess.run([str(RESUMEFUZZ), "inspect", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"memory 0: {pages} pages" in lines[0], result.stderr
