"""The engine contract: the checks every engine must pass, built-in or plug-in.

Run it against your engine from any test suite::

    from resumefuzz.testing import smoke_test_engine

    def test_my_engine_keeps_the_contract():
        smoke_test_engine("my-engine")              # or "my-engine:key=value,..."

:func:`smoke_test_engine` raises :class:`ContractViolation` (an
``AssertionError``) naming every broken clause:

* the spec rebuilds the engine (``get_engine(engine.spec())`` has the same
  name and configuration), and every value of its ``option_space`` is
  accepted and recorded in a spec that rebuilds it;
* on each of :data:`PROGRAMS` (operand-stack values and locals of every value
  type, globals incl. a signalling NaN and a hidden one, host input/output and
  a start function, memory growth (32- and 64-bit), two memories, a dropped
  passive segment, tables, deep calls, a WASI command's stdout, open file,
  clock and random stream): the transform output
  is valid and the module behaves the same (A vs B), the engine declares
  private only state it added, and suspending at every crossing (and at
  single crossings spread over the run) is transparent (B vs C) and really
  suspends;
* every snapshot records the engine's name and configuration, decodes and
  re-encodes to the same bytes, and its saved stack can be read and put back
  unchanged (``saved_stack`` / ``with_saved_stack``).
"""

from __future__ import annotations

from .checker import Judge
from .engines import Engine, get_engine
from .errors import ResumefuzzError
from .preparation import Preparation, prepare
from .schedule import expand
from .snapshot import decode, encode
from .wasmtools import parse
from .yieldpoints import YieldPoints

