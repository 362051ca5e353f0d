"""atheris target: raw bytes into the snapshot decoder, which may only raise SnapshotError.

    .venv/bin/python fuzz/snapshot_fuzzer.py -runs=100000 [CORPUS_DIR]
"""

import sys

import atheris

with atheris.instrument_imports():
    from resumefuzz.snapshot import SnapshotError, decode, encode


def TestOneInput(data: bytes) -> None:
    try:
        snapshot = decode(data)
    except SnapshotError:
        return
    assert encode(snapshot) == data, "an accepted snapshot must re-encode byte-identically"


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
