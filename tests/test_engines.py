"""Engines plug in two ways: a Python entry point, or an Asyncify-compatible command."""

from __future__ import annotations

import os
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from resumefuzz import engines
from resumefuzz.cli import main
from resumefuzz.engines.asyncify import AsyncifyEngine
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
    err = capsys.readouterr().err
    assert err.startswith("resumefuzz: engine error: ") and err.count("\n") == 1, err
    assert "transform command failed (exit 1)" in err
    with pytest.raises(BadInput):
        engines.get_engine("asyncify-compatible:cp {in} elsewhere")


@pytest.mark.parametrize("command, says", [
    ("false {in} {out}", "transform command failed (exit 1)"),
    ("sh -c 'echo broken tool >&2; exit 7' x {in} {out}", "(exit 7): broken tool"),
    ("true {in} {out}", "wrote no module"),
    ("printf garbage > {out} # {in}", "produced an invalid module: magic header"),  # not the input's fault
    ("cp {mistyped} {out} # {in}", "produced an invalid module: type mismatch"),
], ids=["exit-1", "exit-7", "no-output", "garbage-output", "invalid-output"])
def test_a_transform_failure_is_an_engine_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                command: str, says: str) -> None:
    from resumefuzz import wasmtools

    module = tmp_path / "p.wat"
    module.write_text(PROGRAM)
    mistyped = tmp_path / "mistyped.wasm"
    mistyped.write_bytes(wasmtools.parse("(module (func (result i32) (i64.const 1)))"))
    engine = f"asyncify-compatible:{command.replace('{mistyped}', str(mistyped))}"
    assert main(["check", str(module), "--engine", engine]) == 3
    err = capsys.readouterr().err
    assert err.startswith("resumefuzz: engine error: engine asyncify-compatible"), err
    assert err.count("\n") == 1 and says in err, err


def _running(marker: str) -> list[str]:
    """Command lines of live processes mentioning MARKER."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def test_a_hanging_transform_is_killed_with_everything_it_started(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "p.wat"
    module.write_text(PROGRAM)
    marker = str(900_000 + os.getpid() % 99_991)  # a sleep length nothing else uses
    command = f"sh -c 'sleep {marker} & sleep {marker}' rfz {{in}} {{out}}"
    assert main(["check", str(module), "--engine", f"asyncify-compatible:{command}",
                 "--transform-timeout", "0.3s"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("resumefuzz: engine error: ") and err.count("\n") == 1, err
    assert "did not finish within 0.3s (--transform-timeout)" in err
    assert _running(f"sleep {marker}") == []  # the shell, its background child and its foreground child


def test_a_transform_leaves_nothing_running_when_it_succeeds(tmp_path: Path) -> None:
    from resumefuzz.engines.command import CommandEngine

    marker = str(800_000 + os.getpid() % 99_991)
    engine = CommandEngine(f"sh -c 'cp \"$1\" \"$2\"; sleep {marker} &' rfz {{in}} {{out}}", timeout=30)
    assert engine.transform(b"\0asm\1\0\0\0", ("rfz", "suspend")) == b"\0asm\1\0\0\0"
    assert _running(f"sleep {marker}") == []


def test_the_transform_timeout_is_a_setting() -> None:
    from resumefuzz import limits

    engine = engines.get_engine("asyncify-compatible:cp {in} {out}")
    assert engine.transform_timeout == limits.TRANSFORM_TIMEOUT  # type: ignore[attr-defined]
    engine.transform_timeout = 5.0  # type: ignore[attr-defined]  # what `--transform-timeout 5s` does


class _Rewriting(AsyncifyEngine):
    """Asyncify, then its output replaced: what a broken engine hands back."""

    id = "rewriting"
    output = b""

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        return self.output


def test_blame_an_invalid_engine_output_on_the_engine_and_an_invalid_input_on_the_input() -> None:
    from resumefuzz import wasmtools
    from resumefuzz.errors import EngineError
    from resumefuzz.preparation import prepare
    from resumefuzz.yieldpoints import YieldPoints

    points = YieldPoints.parse("all")
    broken = _Rewriting()
    broken.output = wasmtools.parse("(module (func (result i32) (i64.const 1)))")
    with pytest.raises(EngineError, match="engine rewriting produced an invalid module: type mismatch"):
        prepare(wasmtools.parse(PROGRAM), broken, points)
    broken.output = wasmtools.parse("(component)")
    with pytest.raises(EngineError, match="engine rewriting produced"):
        prepare(wasmtools.parse(PROGRAM), broken, points)
    # the input is judged first: an invalid input is bad input whatever the engine does
    with pytest.raises(BadInput, match="invalid input module"):
        prepare(wasmtools.parse('(module (func (export "f") (result i32) (i64.const 1)))'),
                engines.get_engine("asyncify"), points)


def test_binaryen_says_why_it_rejects_a_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Binaryen's validator text reaches the user, not only "does not validate"."""
    module = tmp_path / "atomic.wat"
    module.write_text('(module (memory 1) (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))')
    assert main(["check", str(module)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("resumefuzz: unsupported: ") and err.count("\n") == 1, err
    assert "does not validate in Binaryen: Atomic operations require threads [--enable-threads]" in err


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
        with pytest.raises(binaryen.BinaryenError, match="does not validate.*SIMD operations require SIMD") as info:
            fresh.run_passes(bad, ["asyncify"], features=FEATURES & ~8)
        assert info.value.kind == "rejected"
        assert fresh.run_passes(good, ["asyncify"], features=FEATURES & ~8) == expected
        assert fresh._proc is not None and fresh._proc.pid == pid
    finally:
        fresh.close()


@pytest.mark.parametrize("kind, error", [("rejected", "Unsupported"), ("fatal", "Unsupported"),
                                         ("invalid-output", "EngineError"), ("died", "EngineError")])
def test_binaryen_failures_are_classified(monkeypatch: pytest.MonkeyPatch, kind: str, error: str) -> None:
    """Binaryen refusing a module is "unsupported"; Binaryen failing on one it accepted is an engine error."""
    from resumefuzz import binaryen, errors

    class Failing:
        def run_passes(self, *args: object, **kwargs: object) -> bytes:
            raise binaryen.BinaryenError(f"what Binaryen said ({kind})", kind)

    monkeypatch.setattr(binaryen, "worker", Failing)
    with pytest.raises(getattr(errors, error), match=rf"what Binaryen said \({kind}\)"):
        AsyncifyEngine().transform(b"\0asm\1\0\0\0", ("rfz", "suspend"))
