"""Every planted restore fault must be caught, under the facet it is declared with.

A harness that cannot see a broken restore proves nothing.  For each fault in
``resumefuzz.engines.faults.FAULTS`` there is a program where that fault
matters; `check` must report DIVERGENT (exit 1) naming the fault's facet with
``--engine faulty:NAME``, and EQUAL (exit 0) on the same program with the
real engine, so the difference comes from the fault alone.  A fault added
without a program here fails ``test_every_fault_has_a_program`` (the
host-state faults, ``WASI_FAULTS``, have theirs in test_wasi_faults.py).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from resumefuzz.cli import main
from resumefuzz.engines.asyncify import AsyncifyEngine
from resumefuzz.engines.faults import ELSEWHERE_FAULTS, FAULTS, FLAG_FAULTS, WASI_FAULTS
from resumefuzz.errors import BadInput
from resumefuzz.testing import PROGRAMS

#: Suspends at every crossing once, plus single and random suspensions.
FAST = "every;spread:8;random:4x3"

# ---------------------------------------------------------------------------
# one program per fault

HIDDEN_GLOBAL = """
(module
  ;; the first mutable global, not exported: the one skip-hidden-global forgets
  (global $hidden (mut i32) (i32.const 0))
  (global $shown (export "shown") (mut i32) (i32.const 0))
  (func (export "run") (local $i i32)
    (loop $l
      (global.set $hidden (i32.add (global.get $hidden) (i32.const 3)))
      (global.set $shown (i32.add (global.get $shown) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))))
"""

# An f32 signalling NaN.  (An f64 one would not do: on x86-64 the f64 round
# trip through a Python float keeps its bits, so the fault changes nothing.)
SIGNALLING_NAN = """
(module
  (global $nan (mut f32) (f32.const 0))
  (func (export "run") (local $i i32)
    (global.set $nan (f32.reinterpret_i32 (i32.const 0x7fa00001)))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))))
"""

GROWN_MEMORY = """
(module
  (memory 1)
  (func (export "run") (local $i i32)
    (drop (memory.grow (i32.const 1)))
    ;; data in the grown page, written before the suspensions
    (i32.store (i32.const 65540) (i32.const 0xfeedface))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    ;; the size as seen after the suspensions, recorded in page 0
    (i32.store (i32.const 0x123) (memory.size))))
"""

OUTPUTS = """
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (local $i i32)
    (loop $l
      (call $out (i32.mul (local.get $i) (i32.const 0x1111)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))))
"""

INPUTS = """
(module
  (import "host" "in_i32" (func $in (result i32)))
  (import "host" "out_i32" (func $out (param i32)))
  ;; every input read is emitted, so re-reading the stream shows in the output
  (func (export "run") (local $i i32)
    (loop $l
      (call $out (call $in))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))))
"""

START_OUTPUT = """
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func $init (call $out (i32.const 0x57a27)))
  (start $init)
  (func (export "run") (local $i i32)
    (loop $l
      (call $out (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))))