#: The contract's programs: name -> WAT.  Inputs keep an optimizing transform from folding them away.
PROGRAMS: dict[str, str] = {
    "operand-stack": """(module
  (import "host" "in_i32" (func $in (result i32)))
  (import "host" "out_i64" (func $out (param i64)))
  (func $n (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2))))
    (i32.add (call $in) (local.get $i)))
  ;; values of every type wait on the operand stack while $n runs
  (func (export "run") (result i64)
    (i64.add
      (i64.add (i64.extend_i32_u (i32.add (call $in) (call $n)))
               (i64.mul (i64.const 0x123456789) (i64.extend_i32_s (call $n))))
      (i64.add
        (i64.trunc_sat_f64_s (f64.add (f64.const 1.5e10) (f64.convert_i32_s (call $n))))
        (i64.add
          (i64.extend_i32_s (i32.trunc_sat_f32_s (f32.mul (f32.const -2.25) (f32.convert_i32_u (call $n)))))
          (i64.extend_i32_u (i32x4.extract_lane 2 (i32x4.add (v128.const i32x4 1 2 0x7fffffff 4)
                                                             (i32x4.splat (call $n)))))))))
  (func (export "emit") (call $out (i64.extend_i32_u (call $n)))))""",
    "locals-and-globals": """(module
  (import "host" "in_i64" (func $in (result i64)))
  (import "host" "out_i64" (func $out64 (param i64)))
  (import "host" "out_f32" (func $out32 (param f32)))
  (import "host" "out_f64" (func $outf (param f64)))
  (global $hidden (mut i64) (i64.const 7))
  (global $other (mut i64) (i64.const 1000))
  (global $snan (mut f32) (f32.const 0))
  (global $f64 (mut f64) (f64.const 0))
  (global $shown (export "shown") (mut i32) (i32.const 0))
  (global $ref (mut funcref) (ref.null func))
  (elem declare func $id)
  (func $id (param i64) (result i64) (local.get 0))
  ;; live locals of every type across loop iterations; globals updated between crossings
  (func (export "run") (param $p i64) (result i64)
    (local $i i32) (local $j i64) (local $f f32) (local $d f64) (local $v v128)
    (global.set $snan (f32.reinterpret_i32 (i32.const 0x7fa00001)))
    (global.set $ref (ref.func $id))
    (local.set $j (i64.add (call $in) (local.get $p)))
    (local.set $v (v128.const i64x2 0x0102030405060708 -1))
    (loop $l
      (local.set $f (f32.add (local.get $f) (f32.const 0.5)))
      (local.set $d (f64.sub (local.get $d) (f64.const 1.25)))
      (local.set $v (i64x2.add (local.get $v) (i64x2.splat (local.get $j))))
      (global.set $hidden (i64.mul (global.get $hidden) (i64.const 3)))
      (global.set $f64 (local.get $d))
      (global.set $shown (i32.add (global.get $shown) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (call $out32 (local.get $f))
    (call $outf (local.get $d))
    (call $out64 (i64x2.extract_lane 1 (local.get $v)))
    (i64.add (local.get $j) (i64.sub (global.get $other) (global.get $hidden)))))""",
    "start-and-io": """(module
  (import "host" "in_i32" (func $in (result i32)))
  (import "host" "out_i32" (func $out (param i32)))
  (func $init (call $out (i32.const 0x57a27)))
  (start $init)
  (func (export "run") (local $i i32)
    (loop $l
      (call $out (i32.xor (call $in) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))))""",
    "memory-grow": """(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1 4)
  (data (i32.const 16) "resume")
  (func (export "run") (result i32) (local $i i32)
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 65540) (i32.const 0xfeedface))
    (loop $l
      ;; the last byte of the grown memory
      (i32.store8 (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))
                  (i32.add (local.get $i) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (call $out (memory.size))
    (i32.load (i32.const 65540))))""",
    "memory64-grow": """(module
  (import "host" "out_i64" (func $out (param i64)))
  (memory i64 1 4)
  (data (i64.const 16) "resume64")
  (func (export "run") (result i64) (local $i i64)
    (drop (memory.grow (i64.const 2)))
    (i64.store (i64.const 0x2fff8) (i64.const 0x0123456789abcdef))
    (loop $l
      ;; the last byte of the grown 64-bit memory, at an i64 address
      (i64.store8 (i64.sub (i64.mul (memory.size) (i64.const 65536)) (i64.const 9))
                  (i64.add (local.get $i) (i64.const 7)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (i64.const 3))))
    (call $out (memory.size))
    (i64.load (i64.const 0x2fff8))))""",
    "two-memories": """(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory $a 1 2)
  (memory $b 1 3)
  (data (memory $b) (i32.const 8) "second")
  ;; both program memories written, the second grown too, before the loop's crossings
  (func (export "run") (result i32) (local $i i32)
    (drop (memory.grow $b (i32.const 1)))
    (i32.store $b (i32.const 65544) (i32.const 0x5ec0d))
    (i32.store $a (i32.const 4) (i32.const 0xf1257))
    (loop $l
      (i32.store8 $b (local.get $i) (i32.add (local.get $i) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (call $out (memory.size $b))
    (i32.add (i32.load $b (i32.const 65544)) (i32.load $a (i32.const 4)))))""",
    "dropped-segment": """(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (data $d "dropped")
  ;; a passive segment copied then dropped before the loop's crossings: reading it afterwards traps
  (func (export "run") (local $i i32)
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 7))
    (data.drop $d)
    (loop $l
      (call $out (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (memory.init $d (i32.const 8) (i32.const 0) (i32.const 1))))""",
    "tables": """(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 3 8 funcref)
  (elem (table $t) (i32.const 0) func $inc $dbl $inc)
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "run") (result i32) (local $i i32) (local $acc i32)
    (drop (table.grow $t (ref.func $dbl) (i32.const 1)))
    (table.set $t (i32.const 2) (ref.func $dbl))
    (loop $l
      (local.set $acc (call_indirect $t (type $op) (local.get $acc) (i32.rem_u (local.get $i) (i32.const 4))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    (local.get $acc)))""",
    "deep-calls": """(module
  (import "host" "out_i64" (func $out (param i64)))
  (func $sum (param $n i32) (result i64) (local $x i64)
    (local.set $x (i64.mul (i64.extend_i32_u (local.get $n)) (i64.const 0x10001)))
    (if (result i64) (i32.eqz (local.get $n))
      (then (i64.const 0))
      (else (i64.add (local.get $x) (call $sum (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "run") (result i64) (local $r i64)
    (local.set $r (call $sum (i32.const 12)))
    (call $out (local.get $r))
    (local.get $r)))""",
    # a WASI command: stdout, stderr, a file open at an offset, clock readings and random bytes across
    # suspensions, and an exit code from the argument count read after them
    "wasi-host-state": """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "log.txt")
  (data (i32.const 32) "tick\\n")
  (func (export "_start") (local $i i32) (local $fd i32)
    ;; log.txt in the preopened directory (fd 3), created and truncated; its fd lands at 64
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 7) (i32.const 9)
                      (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 64)))
    (local.set $fd (i32.load (i32.const 64)))
    (i32.store (i32.const 0) (i32.const 32))  ;; iovec 0: "tick\\n"
    (i32.store (i32.const 4) (i32.const 5))
    (i32.store (i32.const 8) (i32.const 128))  ;; iovec 8: 8 random bytes
    (i32.store (i32.const 12) (i32.const 8))
    (loop $l
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 72)))
      (drop (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 72)))
      (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 96)))
      (drop (call $random (i32.const 128) (i32.const 8)))
      (drop (call $write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 72)))
      (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 72)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (drop (call $args (i32.const 200) (i32.const 204)))
    (call $exit (i32.add (i32.load (i32.const 200)) (i32.const 40)))))""",
}

#: where the contract's programs may be suspended, and when (every crossing, then single ones)
_YIELD_POINTS = "loop,call,entry"
_SCHEDULE = "every;spread:8"


