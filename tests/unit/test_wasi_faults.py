"""Every planted host-state fault is caught on a compiled WASI program, under the facet it names.

For each fault of ``resumefuzz.engines.faults.WASI_FAULTS`` a small C program (built by
``resumefuzz.compiler`` for wasm32-wasi, from its cache after the first time) uses the host state
the fault breaks, with a loop between its uses so that ``--yield-points loop`` puts suspensions
there.  ``faulty:FAULT`` must make the interrupted runs diverge on the fault's facet, and the
real engine must find the same program, schedule and inputs EQUAL, so the difference comes from
the fault alone.  A program that never exposes that state is left alone by every fault (a
no-op), and the csmith generator's host-I/O cases (``fuzz/csmith_platform``) are what
campaigns reach them with.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from resumefuzz import check, compiler
from resumefuzz.checker import DIVERGENT, EQUAL
from resumefuzz.engines import get_engine
from resumefuzz.engines.faults import FAULTS, WASI_FAULTS
from resumefuzz.wasi import WasiInputs

pytest.importorskip("ziglang")

#: single suspensions spread over the run, then a few runs suspending three times at random
SCHEDULE = "spread:6;random:3x3"
YIELD_POINTS = "loop"

#: a loop between two uses of host state: its header is where the suspensions fall
_SPIN = "static void spin(void) { volatile unsigned x = 0; for (int i = 0; i < 300; i++) x += i; }\n"

# stdout written line by line (write(2): no libc buffer) with suspensions between the lines
STDOUT_LINES = r'''
#include <stdio.h>
#include <string.h>
#include <unistd.h>
''' + _SPIN + r'''
int main(void) {
  char line[32];
  for (int i = 0; i < 6; i++) {
    int n = snprintf(line, sizeof line, "line %d\n", i);
    write(1, line, n);
    spin();
  }
  return 0;
}
'''

# a file open across the suspensions, written at its offset on both sides of them
OPEN_FILE = r'''
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
''' + _SPIN + r'''
int main(void) {
  int fd = open("log.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  write(fd, "header\n", 7);
  spin();
  write(fd, "body\n", 5);
  close(fd);
  return 0;
}
'''

# the monotonic clock read on both sides of the suspensions
CLOCK = r'''
#include <stdio.h>
#include <time.h>
''' + _SPIN + r'''
int main(void) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  clock_gettime(CLOCK_MONOTONIC, &a);  /* past the clock's initial value */
  spin();
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("forwards: %d\n", (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec) >= 0);
  return 0;
}
'''

# random bytes read on both sides of the suspensions, printed
RANDOM = r'''
#include <stdio.h>
#include <sys/random.h>
''' + _SPIN + r'''
int main(void) {
  unsigned char a[8], b[8];
  getentropy(a, sizeof a);
  spin();
  getentropy(b, sizeof b);
  for (int i = 0; i < 8; i++) printf("%02x%02x ", a[i], b[i]);
  printf("\n");
  return 0;
}
'''

# no output, file, clock or random bytes (its result is its exit code): every host-state fault
# has nothing to perturb
QUIET = r'''
int main(void) {
  volatile unsigned x = 0;
  for (int i = 0; i < 2000; i++) x += i * 7;
  return x % 61;
}
'''

# stderr written on both sides of the suspensions
STDERR_LINES = r'''
#include <unistd.h>
''' + _SPIN + r'''
int main(void) {
  write(2, "warming up\n", 11);
  spin();
  write(2, "done\n", 5);
  return 0;
}
'''

# the exit code comes from an environment variable read only after the suspensions (wasi-libc reads
# the environment at the first getenv)
ENV_EXIT = r'''
#include <stdlib.h>
''' + _SPIN + r'''
int main(void) {
  spin();
  const char *code = getenv("EXIT_CODE");
  return code ? atoi(code) : 0;
}
'''

PROGRAM_FOR_FAULT = {
    "lose-stdout-tail": STDOUT_LINES,
    "repeat-stdout": STDOUT_LINES,
    "reset-file-offset": OPEN_FILE,
    "close-descriptor": OPEN_FILE,
    "restart-clock": CLOCK,
    "restart-random": RANDOM,
    "lose-stderr": STDERR_LINES,
    "lose-environment": ENV_EXIT,
}
#: the inputs a program runs with (default: none)
INPUTS_FOR_PROGRAM = {ENV_EXIT: WasiInputs(env=(("EXIT_CODE", "7"),))}


@functools.cache
def build(source: str) -> bytes:
    """SOURCE built at -O2 (-O0 would read random_get for a stack canary at start-up)."""
    return compiler.compile_c(source, "-O2").wasm


def judge(source: str, engine: str, wasi: WasiInputs | None = None):  # type: ignore[no-untyped-def]
    inputs = wasi if wasi is not None else INPUTS_FOR_PROGRAM.get(source, WasiInputs())
    return check(build(source), get_engine(engine), schedule=SCHEDULE, yield_points=YIELD_POINTS, wasi=inputs)


def test_every_host_state_fault_has_a_program_and_a_wasi_facet() -> None:
    assert PROGRAM_FOR_FAULT.keys() == WASI_FAULTS and WASI_FAULTS <= FAULTS.keys()
    assert {FAULTS[f][1] for f in WASI_FAULTS} == {"stdout", "stderr", "exit", "files", "clock"}


@pytest.mark.parametrize("fault", sorted(WASI_FAULTS))
def test_fault_is_caught_under_its_facet(fault: str) -> None:
    verdict = judge(PROGRAM_FOR_FAULT[fault], f"faulty:{fault}")
    assert verdict.status == DIVERGENT, verdict.report
    assert FAULTS[fault][1] in verdict.facets, verdict.report
    assert verdict.suspensions > 0
    # the transform alone is fine: only interrupted runs diverge
    assert "== B vs C" in verdict.report and "== A vs B" not in verdict.report


@pytest.mark.parametrize("source", sorted(set(PROGRAM_FOR_FAULT.values())), ids=lambda s: s.split("int main")[0][-40:])
def test_the_same_program_is_equal_with_the_real_engine(source: str) -> None:
    verdict = judge(source, "asyncify")
    assert verdict.status == EQUAL, verdict.report
    assert verdict.suspensions > 0 and verdict.wasi is not None


def test_what_each_fault_does_to_the_program() -> None:
    """The divergences are the ones the faults describe, seen in the report's detail."""
    lost = judge(STDOUT_LINES, "faulty:lose-stdout-tail").report
    repeated = judge(STDOUT_LINES, "faulty:repeat-stdout").report
    assert "[stdout]" in lost and "[stdout]" in repeated
    assert "[files] file log.txt" in judge(OPEN_FILE, "faulty:reset-file-offset").report
    assert "[files] file log.txt" in judge(OPEN_FILE, "faulty:close-descriptor").report
    assert "[stderr]" in judge(STDERR_LINES, "faulty:lose-stderr").report
    exited = judge(ENV_EXIT, "faulty:lose-environment")
    assert "[exit]" in exited.report and exited.wasi is not None, exited.report
    assert "exit code 7" in exited.report  # run A saw the variable; the resumed runs did not
    clock = judge(CLOCK, "faulty:restart-clock")
    assert "monotonic went backwards" in clock.report and "stdout" in clock.facets, clock.report  # forwards: 0


