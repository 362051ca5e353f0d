"""Regenerate fuzz/seeds/snapshot/, the seed corpus of fuzz/snapshot_fuzzer.py (`make snapshot-seeds`).

Real snapshots: for each corpus case below, `resumefuzz check --schedule every --out TMP`
writes one snapshot per suspension; the last one of at most SEED_MAX_BYTES (the most host
state: outputs, completed calls; small seeds keep the fuzzer fast) becomes CASE.rfzsnap.  Then files that claim more memory than the decoder allows,
derived from the first real one by replacing its MEMS section (lengths and CRCs fixed):
they must be rejected before anything of the claimed size is allocated.

    .venv/bin/python fuzz/seeds/make_snapshot_seeds.py [OUT_DIR]

The output is deterministic (pinned Binaryen, wasmtime, seeds); the committed seeds are
what this writes.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from resumefuzz.files import write_atomic
from resumefuzz.limits import MAX_SNAPSHOT_MEMORY_PAGES

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "corpus" / "cases"
DEFAULT_OUT = Path(__file__).resolve().parent / "snapshot"

#: Corpus cases whose snapshots between them hold every kind of state the format carries.
SEED_CASES = (
    "shared-state-between-exports",  # completed calls, outputs, two memories
    "bulk-memory-around-suspensions",  # program memory contents
    "call-indirect-across-yields",  # a funcref table
    "output-events-around-suspension",  # output events
    "v128-locals-and-globals",  # v128 values
    "snan-f32-global",  # signalling-NaN bits
    "memory-grow-before-suspend",  # a grown memory with a maximum
    "deep-recursion-live-locals",  # a deep unwound stack in the resume buffer
)

SEED_MAX_BYTES = 32 * 1024

_HEADER = struct.Struct("<8sHHI")
_FRAME = struct.Struct("<4sII")
_NONE = 0xFFFFFFFFFFFFFFFF  # an unbounded memory maximum (opt_u64)
_I32 = 0x7F  # a 32-bit memory's index type code


def _sections(data: bytes) -> list[tuple[bytes, bytes]]:
    pos, sections = _HEADER.size, []
    while pos < len(data):
        tag, length, _ = _FRAME.unpack_from(data, pos)
        sections.append((tag, data[pos + _FRAME.size : pos + _FRAME.size + length]))
        pos += _FRAME.size + length
    return sections


def _with_mems(data: bytes, mems: bytes) -> bytes:
    """DATA with its MEMS payload replaced, frames and CRCs recomputed."""
    out = [data[: _HEADER.size]]
    for tag, payload in _sections(data):
        payload = mems if tag == b"MEMS" else payload
        out += [_FRAME.pack(tag, len(payload), zlib.crc32(payload)), payload]
    return b"".join(out)


def _empty_memories(*pages: int) -> bytes:
    """A MEMS payload: memories 0.. of PAGES pages each, unbounded, no stored block (all zeros)."""
    return struct.pack("<I", len(pages)) + b"".join(struct.pack("<IBQQI", i, _I32, n, _NONE, 0)
                                                    for i, n in enumerate(pages))


def oversized(real: bytes) -> dict[str, bytes]:
    """Files a few hundred bytes long claiming gigabytes of zero pages."""
    half = MAX_SNAPSHOT_MEMORY_PAGES // 2  # two fit the limit, three exceed it only together
    return {
        "oversize-one-memory-65536-pages.rfzsnap": _with_mems(real, _empty_memories(65536)),
        "oversize-four-memories-65536-pages.rfzsnap": _with_mems(real, _empty_memories(*[65536] * 4)),
        "oversize-memories-together.rfzsnap": _with_mems(real, _empty_memories(half, half, half)),
    }


def _resumefuzz() -> str:
    beside = Path(sys.executable).parent / "resumefuzz"
    return str(beside) if beside.exists() else (shutil.which("resumefuzz") or "resumefuzz")


def real_snapshot(case: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="rfz-seeds-") as tmp:
        out = Path(tmp) / "out"
        cmd = [_resumefuzz(), "check", str(CASES / f"{case}.wat"), "--schedule", "every", "--out", str(out), "--quiet"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        snapshots = [p for p in sorted((out / "snapshots").glob("*.rfzsnap")) if p.stat().st_size <= SEED_MAX_BYTES]
        if result.returncode != 0 or not snapshots:
            sys.exit(f"make_snapshot_seeds: {' '.join(cmd)} exited {result.returncode} with "
                     f"{len(snapshots)} snapshot(s) of at most {SEED_MAX_BYTES} bytes: {result.stderr.strip()[-500:]}")
        return snapshots[-1].read_bytes()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    seeds = {f"{case}.rfzsnap": real_snapshot(case) for case in SEED_CASES}
    seeds.update(oversized(seeds[f"{SEED_CASES[0]}.rfzsnap"]))
    for stale in out.glob("*.rfzsnap"):
        if stale.name not in seeds:
            stale.unlink()
    for name, data in seeds.items():
        write_atomic(out / name, data)
    print(f"{len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
