"""atheris target: bytes into the snapshot decoder, which may only raise SnapshotError;
every snapshot it accepts must re-encode byte-identically (the format is canonical).

    .venv/bin/python fuzz/snapshot_fuzzer.py -runs=100000 out/snapshot-corpus fuzz/seeds/snapshot

Every section carries a CRC-32 of its payload, so libFuzzer's byte mutations alone die at
the CRC check and never reach the section decoders.  This target therefore brings its own
mutator (``atheris.Setup(..., custom_mutator=mutate)``): it splits an input into header and
section frames, mutates one section's payload with libFuzzer's mutator (``atheris.Mutate``)
or writes an interesting u32 into it, or reorders/drops/duplicates sections or changes the
header, and reassembles the frames with correct lengths and CRCs.  A few mutations are
left raw (unframed), so the framing checks stay fuzzed too.  An input that is not framed
like a snapshot is mutated raw half the time and replaced by a minimal snapshot otherwise.
Start from the seed corpus of real snapshots, fuzz/seeds/snapshot (`make snapshot-seeds`);
name a scratch directory first: libFuzzer adds new inputs to the first corpus directory.

Environment:
  RESUMEFUZZ_SNAPSHOT_FUZZ_RAW=1     libFuzzer's byte mutations only (no custom mutator)
  RESUMEFUZZ_SNAPSHOT_FUZZ_STATS=F   liveness counters as JSON in F, rewritten as they change:
                                     inputs run, mutants (inputs this mutator made), mutants
                                     whose framing and CRCs are valid (they reach the section
                                     decoders), mutants accepted whole
"""

from __future__ import annotations

import json
import os
import random
import struct
import sys
import zlib
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from resumefuzz.snapshot import FORMAT_VERSION, MAGIC, SnapshotError, decode, encode
    from resumefuzz.state import HostImage, Snapshot

#: The section sequence of docs/snapshot-format.md.
TAGS = (b"MODL", b"ENGN", b"HOST", b"GLOB", b"MEMS", b"TABL", b"RSUM")
_HEADER = struct.Struct("<8sHHI")  # magic, version, flags, section count
_FRAME = struct.Struct("<4sII")  # tag, payload length, CRC-32 of the payload

#: Values that sit on the decoder's boundaries: counts, page and slot limits, the "none" sentinel.
INTERESTING_U32 = (0, 1, 2, 3, 7, 8, 15, 16, 17, 255, 4095, 4096, 4097, 8191, 8192, 8193, 65535, 65536,
                   65537, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)

#: Used when an input is not framed like a snapshot at all.
SKELETON = encode(Snapshot(bytes(32), "asyncify", "{}", HostImage((), 0, 0, ()), (), (), (), b""))

Sections = list[tuple[bytes, bytes]]


def split(data: bytes) -> tuple[int, int, Sections, bool] | None:
    """(version, flags, [(tag, payload)], framing valid) if DATA is a header plus whole frames.

    Framing valid: what the decoder checks before any section is decoded (version, flags,
    section count, tags in order, every CRC, nothing left over) all holds.
    """
    if len(data) < _HEADER.size or data[: len(MAGIC)] != MAGIC:
        return None
    _, version, flags, count = _HEADER.unpack_from(data)
    pos, sections, crcs_ok = _HEADER.size, [], True
    while pos < len(data):
        if len(data) - pos < _FRAME.size:
            return None
        tag, length, crc = _FRAME.unpack_from(data, pos)
        pos += _FRAME.size
        if length > len(data) - pos:
            return None
        payload = data[pos : pos + length]
        crcs_ok = crcs_ok and zlib.crc32(payload) == crc
        sections.append((tag, payload))
        pos += length
    valid = (crcs_ok and version == FORMAT_VERSION and flags == 0 and count == len(sections)
             and tuple(tag for tag, _ in sections) == TAGS)
    return version, flags, sections, valid


def assemble(version: int, flags: int, sections: Sections, count: int | None = None) -> bytes:
    """Header and frames with correct payload lengths and CRCs."""
    parts = [_HEADER.pack(MAGIC, version, flags, len(sections) if count is None else count)]
    for tag, payload in sections:
        parts += [_FRAME.pack(tag, len(payload), zlib.crc32(payload)), payload]
    return b"".join(parts)