"""

TABLE = """
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  ;; two distinct functions in the table, reached by call_indirect after resumes
  (table 3 funcref)
  (elem (i32.const 0) func $inc $dbl $inc)
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "run") (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (call_indirect (type $op) (local.get $acc) (i32.rem_u (local.get $i) (i32.const 3))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (local.get $acc)))
"""

LAST_BYTE = """
(module
  (memory 1 1)
  (func (export "run") (local $i i32)
    (loop $l
      (i32.store8 (i32.const 65535) (i32.add (local.get $i) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))))
"""

# Two globals of one type that differ: swapping them on restore is visible.
TWO_GLOBALS = """
(module
  (global $a (mut i64) (i64.const 1))
  (global $b (mut i64) (i64.const 1000))
  (func (export "run") (result i64) (local $i i32)
    (loop $l
      (global.set $a (i64.add (global.get $a) (i64.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (i64.sub (global.get $b) (global.get $a))))
"""

# Live locals of every frame feed the result: losing saved resume data shows.
LIVE_LOCALS = PROGRAMS["deep-calls"]

# A 64-bit memory grown before the suspensions, its new pages read after them.
MEMORY64_GROWN = """
(module
  (memory i64 1 4)
  (func (export "run") (result i64) (local $i i64)
    (drop (memory.grow (i64.const 2)))
    (i64.store (i64.const 0x2fff8) (i64.const 0x0123456789abcdef))
    (loop $l
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (i64.const 3))))
    (i64.store (i64.const 0x120) (memory.size))
    (i64.load (i64.const 0x2fff8))))
"""

_CASES = Path(__file__).resolve().parents[2] / "corpus" / "cases"

PROGRAM_FOR_FAULT = {
    "skip-hidden-global": HIDDEN_GLOBAL,
    "quiet-nan": SIGNALLING_NAN,
    "skip-memory-grow": GROWN_MEMORY,
    "drop-output": OUTPUTS,
    "duplicate-output": OUTPUTS,
    "restart-input": INPUTS,
    "rerun-start": START_OUTPUT,
    "corrupt-table-entry": TABLE,
    "zero-last-byte": LAST_BYTE,
    "lose-local": LIVE_LOCALS,
    "truncate-resume-buffer": LIVE_LOCALS,
    "swap-globals": TWO_GLOBALS,
    "stale-snapshot": OUTPUTS,
    "uninstrumented-import": OUTPUTS,
    "wrong-list": (_CASES / "call-chain-only-list.wat").read_text(),
    "truncate-memory64": MEMORY64_GROWN,
    # issue 12's state kinds: the corpus modules written for them
    "lose-table-growth": (_CASES / "table-mutation-across-suspension.wat").read_text(),
    "forget-drops": (_CASES / "dropped-segment-read-after-suspension.wat").read_text(),
    "skip-second-memory": (_CASES / "two-memories-grown-and-copied.wat").read_text(),
}

# ---------------------------------------------------------------------------
# helpers


def check(capsys: pytest.CaptureFixture[str], module: Path, *args: str) -> tuple[int, str]:
    """Run `resumefuzz check MODULE ARGS` in-process; return (exit code, printed report)."""
    code = main(["check", str(module), *args])
    return code, capsys.readouterr().out


def headline_facets(report: str) -> set[str]:
    match = re.match(r"resumefuzz check: DIVERGENT: (.+)\n", report)
    assert match, report
    return set(match[1].split(", "))


@pytest.fixture
def program(tmp_path: Path):
    def write(fault: str) -> Path:
        path = tmp_path / f"{fault}.wat"
        path.write_text(PROGRAM_FOR_FAULT[fault])
        return path
    return write


# ---------------------------------------------------------------------------
# every fault is caught


def test_every_fault_has_a_program():
    # those: tests/unit/test_wasi_faults.py; flag faults (yield-point mode flag): tests/unit/test_flag.py
    # restore-elsewhere faults (--restore-in process): tests/unit/test_hop.py
    assert PROGRAM_FOR_FAULT.keys() == FAULTS.keys() - WASI_FAULTS - FLAG_FAULTS - ELSEWHERE_FAULTS


@pytest.mark.parametrize("fault", sorted(PROGRAM_FOR_FAULT))
def test_fault_is_caught_under_its_facet(capsys, program, fault):
    module = program(fault)
    code, report = check(capsys, module, "--engine", f"faulty:{fault}", "--schedule", FAST)
    assert code == 1, report
    assert FAULTS[fault][1] in headline_facets(report), report
    # a restore fault: the transform alone (A vs B) is fine, the interrupted runs are not
    assert "== B vs C" in report and "== A vs B" not in report


@pytest.mark.parametrize("fault", sorted(PROGRAM_FOR_FAULT))
def test_same_program_is_equal_with_the_real_engine(capsys, program, fault):
    module = program(fault)
    code, report = check(capsys, module, "--engine", "asyncify", "--schedule", FAST)
    assert code == 0, report
    assert report.startswith("resumefuzz check: EQUAL")


def test_a_fault_keeps_its_state_per_run(capsys, program):
    """stale-snapshot restores the previous snapshot *of the same run*: a run that suspends once has
    none, even after an earlier run of the same module (its state lives in the run context)."""
    from resumefuzz import check, wasmtools
    from resumefuzz.engines import get_engine

    wasm = wasmtools.load_module(program("stale-snapshot"))
    verdict = check(wasm, get_engine("faulty:stale-snapshot"), schedule="every;at:20;at:30")
    assert verdict.status == "divergent" and verdict.schedules == 3
    assert [f.schedule.label for f in verdict.findings] == ["every:1"]


# ---------------------------------------------------------------------------
# the report gives context for each kind of divergence


def test_memory_divergence_report_shows_offset_and_hexdump(capsys, program):
    # crossing 20 is in the loop: after the store to the grown page, before the final store
    code, report = check(capsys, program("skip-memory-grow"), "--engine", "faulty:skip-memory-grow",
                         "--schedule", "at:20")
    assert code == 1
    assert "[memory] memory m0 size" in report
    assert "first difference at offset 0x123 (page 0)" in report
    # both runs' hexdumps mark the row holding offset 0x123
    marked = re.findall(r"^\s+> 00000120  ([0-9a-f ]+?)\s+\|", report, re.MULTILINE)
    assert len(marked) == 2
    assert marked[0].split()[3] == "02" and marked[1].split()[3] == "01"  # memory.size: B 2 pages, C 1


def test_global_divergence_report_shows_both_values_in_hex(capsys, program):
    code, report = check(capsys, program("quiet-nan"), "--engine", "faulty:quiet-nan", "--schedule", "at:5")
    assert code == 1
    assert "[global] global g0 $nan (f32)" in report
    assert "B: f32:0x7fa00001 (sNaN payload 0x200001)" in report
    assert "C[at:5]: f32:0x7fe00001 (qNaN payload 0x600001)" in report


def test_output_divergence_report_shows_first_differing_event(capsys, program):
    # crossing 20 is in the second iteration: after event #1 (0x1111), which the fault then drops
    code, report = check(capsys, program("drop-output"), "--engine", "faulty:drop-output", "--schedule", "at:20")
    assert code == 1
    assert "first difference at event 1 (B: 5 events, C[at:20]: 4 events)" in report
    marked = re.findall(r"^\s+> #1: (\S+)", report, re.MULTILINE)
    assert marked == ["i32:0x00001111", "i32:0x00002222"]


def test_table_divergence_report_names_the_entry(capsys, program):
    code, report = check(capsys, program("corrupt-table-entry"), "--engine", "faulty:corrupt-table-entry",
                         "--schedule", "at:5")
    assert code == 1
    assert "[table] table t0 entry 0" in report
    assert re.search(r"B: function \d+\n\s+C\[at:5\]: function \d+", report)


def test_replay_line_reproduces_a_fault(capsys, program):
    code, report = check(capsys, program("drop-output"), "--engine", "faulty:drop-output", "--schedule", "at:20")
    assert code == 1
    replay = next(line for line in report.splitlines() if line.startswith("replay:   "))
    argv = shlex.split(replay.removeprefix("replay:"))
    assert argv[0] == "resumefuzz"
    assert main(argv[1:]) == 1


# Every oracle facet has a planted fault that the oracle reports under it.
FACET_WITNESS = {
    "trap": "skip-memory-grow",  # reading the never-grown pages traps after resume
    "result": "corrupt-table-entry",  # call_indirect reaches the wrong function
    "output": "drop-output",
    "memory": "skip-memory-grow",
    "global": "skip-hidden-global",
    "table": "corrupt-table-entry",
    "crossings": "rerun-start",  # the re-run start function crosses extra yield points
}


def test_every_facet_has_a_witness() -> None:
    """A facet of WASI programs (stdout, stderr, exit, files, clock) has its witness among the host-state
    faults, caught under it in tests/unit/test_wasi_faults.py; every other facet here."""
    from resumefuzz.oracles import FACETS

    assert set(FACET_WITNESS) | {FAULTS[f][1] for f in WASI_FAULTS} == set(FACETS)
    # the facets the checker judges about a run: the flag faults (tests/unit/test_flag.py) and the
    # restore-elsewhere faults (tests/unit/test_hop.py) are their witnesses
    from resumefuzz.engines.faults import ELSEWHERE_FAULTS, FLAG_FAULTS
    from resumefuzz.oracles import RUN_FACETS

    assert set(RUN_FACETS) <= {FAULTS[f][1] for f in FLAG_FAULTS | ELSEWHERE_FAULTS}


@pytest.mark.parametrize("facet", sorted(FACET_WITNESS))
def test_each_facet_catches_a_planted_fault(capsys, program, facet):
    fault = FACET_WITNESS[facet]
    code, report = check(capsys, program(fault), "--engine", f"faulty:{fault}")
    assert code == 1
    assert facet in headline_facets(report)


# ---------------------------------------------------------------------------
# a fault planted into any engine: faulty:FAULT@BASE[,BASE-OPTIONS]


def test_specs_without_a_base_keep_their_meaning() -> None:
    """faulty:FAULT is Asyncify with the fault, recorded exactly as before bases existed."""
    from resumefuzz import binaryen
    from resumefuzz.engines import get_engine
    from resumefuzz.engines.asyncify import AsyncifyEngine

    engine = get_engine("faulty:lose-local,optimize-level=2")
    assert type(engine.base) is AsyncifyEngine and engine.base.name == "asyncify"
    assert engine.spec() == "faulty:lose-local,optimize-level=2" and engine.given == {"optimize_level"}
    assert engine.config_json() == ('{"asserts":false,"buffer_pages":16,"engine":"faulty","list":"none","optimize_after":false,'
                                    '"optimize_before":false,"optimize_level":2,"shrink_level":0,'
                                    f'"version":"{binaryen.default_version()}","fault":"lose-local"}}')
    assert get_engine("faulty:lose-local@asyncify,optimize-level=2").spec() == engine.spec()


def test_a_fault_is_planted_into_the_base_its_spec_names() -> None:
    from resumefuzz import binaryen
    from resumefuzz.campaign import parse_engines
    from resumefuzz.engines import draw_spec, get_engine
    from resumefuzz.engines.command import CommandEngine

    spec = "faulty:drop-output@asyncify-compatible,cp {in} {out}"
    engine = get_engine(spec)
    assert type(engine.base) is CommandEngine and engine.base.config["command"] == "cp {in} {out}"
    assert engine.spec() == spec and get_engine(engine.spec()).config_json() == engine.config_json()
    assert engine.config_json() == ('{"command":"cp {in} {out}","engine":"faulty","base":"asyncify-compatible",'
                                    '"fault":"drop-output"}')
    engine.transform_timeout = 3.0  # --transform-timeout reaches the base's command
    assert engine.base.transform_timeout == 3.0 and not hasattr(get_engine("faulty:drop-output"), "transform_timeout")
    assert draw_spec(spec, lambda salt, choices: choices[-1]) == spec  # a command has no option space
    # a base given by bare name has its options drawn; the spec survives --engines lists
    drawn = draw_spec("faulty:drop-output@asyncify", lambda salt, choices: choices[0])
    assert drawn == "faulty:drop-output,buffer-pages=1,version=" + binaryen.default_version()  # a drawn release is recorded
    assert parse_engines("asyncify,faulty:drop-output@asyncify,buffer-pages=2") == (
        "asyncify", "faulty:drop-output@asyncify,buffer-pages=2")


class _OwnRestore(AsyncifyEngine):
    """A base engine with a restore of its own (it counts them)."""

    def __init__(self, **config: object) -> None:
        super().__init__(**config)
        self.restores = 0

    def restore(self, machine, snapshot, context):  # type: ignore[no-untyped-def]
        self.restores += 1
        super().restore(machine, snapshot, context)


def test_a_restore_fault_goes_through_the_base_engines_own_restore(program) -> None:
    from resumefuzz import check, wasmtools
    from resumefuzz.engines.faults import FaultyEngine

    base = _OwnRestore()
    verdict = check(wasmtools.load_module(program("drop-output")), FaultyEngine("drop-output", base),
                    schedule="at:20")
    assert verdict.status == "divergent" and "output" in verdict.facets
    assert base.restores == 1


def test_a_fault_that_cannot_be_planted_into_a_base_is_refused_and_skipped_by_selftest() -> None:
    from resumefuzz import selftest
    from resumefuzz.engines import get_engine
    from resumefuzz.engines.faults import FaultyEngine, inapplicable

    command = "asyncify-compatible:cp {in} {out}"
    with pytest.raises(BadInput, match="uninstrumented-import is planted in Binaryen's Asyncify transform, which "
                                       "engine asyncify-compatible does not use"):
        get_engine("faulty:uninstrumented-import@asyncify-compatible,cp {in} {out}")
    assert inapplicable("uninstrumented-import", _OwnRestore()) is None  # it inherits Asyncify's transform
    assert FaultyEngine("uninstrumented-import", _OwnRestore()).fault == "uninstrumented-import"
    with pytest.raises(BadInput, match="name the base engine after '@'"):
        get_engine("faulty:drop-output@")
    with pytest.raises(BadInput, match=r"the base engine \(faulty:lose-local\) already has a planted fault"):
        get_engine("faulty:drop-output@faulty,lose-local")
    planned = selftest.plan(["drop-output", "uninstrumented-import"], command)
    assert [(p.fault, p.spec, p.skipped is not None) for p in planned] == [
        ("drop-output", "faulty:drop-output@asyncify-compatible,cp {in} {out}", False),
        ("uninstrumented-import", "faulty:uninstrumented-import@asyncify-compatible,cp {in} {out}", True),
        (selftest.CORRECT, command, False)]
    rows = selftest.run(planned[1:2], budget=1, jobs=1, seed=0, out=Path("unused"), log=lambda line: None)
    assert rows[0].ok and not rows[0].found
    rows.append(selftest.Row(selftest.CORRECT, False, 1.0, 3, None, None, [], "-", command))
    text = selftest.table(rows)
    assert text.startswith(f"engine: {command} (faults planted as faulty:FAULT@asyncify-compatible,cp {{in}} {{out}})")
    assert "| uninstrumented-import | skipped: uninstrumented-import is planted in Binaryen's Asyncify" in text
    with pytest.raises(BadInput, match="already has a planted fault"):
        selftest.plan(["drop-output"], "faulty:lose-local")
