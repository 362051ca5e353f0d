"""The harness ABI has one room (resumefuzz.abi); wasmtime-py's private API is fenced (resumefuzz.wasmtime_api)."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from resumefuzz import abi, wasmtime_api, wasmtools
from resumefuzz.engines import get_engine
from resumefuzz.errors import Unsupported
from resumefuzz.host import HostState
from resumefuzz.instrumentation import expose, load_text, observe
from resumefuzz.preparation import prepare
from resumefuzz.runner import run
from resumefuzz.runtime import Runtime
from resumefuzz.yieldpoints import YieldPoints, inject

ROOT = Path(__file__).resolve().parents[2]
TABLES = ROOT / "tests" / "wat" / "tables.wat"
RESUMEFUZZ = Path(sys.executable).parent / "resumefuzz"
SOURCES = [p for d in ("resumefuzz", "oracles", "fuzz", "bench") for p in sorted((ROOT / d).rglob("*.py"))]

ALL_HOST_IMPORTS = """(module
  (import "host" "out_i32" (func $o1 (param i32)))
  (import "host" "out_i64" (func $o2 (param i64)))
  (import "host" "out_f32" (func $o3 (param f32)))
  (import "host" "out_f64" (func $o4 (param f64)))
  (import "host" "in_i32" (func $i1 (result i32)))
  (import "host" "in_i64" (func $i2 (result i64)))
  (func (export "f")
    (call $o1 (call $i1)) (call $o2 (call $i2))
    (call $o3 (f32.const nan:0x200001)) (call $o4 (f64.const -0))))
"""


def _strings(path: Path) -> list[tuple[int, str]]:
    """String constants of PATH's code, docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs]


# ---------------------------------------------------------------------------
# the ABI


def test_the_abi_is_stated_once():
    """No module but abi.py spells the harness's names: "rfz", "__rfz", "host" (snapshot files' .rfzsnap aside)."""
    offenders = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                 for path in SOURCES if path.parts[-2:] != ("resumefuzz", "abi.py") and "seeds" not in path.parts
                 for line, text in _strings(path)
                 if "rfz" in text.replace(".rfzsnap", "") or text == "host"]
    assert offenders == []


def test_prepared_imports_and_runtime_linker_come_from_one_table():
    """The prepared module imports exactly what abi says (float outputs as bits), and the runtime defines it all."""
    observed = observe(wasmtools.parse(ALL_HOST_IMPORTS))
    wasm, layout = expose(inject(observed.wasm, YieldPoints.parse("call")).wasm, observed.calls)
    module = load_text(wasm)
    imported = {(fn.imported[0], fn.imported[1], fn.sig) for fn in module.funcs if fn.imported}
    assert imported == {(i.module, i.name, i.signature) for i in (*(f.prepared for f in abi.HOST_INTERFACE), abi.SUSPEND)}
    assert {(module, name) for module, name, _ in imported} >= {("rfz", "out_f32"), ("rfz", "out_f64"), ("host", "in_i64")}
    obs = run(Runtime(wasm, layout, fuel=10**6), 3, "A")  # instantiates: the linker defines every import
    assert [e.value.type for e in obs.outputs] == ["i32", "i64", "f32", "f64"]
    assert obs.outputs[2].value.bits == 0x7FA00001 and obs.outputs[3].value.bits == 1 << 63  # bits, not floats


def test_import_check_and_generators_use_the_abi_signatures():
    with pytest.raises(Unsupported, match=r"host\.in_i32 has type \(param i32\) \(result i32\), expected \(result i32\)"):
        observe(wasmtools.parse('(module (import "host" "in_i32" (func (param i32) (result i32))))'))
    with pytest.raises(Unsupported, match=r"host\.out_i32 has type \[\] -> \[\], expected \(param i32\)"):
        observe(wasmtools.parse('(module (import "host" "out_i32" (func)))'))
    from resumefuzz.fuzz.structured import HOST_SIGS

    assert HOST_SIGS == {"out_i32": "(param i32)", "out_i64": "(param i64)", "out_f32": "(param f32)",
                         "out_f64": "(param f64)", "in_i32": "(result i32)", "in_i64": "(result i64)"}


def test_abi_names_round_trip():
    assert abi.fn_index(abi.fn_export(17)) == 17 and abi.fn_index(abi.key_export("g1")) is None
    assert abi.export_key(abi.key_export("rfz.dropped.data0")) == "rfz.dropped.data0"
    assert abi.export_key(abi.fn_export(1)) is None
    assert abi.is_call_export(abi.call_export(3)) and not abi.is_call_export(abi.START_EXPORT)
    origins = {key: abi.Slot(0, key, "i32", True, "x").origin
               for key in (abi.program_key("global", 2), abi.engine_key("memory", 1), abi.DEPTH_KEY,
                           abi.dropped_key("elem", "0"))}
    assert origins == {"g2": "program", "engine.m1": "engine", "rfz.depth": "harness", "rfz.dropped.elem0": "harness"}
    assert abi.symbol("yield").startswith(abi.SYMBOL_PREFIX)


