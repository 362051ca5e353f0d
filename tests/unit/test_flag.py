"""Yield-point mode `flag`: the injected flag polling, the Flag the runner and a control thread share,
the planted flag faults, judged through schedules (deterministic), the audit of the prepared module's flag
accesses, and the engine run state that crosses processes with a hop."""

from __future__ import annotations

import ctypes
import threading

import pytest

from resumefuzz import wasmtools
from resumefuzz.abi import FLAG_KEY, FLAG_MEMORY, FlagAudit, flag_audit
from resumefuzz.checker import Judge, check_signal
from resumefuzz.control import DELAY, ControlThread, Flag
from resumefuzz.engines import get_engine
from resumefuzz.errors import BadInput
from resumefuzz.instrumentation import load_text, observe
from resumefuzz.moduletext import ModuleText
from resumefuzz.preparation import prepare
from resumefuzz.schedule import Schedule
from resumefuzz.yieldpoints import CALL, LOOP, YieldPoints, inject

PROGRAM = wasmtools.parse("""
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (func $step (param $i i32) (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (local.get $i)))
    (global.set $g (i32.xor (global.get $g) (i32.mul (local.get $i) (i32.const 31))))
    (global.get $g))
  (func (export "run") (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (call $step (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 50))))
    (call $out (local.get $s))
    (i32.load (i32.const 0))))
""")


def _yield_function(module: ModuleText) -> list[str]:
    poll = next(fn for fn in module.funcs if fn.field is not None
                and any("atomic.load8_u" in line for line in fn.field.lines))
    assert poll.field is not None
    return [line.strip() for line in poll.field.lines]


def test_flag_mode_polls_a_shared_memory_of_its_own_and_clears_it_on_resume() -> None:
    injected = inject(observe(PROGRAM).wasm, YieldPoints.parse("flag"))
    text = wasmtools.print_text(injected.wasm)
    module = load_text(injected.wasm)
    flag = module.export_map("memory")[FLAG_MEMORY]
    shared = [m for m in module.memories if m.shared]
    assert [m.name for m in shared] == [flag] and shared[0].index == 1  # after the program's memory 0
    assert f'"__rfz.key.{FLAG_KEY}"' in text
    body = _yield_function(module)
    load = body.index(f"i32.atomic.load8_u {flag}")
    call = next(i for i, line in enumerate(body) if line.startswith("call "))
    assert load < call  # polled, then suspended ...
    assert body[call + 1:call + 4] == ["i32.const 0", "i32.const 0", f"i32.atomic.store8 {flag}"]  # ... then cleared
    assert body.count(f"i32.atomic.store8 {flag}") == 2  # the scheduled crossing raises it itself
    assert set(injected.kinds) == {LOOP, CALL}  # loop heads and after calls (of $step, $out)
    assert injected.kinds.count(CALL) == 2 and injected.kinds.count(LOOP) == 1


def test_other_modes_have_no_flag() -> None:
    injected = inject(observe(PROGRAM).wasm, YieldPoints.parse("loop,call"))
    module = load_text(injected.wasm)
    assert not any(m.shared for m in module.memories) and FLAG_MEMORY not in module.export_map("memory")
    assert not YieldPoints.parse("all").flag and YieldPoints.parse("flag,all").flag


def test_programs_with_a_shared_memory_are_refused() -> None:
    from resumefuzz.errors import Unsupported

    with pytest.raises(Unsupported, match="shared"):
        observe(wasmtools.parse("(module (memory 1 1 shared))"))


def test_flag_raises_only_while_attached_and_clear() -> None:
    byte = ctypes.create_string_buffer(1)
    address = ctypes.addressof(byte)
    flag = Flag()
    assert not flag.raise_()  # nothing attached
    flag.attach(address, byte, 0)
    assert flag.raise_() and byte.raw == b"\x01"
    assert not flag.raise_() and flag.raises == 1  # already set: no second raise
    assert flag.detach() == (1, True)
    assert not flag.raise_()  # detached: the instance may be gone
    flag.attach(address, byte, 1)  # the suspended instance's value travels
    assert flag.detach() == (1, False)  # set, but not raised since the attach: a spurious suspension
    flag.attach(address, byte, 0)
    flag.close()
    assert not flag.raise_() and byte.raw == b"\x00"


def _judge(engine: str) -> Judge:
    return Judge(prepare(PROGRAM, get_engine(engine), YieldPoints.parse("flag")), seed=0)


def test_scheduled_crossings_take_the_flag_path() -> None:
    judge = _judge("asyncify")
    assert judge.transform() is None and not judge.b.spurious
    assert judge.crossings == 101  # 50 loop heads, 50 returns from $step, 1 from $out
    finding, c = judge.interrupted(Schedule("at", (3, 40, 41, 100)))
    assert finding is None and c.suspensions == [3, 40, 41, 100] and not c.spurious
    finding, c = judge.interrupted(Schedule("every", tuple(range(1, 102))))
    assert finding is None and len(c.suspensions) == 101


def test_flag_not_cleared_suspends_again_at_once() -> None:
    judge = _judge("faulty:flag-not-cleared")
    assert judge.transform() is None  # B never raises the flag: nothing to see
    finding, c = judge.interrupted(Schedule("at", (7,)))
    assert c.suspensions == [7] and c.spurious == [8]
    assert finding is not None and "suspensions" in finding.facets


def test_flag_in_program_memory_is_written_by_the_program() -> None:
    judge = _judge("faulty:flag-in-program-memory")
    finding = judge.transform()  # the program's store to address 0 sets the "flag": B suspends by itself
    assert judge.b.spurious and finding is not None and "suspensions" in finding.facets


