"""atheris target: raw bytes → wasm-smith program → `resumefuzz check` must not diverge.

    .venv/bin/python fuzz/transparency_fuzzer.py -max_total_time=600 [CORPUS_DIR]

wasm-smith consumes the fuzzer's bytes directly (its native input).
Environment: RESUMEFUZZ_ENGINE (default asyncify), RESUMEFUZZ_SMITH_PROFILE (default core).
"""

import os
import sys

import atheris

with atheris.instrument_imports():
    from resumefuzz.checker import DIVERGENT, check
    from resumefuzz.engines import get_engine
    from resumefuzz.errors import Unsupported
    from resumefuzz.fuzz import smith

ENGINE = get_engine(os.environ.get("RESUMEFUZZ_ENGINE", "asyncify"))
PROFILE = os.environ.get("RESUMEFUZZ_SMITH_PROFILE", "core")


def TestOneInput(data: bytes) -> None:
    case = smith.generate(PROFILE, data)
    try:
        verdict = check(case.wasm, ENGINE, seed=len(data), schedule="quick")
    except Unsupported:
        return
    assert verdict.status != DIVERGENT, verdict.report


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