def test_each_concept_has_one_module():
    from resumefuzz import checker, files, report, snapshot, state

    assert state.Snapshot.__module__ == "resumefuzz.state" and snapshot.encode.__module__ == "resumefuzz.snapshot"
    assert not {"Snapshot", "MemoryImage", "PAGE_SIZE"} & set(snapshot.__all__)
    assert report.render.__module__ == "resumefuzz.report" and checker.Verdict.__module__ == "resumefuzz.checker"
    assert files.write_atomic.__module__ == "resumefuzz.files"
    runtime = Runtime(wasmtools.parse('(module (func (export "f")))'), expose(
        wasmtools.parse('(module (func (export "f")))'), ())[1], fuel=1000)
    assert isinstance(runtime.wasmtime_engine, wasmtime.Engine) and not hasattr(runtime, "engine")


# ---------------------------------------------------------------------------
# wasmtime-py's private API, fenced


_PRIVATE = re.compile(r"\bwasmtime\._|from wasmtime import _|\b_ffi\b|wrap_extern|enter_wasm|__private"
                      r"|\._context\(\)|\._func\b|\._instance\b|_from_ptr")


def test_only_the_fence_names_private_wasmtime_parts():
    offenders = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                 for path in SOURCES if path.name != "wasmtime_api.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if _PRIVATE.search(line)]
    assert offenders == []


def test_the_fence_picks_the_private_path_only_where_it_was_written_for(monkeypatch):
    assert wasmtime_api.WRITTEN_FOR == 50 and isinstance(wasmtime_api.choose({}), wasmtime_api.PrivateAccess)
    assert isinstance(wasmtime_api.choose({wasmtime_api.PUBLIC_API_ENV: "1"}), wasmtime_api.PublicAccess)
    monkeypatch.setattr(wasmtime_api, "_version", lambda: "51.0.0")
    assert isinstance(wasmtime_api.choose({}), wasmtime_api.PublicAccess)
    monkeypatch.undo()
    monkeypatch.delattr(wasmtime.Store, "_context")  # a private name gone
    assert isinstance(wasmtime_api.choose({}), wasmtime_api.PublicAccess)
    with pytest.raises(Unsupported, match="cannot be identified"):  # a wasmtime-py with no function handle
        wasmtime_api.PublicAccess().func_key(object())  # type: ignore[arg-type]


def _observe_both(monkeypatch, observe_with):
    results = []
    for access in (wasmtime_api.PrivateAccess(), wasmtime_api.PublicAccess()):
        monkeypatch.setattr(wasmtime_api, "ACCESS", access)
        results.append(observe_with())
    return results


def test_private_and_public_paths_agree(monkeypatch):
    """Call results, export lookup, function identity: the same through either path (runs A and C too)."""
    engine = get_engine("asyncify")
    prep = prepare(wasmtools.parse(TABLES.read_text()), engine, YieldPoints.parse("loop,call"))
    plain, suspendable = prep.runtimes()

    def machine_facts():
        machine = plain.instantiate(HostState(4))
        with pytest.raises(KeyError):
            machine.exports["no such export"]
        functions = sorted(abi.fn_index(name) for name in prep.plain_layout.exports if abi.fn_index(name) is not None)
        identities = [machine.func_id(machine.func_by_id(i)) for i in functions]
        before = machine.capture_tables()
        rewire, use_global, reinit = prep.plain_layout.calls
        results = machine.call(rewire, []) + machine.call(use_global, [])
        with pytest.raises(wasmtime.Trap) as trap:
            machine.call(reinit, [])  # table.init of the segment rewire dropped
        return (identities, functions, before, results, machine.capture_tables(), trap.value.trap_code,
                machine.capture_globals())

    private, public = _observe_both(monkeypatch, machine_facts)
    assert private == public
    identities, functions, before, results, after, code, _ = private
    assert identities == functions and before[0].entries == (1, 2)  # $inc, $dbl (import $out is function 0)
    assert [v.bits for v in results] == [1 << 30, 25] and after[0].entries == (4, 4, 2, 3)
    assert code == wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS

    def runs():
        return (run(plain, 4, "A"),
                run(suspendable, 4, "C", engine=engine, crossings=(1, 3, 7)))

    (a1, c1), (a2, c2) = _observe_both(monkeypatch, runs)
    for x, y in ((a1, a2), (c1, c2)):
        assert (x.calls, x.outputs, x.globals, x.memories, x.tables, x.suspensions) == \
               (y.calls, y.outputs, y.globals, y.memories, y.tables, y.suspensions)
    assert c1.suspensions == [1, 3, 7] and any(t.entries for t in c1.tables.values())


def test_check_gives_the_same_report_through_the_public_api(tmp_path):
    outputs = []
    for forced in ("0", "1"):
        out = tmp_path / f"public-{forced}"
        proc = subprocess.run([str(RESUMEFUZZ), "check", str(TABLES), "--yield-points", "loop,call", "--schedule",
                               "every:3;random:4", "--seed", "5", "--out", str(out)],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, wasmtime_api.PUBLIC_API_ENV: forced})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs.append(((out / "report.txt").read_text(), json.loads((out / "verdict.json").read_text()),
                        sorted(p.read_bytes() for p in (out / "snapshots").iterdir())))
    assert outputs[0] == outputs[1] and outputs[0][1]["suspensions"] > 0