def test_flag_at_loops_only_leaves_calls_without_yield_points() -> None:
    judge = _judge("faulty:flag-at-loops-only")
    assert judge.crossings == 50  # the loop heads only (the correct module: 101)
    finding, c = judge.interrupted(Schedule("every", tuple(range(1, 51))))
    assert finding is None
    kinds = {judge.prep.site_kinds[p.site] for p in c.probes}
    assert kinds == {LOOP}


def test_signal_thread_needs_flag_yield_points() -> None:
    check_signal("thread", YieldPoints.parse("flag"))
    check_signal("schedule", YieldPoints.parse("all"))
    with pytest.raises(BadInput, match="--yield-points flag"):
        check_signal("thread", YieldPoints.parse("loop,call"))
    with pytest.raises(BadInput, match="--signal"):
        check_signal("sometimes", YieldPoints.parse("flag"))


# -- the flag audit: every access to the flag memory is atomic (abi.flag_audit) ----------------------


def test_the_correct_prepared_module_reads_and_writes_its_flag_only_atomically() -> None:
    judge = _judge("asyncify")
    assert judge.flag_audit == FlagAudit(3, ())  # the poll's load, the scheduled raise and the clear
    assert judge.flag_check() == []
    assert _judge_points("asyncify", "loop,call").flag_audit is None  # no flag memory: nothing to audit


def test_flag_read_non_atomically_is_found_by_the_audit() -> None:
    judge = _judge("faulty:flag-read-non-atomically")
    audit = judge.flag_audit
    assert audit is not None and audit.atomic == 2 and len(audit.violations) == 1
    assert "i32.load8_u reads the flag with a plain (non-atomic) load" in audit.violations[0]
    finding = judge.transform()
    assert finding is not None and finding.facets == ["flag"]  # nothing else differs: only the audit sees it
    finding, _ = judge.interrupted(Schedule("at", (3, 40)))
    assert finding is None  # on this machine the plain load works, which is why a run cannot decide it


def test_a_flag_in_program_memory_is_written_by_plain_program_stores() -> None:
    audit = _judge("faulty:flag-in-program-memory").flag_audit
    assert audit is not None
    assert any("i32.store writes the flag memory without an atomic store" in v for v in audit.violations)


def test_the_audit_reads_every_memory_operand_form() -> None:
    text = wasmtools.print_text(wasmtools.parse("""(module
      (memory $a 1) (memory $flag 1 1 shared) (export "__rfz.flag" (memory $flag))
      (func $f
        (drop (i32.atomic.load8_u $flag (i32.const 0)))
        (drop (i32.atomic.rmw8.add_u $flag (i32.const 0) (i32.const 1)))
        (drop (i32.load $a (i32.const 0)))
        (memory.fill $flag (i32.const 0) (i32.const 0) (i32.const 1))
        (memory.copy $a $flag (i32.const 0) (i32.const 0) (i32.const 1))
        (drop (memory.size $flag))))"""))
    audit = flag_audit(text)
    assert audit is not None and audit.atomic == 2
    assert sorted(v.split(": ", 1)[1] for v in audit.violations) == [
        "memory.copy writes the flag memory without an atomic store (1 site(s))",
        "memory.fill writes the flag memory without an atomic store (1 site(s))"]


def _judge_points(engine: str, points: str) -> Judge:
    return Judge(prepare(PROGRAM, get_engine(engine), YieldPoints.parse(points)), seed=0)


# -- the control thread's first raise ------------------------------------------------------------


def test_the_control_thread_may_raise_before_the_run_starts() -> None:
    """Seeded: some seeds raise at once (start returns once the thread itself set the byte), the others
    after a first delay below the upper bound of DELAY (not above its lower one)."""
    firsts = [ControlThread(Flag(), seed).first for seed in range(200)]
    early = [seed for seed, first in enumerate(firsts) if first == 0.0]
    assert 20 <= len(early) <= 80  # EARLY = 0.25 of 200
    assert all(0 < f < DELAY[1] for f in firsts if f) and any(0 < f < DELAY[0] for f in firsts)
    assert ControlThread(Flag(), 7, stream="restore3").first != ControlThread(Flag(), 7).first or \
        ControlThread(Flag(), 8, stream="restore3").first != ControlThread(Flag(), 8).first  # its own stream
    byte = ctypes.create_string_buffer(1)
    flag = Flag()
    flag.attach(ctypes.addressof(byte), byte, 0)
    thread = ControlThread(flag, early[0]).start()
    try:
        assert byte.raw == b"\x01" and flag.raises == 1  # raised by the thread, before start returned
        assert thread._thread is not threading.current_thread()
    finally:
        thread.stop()


# -- the engine's run state crosses processes (RunContext.state) ------------------------------------


def test_run_state_round_trips_bounded_and_refuses_what_cannot_cross() -> None:
    from resumefuzz.engines.interface import StateError, decode_state, encode_state
    from resumefuzz.state import HostImage, Snapshot

    snap = Snapshot(module_sha256=b"\x01" * 32, engine="asyncify", engine_config="{}",
                    host=HostImage((), 0, 0, ()), globals=(), memories=(), tables=(), resume=b"\x00\x01")
    state = {"previous": snap, "mark": 12, "pair": (1, b"\xff"), "items": [None, 1.5, "x"], "nested": {"a": {}}}
    assert decode_state(encode_state(state)) == state
    assert decode_state(b"") == {}
    for bad in ({"x": object()}, {"x": {1: 2}}, {"x": 1 << 70}):
        with pytest.raises(StateError):
            encode_state(bad)
    data = encode_state(state)
    for corrupt in (data[:-1], data + b"\x00", data[:5], b"\x00" * 8 + b"\x02" + b"\x00" * 7 + b"[1"):
        with pytest.raises(StateError):
            decode_state(corrupt)
