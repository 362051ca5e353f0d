"""Resource limits in the runtime: judged memory and table sizes, bounded copies, the compile budget.

Sizes the *module* declares beyond a cap are unsupported (exit 3) before
anything is compiled or copied; sizes the *program* grows to beyond a cap
make the run inconclusive (exit 4) before anything of that size exists.
Compilation is lazy and has a wall-clock budget.  No test here allocates
more than a few MiB: where memory is the point, the peak RSS of a separate
`resumefuzz` process is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from resumefuzz import limits, wasmtools
from resumefuzz.cli import main
from resumefuzz.engines import get_engine
from resumefuzz.errors import BadInput, Inconclusive, Unsupported
from resumefuzz.host import HostState
from resumefuzz.preparation import Preparation, prepare
from resumefuzz.yieldpoints import YieldPoints

#: Peak RSS allowed for one `resumefuzz check` process (it needs ~150 MiB for a tiny module;
#: before the caps, a (memory 32767) module took 9 GB).
RSS_LIMIT_KIB = 512 * 1024

# A process that runs `resumefuzz check ARGS...` and reports its exit code, output and the peak
# RSS of that child (ru_maxrss of waited-for children, KiB on Linux).
_MEASURE = """
import json, resource, subprocess, sys
proc = subprocess.run([sys.executable, "-c", "import sys; from resumefuzz.cli import main; sys.exit(main())",
                       *sys.argv[1:]], capture_output=True, text=True, timeout=120)