def _restructure(rng: random.Random, version: int, flags: int, sections: Sections) -> bytes:
    """A framing-level change with valid CRCs: section order, presence, count, header fields."""
    sections = list(sections)
    count = None
    choice = rng.randrange(7)
    if choice == 0 and sections:
        del sections[rng.randrange(len(sections))]
    elif choice == 1 and sections:
        at = rng.randrange(len(sections))
        sections.insert(rng.randrange(len(sections) + 1), sections[at])
    elif choice == 2 and len(sections) > 1:
        i, j = rng.sample(range(len(sections)), 2)
        sections[i], sections[j] = sections[j], sections[i]
    elif choice == 3:
        count = rng.choice((0, len(sections) - 1, len(sections) + 1, 0xFFFFFFFF)) % (1 << 32)
    elif choice == 4:
        version = rng.choice((0, 1, FORMAT_VERSION + 1, 0xFFFF))
    elif choice == 5:
        flags = 1 << rng.randrange(16)
    else:
        sections.insert(rng.randrange(len(sections) + 1), (rng.choice((b"XTRA", b"\0\xff\0\1")), b""))
    return assemble(version, flags, sections, count)


def _payload_room(sections: Sections, index: int, max_size: int) -> int:
    overhead = _HEADER.size + _FRAME.size * len(sections)
    others = sum(len(p) for i, (_, p) in enumerate(sections) if i != index)
    return max(0, max_size - overhead - others)


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's custom mutator: mutations that keep (or deliberately break) the framing."""
    rng = random.Random(seed)
    parsed = split(data)
    if parsed is None:
        if rng.random() < 0.5:
            return _remember(data, atheris.Mutate(data, max_size))
        parsed = split(SKELETON)
        assert parsed is not None
    version, flags, sections, _ = parsed
    op = rng.random()
    if op < 0.05 or not sections:
        out = atheris.Mutate(data, max_size)  # raw: CRC and framing checks stay fuzzed
    elif op < 0.15:
        out = _restructure(rng, version, flags, sections)
    else:
        index = rng.randrange(len(sections))
        tag, payload = sections[index]
        if op < 0.35 and len(payload) >= 4:
            at = rng.randrange(len(payload) - 3)
            value = rng.choice(INTERESTING_U32)
            new = payload[:at] + struct.pack("<I", value) + payload[at + 4 :]
        else:
            new = payload
            for _ in range(4):  # Mutate may hand back the same bytes
                new = atheris.Mutate(payload, _payload_room(sections, index, max_size))
                if new != payload:
                    break
        sections = list(sections)
        sections[index] = (tag, new)
        out = assemble(version, flags, sections)
    return _remember(data, out[:max_size])


# -- liveness counters (a fuzzer that fuzzes nothing is the classic bug) ------------------------

_STATS_PATH = os.environ.get("RESUMEFUZZ_SNAPSHOT_FUZZ_STATS")
_stats = {"inputs": 0, "mutants": 0, "mutants_framed": 0, "mutants_accepted": 0}
_last_mutant: bytes | None = None


def _remember(parent: bytes, mutant: bytes) -> bytes:
    """Note the mutator's output (libFuzzer runs each mutant right after making it)."""
    global _last_mutant
    _last_mutant = mutant if mutant != parent else None
    return mutant


def _count(data: bytes, accepted: bool) -> None:
    before = dict(_stats)
    _stats["inputs"] += 1
    if _last_mutant is not None and data == _last_mutant:
        _stats["mutants"] += 1
        parsed = split(data)
        if parsed is not None and parsed[3]:
            _stats["mutants_framed"] += 1
            _stats["mutants_accepted"] += accepted
    # libFuzzer ends the process without running Python exit handlers: write as we go
    if _stats["inputs"] % 128 == 0 or any(before[k] == 0 < _stats[k] for k in _stats):
        from resumefuzz.files import write_atomic  # imported late: snapshot.py is instrumented above

        assert _STATS_PATH is not None
        write_atomic(Path(_STATS_PATH), json.dumps(_stats))


def TestOneInput(data: bytes) -> None:
    try:
        snapshot = decode(data)
    except SnapshotError:
        accepted = False
    else:
        assert encode(snapshot) == data, "an accepted snapshot must re-encode byte-identically"
        accepted = True
    if _STATS_PATH:
        _count(data, accepted)


if __name__ == "__main__":
    if os.environ.get("RESUMEFUZZ_SNAPSHOT_FUZZ_RAW"):
        atheris.Setup(sys.argv, TestOneInput)
    else:
        atheris.Setup(sys.argv, TestOneInput, custom_mutator=mutate)
    atheris.Fuzz()
