"""atheris target: the Hypothesis property `transparent` (structured programs × schedules).

    .venv/bin/python fuzz/structured_fuzzer.py -max_len=16384 -len_control=0 -max_total_time=600 [CORPUS_DIR]

atheris supplies the bytes; Hypothesis turns them into a program and a
schedule through `fuzz_one_input` (short inputs cannot hold a program: hence the
flags).  RESUMEFUZZ_ENGINE selects the engine.
"""

import sys

import atheris

with atheris.instrument_imports():
    from resumefuzz.fuzz.properties import transparent

if __name__ == "__main__":
    atheris.Setup(sys.argv, transparent.hypothesis.fuzz_one_input)
    atheris.Fuzz()