@pytest.mark.parametrize("fault", sorted(WASI_FAULTS))
def test_a_fault_with_nothing_to_perturb_is_a_no_op(fault: str) -> None:
    verdict = judge(QUIET, f"faulty:{fault}")
    assert verdict.status == EQUAL, verdict.report
    assert verdict.suspensions > 0


@pytest.mark.parametrize("fault", sorted(WASI_FAULTS))
def test_a_program_without_wasi_is_left_alone(fault: str, tmp_path: Path) -> None:
    from resumefuzz import wasmtools

    wat = """
    (module
      (import "host" "out_i32" (func $out (param i32)))
      (func (export "run") (local $i i32)
        (loop $l
          (call $out (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))))
    """
    path = tmp_path / "outputs.wat"
    path.write_text(wat)
    verdict = check(wasmtools.load_module(path), get_engine(f"faulty:{fault}"), schedule="every")
    assert verdict.status == EQUAL, verdict.report


# ---------------------------------------------------------------------------
# the csmith generator's host-I/O cases


def test_host_io_cases_are_drawn_from_the_seed_and_plain_cases_stay_as_they_were() -> None:
    from resumefuzz.fuzz.csmith import CsmithGenerator, HOST_IO_IMPORTS, PLATFORM_DIR, host_io

    io = [seed for seed in range(64) if host_io(seed)]
    assert 16 < len(io) < 48  # about half
    generator = CsmithGenerator()
    plain_seed, io_seed = next(s for s in range(64) if not host_io(s)), io[0]
    plain, case = generator.generate(plain_seed, "c"), generator.generate(io_seed, "c")
    assert "host_io" not in plain.record and plain.wasi == WasiInputs(args=("program",))
    assert not any(str(PLATFORM_DIR) in flag for flag in plain.record["cc_flags"])
    assert case.record["host_io"] is True
    assert case.wasi == WasiInputs(args=("program", "1"), env=(("RESUMEFUZZ_EXIT", "3"),))
    assert f"-I{PLATFORM_DIR}" in case.record["cc_flags"]
    assert generator.generate(io_seed, "c").wasm == case.wasm  # deterministic in the seed
    import wasmtime

    imported = {item.name for item in wasmtime.Module(wasmtime.Engine(), case.wasm).imports}
    assert {"path_open", "clock_time_get", "random_get"} <= imported <= HOST_IO_IMPORTS | {
        "args_get", "args_sizes_get", "fd_close", "fd_fdstat_get", "fd_seek", "fd_write", "proc_exit"}


