"""Engines plug in two ways: a Python entry point, or an Asyncify-compatible command."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from resumefuzz import engines
from resumefuzz.cli import main
from resumefuzz.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = """(module
  (import "host" "out_i32" (func $out (param i32)))
  (global $hidden (mut i32) (i32.const 3))
  (func (export "run") (local $i i32)
    (loop $l
      (global.set $hidden (i32.mul (global.get $hidden) (i32.const 3)))
      (call $out (global.get $hidden))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))))"""
WASM_OPT = (f"node {ROOT}/node_modules/binaryen/bin/wasm-opt {{in}} --enable-multimemory --enable-bulk-memory "
            "--enable-multivalue --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals "
            "--asyncify --pass-arg=asyncify-imports@{import} --pass-arg=asyncify-in-secondary-memory -o {out}")


def test_an_asyncify_compatible_command_is_an_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "p.wat"
    module.write_text(PROGRAM)
    assert main(["check", str(module), "--engine", f"asyncify-compatible:{WASM_OPT}", "--schedule", "every"]) == 0
    report = capsys.readouterr().out
    assert "EQUAL" in report and "suspension(s)" in report and " 0 suspension" not in report


def test_a_command_that_keeps_its_buffer_in_program_memory_is_refused(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "p.wat"
    module.write_text(PROGRAM.replace("(global", "(memory 1) (global", 1))
    command = WASM_OPT.replace(" --pass-arg=asyncify-in-secondary-memory", "")
    assert main(["check", str(module), "--engine", f"asyncify-compatible:{command}"]) == 3
    assert "memory of its own" in capsys.readouterr().err


def test_a_failing_command_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "p.wat"
    module.write_text(PROGRAM)
    assert main(["check", str(module), "--engine", "asyncify-compatible:false {in} {out}"]) == 3
    assert "transform command failed" in capsys.readouterr().err
    with pytest.raises(BadInput):
        engines.get_engine("asyncify-compatible:cp {in} elsewhere")


def test_engines_register_through_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    plugin = EntryPoint(name="my-engine", value="resumefuzz.engines.asyncify:AsyncifyEngine",
                        group=engines.ENTRY_POINT_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [plugin] if group == engines.ENTRY_POINT_GROUP else [])
    assert type(engines.get_engine("my-engine")).__name__ == "AsyncifyEngine"
    broken = EntryPoint(name="broken", value="no.such.module:Engine", group=engines.ENTRY_POINT_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [broken])
    with pytest.raises(BadInput, match="failed to load"):
        engines.get_engine("asyncify")


def test_a_rejected_module_keeps_the_binaryen_worker_and_its_output() -> None:
    """Rejections must not cost a worker restart (a cold worker is ~10x slower), nor change results."""
    from resumefuzz import binaryen, wasmtools
    from resumefuzz.engines.asyncify import FEATURES

    good = wasmtools.parse(PROGRAM)
    # valid wasm (wasm-tools accepts it) that Binaryen's validator rejects: a v128 op without SIMD enabled
    bad = wasmtools.parse('(module (func (result i32) (i32x4.extract_lane 0 (v128.const i64x2 0 0))))')
    fresh = binaryen.BinaryenWorker()
    try:
        expected = fresh.run_passes(good, ["asyncify"], features=FEATURES & ~8)
        pid = fresh._proc.pid  # type: ignore[union-attr]
        with pytest.raises(binaryen.BinaryenError, match="does not validate"):
            fresh.run_passes(bad, ["asyncify"], features=FEATURES & ~8)
        assert fresh.run_passes(good, ["asyncify"], features=FEATURES & ~8) == expected
        assert fresh._proc is not None and fresh._proc.pid == pid
    finally:
        fresh.close()
