"""atheris target: the Hypothesis property `transparent` (structured programs × schedules).

    .venv/bin/python fuzz/structured_fuzzer.py -max_len=16384 -len_control=0 -max_total_time=600 [CORPUS_DIR]
    .venv/bin/python fuzz/structured_fuzzer.py --example-db redis://HOST:PORT/DB -max_len=16384 ...

atheris supplies the bytes; Hypothesis turns them into a program and a
schedule through `fuzz_one_input` (short inputs cannot hold a program: hence the
flags).  RESUMEFUZZ_ENGINE selects the engine.  A failing input is also saved to
Hypothesis' example database (fuzz/settings.py: the local directory, shared through
Redis with --example-db or RESUMEFUZZ_REDIS_URL), where `pytest` and `resumefuzz replay
--example-db` on any machine replay it.
"""

import sys

import atheris

with atheris.instrument_imports():
    from resumefuzz.errors import BadInput
    from resumefuzz.fuzz import settings as profiles

    try:  # the profile (and its database) must be loaded before @given reads it, at the import below
        profiles.register(profiles.pop_example_db(sys.argv))
    except BadInput as exc:
        print(f"structured_fuzzer: error: {exc}", file=sys.stderr)
        sys.exit(2)
    from resumefuzz.fuzz.properties import transparent

if __name__ == "__main__":
    atheris.Setup(sys.argv, transparent.hypothesis.fuzz_one_input)
    atheris.Fuzz()