class ContractViolation(AssertionError):
    """An engine broke the engine contract (the message lists every broken clause)."""


def smoke_test_engine(spec: str, *, seed: int = 0) -> None:
    """Check the engine SPEC selects against the engine contract (see the module docstring)."""
    engine = get_engine(spec)
    problems = _spec_problems(engine) + _option_problems(engine)
    for name, wat in PROGRAMS.items():
        problems += [f"{name}: {problem}" for problem in _program_problems(engine, parse(wat), seed)]
    if problems:
        raise ContractViolation(f"engine {spec!r} breaks the engine contract:\n"
                                + "\n".join(f"  - {problem}" for problem in problems))


def _rebuilds(engine: Engine) -> str | None:
    """Why ``get_engine(engine.spec())`` is not ENGINE, or None."""
    try:
        rebuilt = get_engine(engine.spec())
    except ResumefuzzError as exc:
        return f"its spec {engine.spec()!r} does not rebuild it: {exc}"
    if (type(rebuilt), rebuilt.name, rebuilt.config_json()) != (type(engine), engine.name, engine.config_json()):
        return f"its spec {engine.spec()!r} rebuilds {rebuilt.name} {rebuilt.config_json()}, not {engine.config_json()}"
    return None


def _spec_problems(engine: Engine) -> list[str]:
    problem = _rebuilds(engine)
    return [problem] if problem else []


def _option_problems(engine: Engine) -> list[str]:
    problems = []
    for key, values in sorted(engine.option_space.items()):
        for value in dict.fromkeys(values):
            try:
                problem = _rebuilds(engine.reconfigured(**{key: value}))
            except ResumefuzzError as exc:
                problem = str(exc)
            if problem:
                problems.append(f"option_space {key}={value!r}: {problem}")
    return problems


def _program_problems(engine: Engine, wasm: bytes, seed: int) -> list[str]:
    try:
        prep = prepare(wasm, engine, YieldPoints.parse(_YIELD_POINTS))
    except ResumefuzzError as exc:
        return [f"cannot prepare: {exc}"]
    problems = _private_problems(prep)
    judge = Judge(prep, seed)
    if judge.inconclusive:
        return problems + [f"inconclusive: {judge.inconclusive}"]
    finding = judge.transform()
    if finding is not None:
        problems.append(f"the transform changes behaviour (A vs B): {', '.join(finding.facets)}")
    schedules = expand(_SCHEDULE, judge.crossings, seed)
    suspensions, broken = 0, []
    for schedule in schedules:
        finding, c = judge.interrupted(schedule, keep_snapshots=True)
        suspensions += len(c.suspensions)
        if c.exhausted:
            problems.append(f"{c.label}: inconclusive: {c.exhausted}")
        elif finding is not None:
            broken.append(f"{c.label}: {', '.join(finding.facets)}")
        problems += _snapshot_problems(prep, c.snapshots)
    if broken:
        problems.append(f"suspend/resume is not transparent (B vs C) in {len(broken)} of {len(schedules)} "
                        f"interrupted run(s): {'; '.join(broken[:3])}{'; …' if len(broken) > 3 else ''}")
    if suspensions == 0:
        problems.append(f"never suspended ({judge.crossings} crossing(s))")
    return list(dict.fromkeys(problems))  # a snapshot problem once per program


def _private_problems(prep: Preparation) -> list[str]:
    added = {s.key for slots in (prep.layout.globals, prep.layout.memories, prep.layout.tables)
             for s in slots if s.origin == "engine"}
    stolen = sorted(prep.private - added)
    return [f"declares private state it did not add: {', '.join(stolen)}"] if stolen else []


def _snapshot_problems(prep: Preparation, snapshots: list[bytes]) -> list[str]:
    engine, problems = prep.engine, []
    for data in snapshots:
        snapshot = decode(data)
        if (snapshot.engine, snapshot.engine_config) != (engine.name, engine.config_json()):
            problems.append(f"a snapshot records engine {snapshot.engine} {snapshot.engine_config}, "
                            f"not {engine.name} {engine.config_json()}")
        if encode(snapshot) != data:
            problems.append("a snapshot does not re-encode to the same bytes")
        try:
            stack = engine.saved_stack(snapshot, prep.layout)
            if engine.with_saved_stack(snapshot, prep.layout, stack) != snapshot:
                problems.append("putting a snapshot's saved stack back unchanged changes the snapshot")
        except Exception as exc:  # noqa: BLE001 - an engine's accessor failing is the finding
            problems.append(f"saved_stack/with_saved_stack fail: {type(exc).__name__}: {exc}")
    return problems


__all__ = ["PROGRAMS", "ContractViolation", "smoke_test_engine"]