print(json.dumps({"code": proc.returncode, "out": proc.stdout, "err": proc.stderr,
                  "rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def measured_check(*args: str, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", _MEASURE, "check", *args], capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def wat_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def prepared(wat: str, yield_points: str = "loop,call", **kwargs) -> Preparation:
    return prepare(wasmtools.parse(wat), get_engine("asyncify"), YieldPoints.parse(yield_points), **kwargs)


# ---------------------------------------------------------------------------
# memory


@pytest.mark.parametrize("pages", [32767, 65535, 65536])
def test_memories_declared_over_the_cap_are_unsupported_fast_and_small(tmp_path, pages):
    """Issue: 65535 exited 70 (ctypes overflow), 65536 exited 2 (encoder), 32767 passed at 9 GB RSS."""
    module = wat_file(tmp_path, "big.wat", f'(module (memory {pages}) (func (export "f") (result i32) '
                                           f'(i32.load (i32.const 0))))')
    result = measured_check(str(module))
    assert result["code"] == 3, result
    assert result["err"].count("\n") == 1 and "MAX_MEMORY_PAGES" in result["err"], result["err"]
    assert f"start at {pages} pages" in result["err"]
    assert result["rss_kib"] < RSS_LIMIT_KIB, result


def test_memory_with_a_4gib_maximum_is_judged(capsys, tmp_path):
    """A 4 GiB *maximum* with a small current size works; a grow the maximum refuses anyway stays -1."""
    module = wat_file(tmp_path, "max.wat", """
      (module (import "host" "out_i32" (func $out (param i32))) (memory 1 65536)
        (func (export "f") (result i32)
          (i32.store (i32.const 65532) (i32.const 7))
          (call $out (memory.grow (i32.const 2)))
          (call $out (memory.grow (i32.const 70000)))   ;; past the declared maximum: -1, not the cap
          (i32.store (i32.const 131072) (i32.const 9))
          (i32.add (memory.size) (i32.load (i32.const 65532)))))""")
    code = main(["check", str(module), "--schedule", "every", "--yield-points", "all"])
    report = capsys.readouterr().out
    assert code == 0 and report.startswith("resumefuzz check: EQUAL"), report
    assert "suspension(s) in all" in report and ", 0 suspension(s)" not in report


GROW_PAST_THE_CAP = """
  (module (import "host" "out_i32" (func $out (param i32))) (memory 1)
    (func (export "f") (result i32)
      (call $out (memory.grow (i32.const 3)))
      (memory.grow (i32.const 5000))))"""


def test_growing_memory_past_the_cap_is_inconclusive_and_never_allocated():
    from resumefuzz.checker import Judge

    judge = Judge(prepared(GROW_PAST_THE_CAP), 0)
    assert judge.inconclusive is not None
    assert "memory 0" in judge.inconclusive and "5004 pages" in judge.inconclusive
    assert "MAX_MEMORY_PAGES" in judge.inconclusive
    assert judge.a.memories["m0"].pages == 4  # stopped before the grow: nothing of that size existed
    assert [e.value.bits for e in judge.a.outputs] == [1]  # the program ran up to the grow


def test_growing_memory_past_the_cap_exits_4(capsys, tmp_path):
    code = main(["check", str(wat_file(tmp_path, "grow.wat", GROW_PAST_THE_CAP)), "--yield-points", "all"])
    report = capsys.readouterr().out
    assert code == 4 and "INCONCLUSIVE" in report and "MAX_MEMORY_PAGES" in report, report


def test_store_limits_stop_growth_that_escaped_the_rewrite():
    """wasmtime's Store limits are the safety net: the harness's own handles cannot grow past the caps."""
    prep = prepared('(module (memory 1) (table 1 externref) (func (export "f")))')
    machine = prep.runtimes()[0].instantiate(HostState(0))
    memory = machine.exports[prep.plain_layout.memories[0].export]
    table = machine.exports[prep.plain_layout.tables[0].export]
    with pytest.raises(wasmtime.WasmtimeError):
        memory.grow(machine.store, limits.MAX_MEMORY_PAGES)  # 1 + cap pages
    with pytest.raises(wasmtime.WasmtimeError):
        table.grow(machine.store, limits.MAX_TABLE_ENTRIES, None)
    assert memory.size(machine.store) == 1 and table.size(machine.store) == 1


def test_an_engine_memory_over_the_store_limits_is_unsupported_at_instantiation():
    """What the module-level check cannot see (a memory the engine adds) meets the Store limits."""
    from resumefuzz.instrumentation import expose
    from resumefuzz.runtime import Runtime

    wasm, layout = expose(wasmtools.parse('(module (memory 5000))'), ())
    with pytest.raises(Unsupported, match="memory minimum size of 5000 pages exceeds memory limits"):
        Runtime(wasm, layout, fuel=1000).instantiate(HostState(0))


def test_captures_check_judged_sizes_before_copying():
    from resumefuzz.runtime import CapExceeded

    prep = prepared('(module (memory 1) (memory 1) (table 1 externref) (table 1 externref) (func (export "f")))')
    machine = prep.plain_runtime().instantiate(HostState(0))
    for slot in prep.plain_layout.memories:
        if slot.origin == "program":  # each within the Store limit, together over the cap
            machine.exports[slot.export].grow(machine.store, limits.MAX_MEMORY_PAGES // 2)
    with pytest.raises(CapExceeded, match="MAX_MEMORY_PAGES"):
        machine.capture_memories()
    with pytest.raises(CapExceeded, match="MAX_MEMORY_PAGES"):
        machine.capture_tables()  # checks everything first too

    machine = prep.plain_runtime().instantiate(HostState(0))
    for slot in prep.plain_layout.tables:
        machine.exports[slot.export].grow(machine.store, limits.MAX_TABLE_ENTRIES // 2, None)
    with pytest.raises(CapExceeded, match="MAX_TABLE_ENTRIES"):
        machine.capture_tables()


def test_read_and_write_memory_in_bounded_chunks(monkeypatch):
    from resumefuzz import runtime

    prep = prepared('(module (memory 3) (func (export "f")))')
    machine = prep.plain_runtime().instantiate(HostState(0))
    export = prep.plain_layout.memories[0].export
    data = os.urandom(3 * 65536 - 10)
    monkeypatch.setattr(runtime, "MEMORY_CHUNK", 4096 + 7)  # many odd-sized pieces
    copies: list[int] = []
    memmove = runtime.ctypes.memmove
    monkeypatch.setattr(runtime.ctypes, "memmove", lambda dst, src, n: (copies.append(n), memmove(dst, src, n))[1])
    machine.write_memory(export, 5, data)
    assert copies and max(copies) <= 4096 + 7 and sum(copies) == len(data)
    assert machine.read_memory(export, 5, len(data)) == data
    assert machine.read_memory(export, 0, 3 * 65536)[5:-5] == data
    with pytest.raises(runtime.RestoreError):  # never a read past the end (a segfault)
        machine.read_memory(export, 1, 3 * 65536)
    with pytest.raises(runtime.RestoreError):
        machine.write_memory(export, 3 * 65536 - 1, b"ab")


def test_restore_compares_a_grown_memory_with_zeros_without_copying():
    from resumefuzz.runtime import differing_blocks

    old = bytes(5000) + b"\x01"
    new = bytearray(3 * 65536)
    new[5000] = 1  # as OLD
    assert differing_blocks(bytes(new), old) == []  # the grown part is all zero: nothing to write
    new[70000] = 2
    new[4000] = 3
    assert differing_blocks(bytes(new), old) == [(0, 4096), (69632, 73728)]
    assert differing_blocks(old, old) == []


# ---------------------------------------------------------------------------
# tables


def test_tables_declared_over_the_cap_are_unsupported(capsys, tmp_path):
    module = wat_file(tmp_path, "table.wat", '(module (table 70000 funcref) (func (export "f")))')
    assert main(["check", str(module)]) == 3
    err = capsys.readouterr().err
    assert "MAX_TABLE_ENTRIES" in err and "70000 slots" in err


def test_a_table_grown_by_a_seeded_argument_is_inconclusive_fast_and_small(tmp_path):
    """Issue: ~3.9e9 externref slots took 15 GB in 90 s (every slot captured after run A)."""
    module = wat_file(tmp_path, "grow.wat", """
      (module (table 0 externref)
        (func (export "f") (param i32) (result i32)
          (drop (table.grow (ref.null extern) (i32.const 1)))
          (table.grow (ref.null extern) (i32.or (local.get 0) (i32.const 0xe0000000)))))""")
    result = measured_check(str(module), "--yield-points", "loop,call")
    assert result["code"] == 4, result
    assert "INCONCLUSIVE" in result["out"] and "MAX_TABLE_ENTRIES" in result["out"], result["out"]
    assert result["rss_kib"] < RSS_LIMIT_KIB, result


def test_growth_is_rewritten_only_where_a_cap_is_reachable():
    from resumefuzz.instrumentation import observe

    def capped(wat: str) -> bool:
        return '"rfz" "capped"' in wasmtools.print_text(observe(wasmtools.parse(wat)).wasm)

    grows = '(func (export "f") (result i32) (memory.grow (i32.const 1)))'
    assert not capped(f"(module (memory 1 8) {grows})")  # campaign modules: untouched
    assert capped(f"(module (memory 1) {grows})")
    assert capped(f"(module (memory 1 65536) {grows})")
    assert not capped('(module (memory 1) (func (export "f") (result i32) (memory.size)))')  # nothing grows
    tgrow = '(func (export "f") (result i32) (table.grow (ref.null func) (i32.const 1)))'
    assert not capped(f"(module (table 2 10 funcref) {tgrow})")
    assert capped(f"(module (table 2 funcref) {tgrow})")


# ---------------------------------------------------------------------------
# compilation

SPIN = '(module (func (export "spin") (loop $l (br $l))))'


def test_a_run_a_decides_alone_never_compiles_the_suspendable_module(monkeypatch):
    from resumefuzz.checker import Judge

    built: list[str] = []
    build = Preparation._build
    monkeypatch.setattr(Preparation, "_build", lambda self, *args: (built.append(args[0]), build(self, *args))[1])
    judge = Judge(prepared(SPIN, fuel=10_000), 0)
    assert judge.inconclusive is not None and "OUT_OF_FUEL" in judge.inconclusive
    assert built == ["plain"]


def test_large_modules_compile_in_a_child_with_the_same_configuration(monkeypatch):
    from resumefuzz.runtime import compile_module

    monkeypatch.setattr(limits, "COMPILE_OUT_OF_PROCESS_BYTES", 0)  # every module is "large"
    wasm = wasmtools.parse('(module (func (export "f") (param i32) (result i32) '
                           '(i32.mul (local.get 0) (i32.const 3))))')
    settings = {"opt_level": "none", "max_wasm_stack": 1 << 20, "canonicalize_nans": True}
    engine, module = compile_module(wasm, settings, "test")
    store = wasmtime.Store(engine)
    store.set_fuel(1000)  # the child compiled with fuel metering, as the parent's engine expects
    assert wasmtime.Instance(store, module, []).exports(store)["f"](store, 14) == 42


def test_compile_timeout_kills_the_child(monkeypatch):
    from resumefuzz import runtime

    monkeypatch.setattr(limits, "COMPILE_OUT_OF_PROCESS_BYTES", 0)
    wasm = wasmtools.parse(SPIN)
    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def recording(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(runtime.subprocess, "Popen", recording)
    with pytest.raises(Inconclusive, match=r"took longer than 0\.001 s .*RESUMEFUZZ_COMPILE_TIMEOUT"):
        runtime.compile_module(wasm, {"opt_level": "speed", "max_wasm_stack": None,
                                                       "canonicalize_nans": False}, "test", timeout=0.001)
    (child,) = started
    assert child.returncode is not None  # killed and reaped
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)  # and its whole process group is gone


def big_module(locals_: int = 200, ops: int = 45_000) -> str:
    """One function with many locals and instructions (prepared: over 1 MB)."""
    body = [f"(local.set {i % locals_} (i32.add (local.get {i % locals_}) (local.get {(7 * i + 3) % locals_})))"
            for i in range(ops // 3)]
    return (f'(module (func (export "f") (result i32) (local{" i32" * locals_})\n'
            + "\n".join(body) + "\n(local.get 0)))")


def test_a_big_module_over_the_compile_budget_is_inconclusive(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(limits.COMPILE_TIMEOUT_ENV, "0.05")
    module = wat_file(tmp_path, "big.wat", big_module())
    code = main(["check", str(module), "--yield-points", "entry"])
    report = capsys.readouterr().out
    assert code == 4, report
    assert "took longer than 0.05 s (COMPILE_TIMEOUT; override with RESUMEFUZZ_COMPILE_TIMEOUT)" in report


def test_compile_timeout_override_is_validated(monkeypatch):
    monkeypatch.delenv(limits.COMPILE_TIMEOUT_ENV, raising=False)
    assert limits.compile_timeout() == limits.COMPILE_TIMEOUT
    monkeypatch.setenv(limits.COMPILE_TIMEOUT_ENV, "2.5")
    assert limits.compile_timeout() == 2.5
    for bad in ("abc", "0", "-1", "nan", "inf"):
        monkeypatch.setenv(limits.COMPILE_TIMEOUT_ENV, bad)
        with pytest.raises(BadInput, match=limits.COMPILE_TIMEOUT_ENV):
            limits.compile_timeout()