def test_a_host_io_case_writes_its_file_and_prints_as_it_goes() -> None:
    """The host-I/O hooks run, under wasmtime's own WASI as under the harness's: the file holds the
    begin line and the checksum, stdout has Csmith's per-global checksums (argv[1] == "1"), the
    file read back, and says the monotonic clock went forwards."""
    import re

    from resumefuzz.fuzz.csmith import CsmithGenerator, host_io
    from resumefuzz.wasi.reference import reference_run

    seed = next(s for s in range(64) if host_io(s))
    case = CsmithGenerator().generate(seed, "c")
    assert case.wasi is not None
    outcome = reference_run(case.wasm, case.wasi, fuel=10**10)
    assert not isinstance(outcome, str), outcome
    stdout, files = outcome.stdout.decode(), dict(outcome.files)
    # the exit code is the environment's (read after the computation), stderr has both hooks' lines
    assert outcome.exit_code == 3 and list(files) == ["csmith.log"], (outcome.exit_code, list(files))
    assert outcome.stderr == b"begin\nend\n"
    log = files["csmith.log"].decode()
    assert re.fullmatch(r"begin: fd 4 random [0-9a-f]{16}\nchecksum = [0-9A-F]+\nrandom [0-9a-f]{16} .*\n"
                        r"elapsed \d+ ns .*\n", log), log
    assert stdout.startswith(log.splitlines(keepends=True)[0]) and "...checksum after hashing " in stdout
    assert f"csmith.log holds {len(log)} bytes:\n{log}monotonic: elapsed >= 0: yes\n" in stdout, stdout
    # the harness's own host runs it the same way, suspended or not
    verdict = check(case.wasm, get_engine("asyncify"), schedule="spread:2", yield_points=YIELD_POINTS, wasi=case.wasi)
    assert verdict.status == EQUAL and verdict.suspensions == 2, verdict.report
