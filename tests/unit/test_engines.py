"""Engines plug in two ways: a Python entry point, or an Asyncify-compatible command."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Iterator

import pytest

from resumefuzz import engines
from resumefuzz.cli import main
from resumefuzz.engines.asyncify import AsyncifyEngine
from resumefuzz.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
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
            "--enable-simd --enable-reference-types --asyncify --pass-arg=asyncify-imports@{import} --pass-arg=asyncify-in-secondary-memory -o {out}")


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

    name = "rewriting"
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


#: An engine package written from the README alone: Asyncify with a planted restore bug (memories are
#: never written back), keeping its parent's class name "asyncify"; registered as "my-engine".
PLUGIN = '''
from resumefuzz.engines.asyncify import AsyncifyEngine


class ForgetfulEngine(AsyncifyEngine):
    def restore(self, machine, snapshot, context):
        machine.restore_globals(snapshot.globals)
        machine.restore_tables(snapshot.tables)
        machine.replay_drops()
'''
PLUGIN_ENTRY_POINTS = """[resumefuzz.engines]
my-engine = rfz_test_plugin:ForgetfulEngine
broken = rfz_no_such_module:Engine
not-an-engine = json:dumps
asyncify = rfz_test_plugin:ForgetfulEngine
"""
MEMORY_PROGRAM = """(module
  (memory 1)
  (func (export "run") (result i32) (local $i i32)
    (loop $l
      (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 5)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (i32.load (i32.const 64))))"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed engine package: a module and a dist-info with entry points, on sys.path."""
    site = tmp_path / "site"
    (site / "rfz_test_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "rfz_test_plugin.py").write_text(PLUGIN)
    (site / "rfz_test_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: rfz-test-plugin\nVersion: 1.0\n")
    (site / "rfz_test_plugin-1.0.dist-info" / "entry_points.txt").write_text(PLUGIN_ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("rfz_test_plugin", None)


def test_an_engine_is_recorded_by_the_name_it_was_selected_by(plugin: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Spec, snapshots, report and replay line name "my-engine", so the replay runs the same (faulty) engine."""
    from resumefuzz.snapshot import decode

    engine = engines.get_engine("my-engine:buffer-pages=2")
    assert type(engine).__name__ == "ForgetfulEngine" and engine.name == "my-engine"
    assert engine.spec() == "my-engine:buffer-pages=2"
    assert json.loads(engine.config_json())["engine"] == "my-engine"
    module, out = tmp_path / "p.wat", tmp_path / "out"
    module.write_text(MEMORY_PROGRAM)
    assert main(["check", str(module), "--engine", "my-engine:buffer-pages=2", "--schedule", "at:6",
                 "--out", str(out)]) == 1
    report = capsys.readouterr().out
    assert '"engine":"my-engine"' in report
    snapshots = sorted((out / "snapshots").glob("*.rfzsnap"))
    assert snapshots and {decode(path.read_bytes()).engine for path in snapshots} == {"my-engine"}
    assert json.loads((out / "verdict.json").read_text())["engine"]["engine"] == "my-engine"
    replay = next(line for line in report.splitlines() if line.startswith("replay:   "))
    argv = shlex.split(replay.removeprefix("replay:"))
    assert argv[argv.index("--engine") + 1] == "my-engine:buffer-pages=2"
    assert main(argv[1:]) == 1  # the finding reproduces: the replay ran the forgetful engine, not asyncify


def test_a_broken_plugin_breaks_only_itself(plugin: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Plug-ins load lazily: a broken one is reported by name when selected; every other engine works."""
    assert type(engines.get_engine("asyncify")) is AsyncifyEngine  # a plug-in cannot take a built-in name
    assert engines.get_engine("faulty:drop-output").name == "faulty"
    assert engines.engine_names() == ["asyncify", "asyncify-compatible", "faulty", "broken", "my-engine",
                                      "not-an-engine"]
    with pytest.raises(BadInput, match=r"engine plug-in 'broken' \(rfz_no_such_module:Engine\) failed to load: "
                                       r"ModuleNotFoundError"):
        engines.get_engine("broken")
    with pytest.raises(BadInput, match=r"engine plug-in 'not-an-engine' \(json:dumps\) is not an Engine subclass"):
        engines.get_engine("not-an-engine")
    with pytest.raises(BadInput, match=r"unknown engine 'nope' \(available: asyncify, asyncify-compatible:CMD, "
                                       r"faulty:FAULT, broken, my-engine, not-an-engine\)"):
        engines.get_engine("nope")
    module = tmp_path / "p.wat"
    module.write_text(MEMORY_PROGRAM)
    assert main(["check", str(module), "--engine", "broken"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "engine plug-in 'broken'" in err, err
    assert main(["check", str(module), "--engine", "asyncify"]) == 0


def test_name_is_not_an_option() -> None:
    with pytest.raises(BadInput, match="'name' is not an option"):
        engines.get_engine("asyncify:name=other")


def test_engines_declare_the_options_a_campaign_fuzzes(plugin: Path) -> None:
    assert AsyncifyEngine.option_space == {
        "optimize_level": (0, 0, 1, 2, 3), "shrink_level": (0, 0, 1, 2), "optimize_before": (False, False, True),
        "optimize_after": (False, False, True), "buffer_pages": (1, 1, 2, 16), "asserts": (False, False, True),
        "list": ("none", "none", "only", "remove", "add", "propagate-add")}
    last = lambda salt, choices: choices[-1]  # noqa: E731
    drawn = ("asserts=true,list=propagate-add,optimize-after=true,optimize-before=true,optimize-level=3,"
             "shrink-level=2,version=132")  # buffer-pages 16: default; a drawn release is always written
    assert engines.draw_spec("asyncify", last) == f"asyncify:{drawn}"
    assert engines.draw_spec("asyncify", lambda salt, choices: choices[0]) == "asyncify:buffer-pages=1,version=132"
    assert engines.draw_spec("faulty:lose-local", last) == f"faulty:lose-local,{drawn}"
    assert engines.draw_spec("my-engine", last) == f"my-engine:{drawn}"  # a plug-in inherits or declares its own
    # given options are never fuzzed; a command has no option space
    assert engines.draw_spec("asyncify:buffer-pages=2", last) == "asyncify:buffer-pages=2"
    assert engines.draw_spec("faulty:lose-local,optimize-level=0", last) == "faulty:lose-local,optimize-level=0"
    assert engines.draw_spec("asyncify-compatible:cp {in} {out}", last) == "asyncify-compatible:cp {in} {out}"
    # the draw is the campaign's: salts are stable per option
    salts: list[int] = []
    engines.draw_options(AsyncifyEngine, lambda salt, choices: salts.append(salt) or choices[0])
    assert len(set(salts)) == len(AsyncifyEngine.option_space)


class _Recording(AsyncifyEngine):
    """Asyncify that records the run context each restore gets."""

    def __init__(self, **config: object) -> None:
        super().__init__(**config)
        self.seen: list[tuple[str, int, int, dict[str, object]]] = []

    def restore(self, machine, snapshot, context):  # type: ignore[no-untyped-def]
        self.seen.append((context.label, context.restores, context.seed, dict(context.state)))
        context.state["last"] = context.restores
        super().restore(machine, snapshot, context)


def test_hooks_get_a_context_per_run() -> None:
    from resumefuzz import check, wasmtools

    engine = _Recording()
    assert check(wasmtools.parse(MEMORY_PROGRAM), engine, seed=5, schedule="at:2,4,6;at:3").exit_code == 0
    first, second = engine.seen[0][0], engine.seen[3][0]
    assert first != second and first.startswith("C[") and second.startswith("C[")
    assert engine.seen == [(first, 1, 5, {}), (first, 2, 5, {"last": 1}), (first, 3, 5, {"last": 2}),
                           (second, 1, 5, {})]  # a new run starts with a new context


def test_asyncify_says_where_a_snapshot_holds_its_saved_stack(tmp_path: Path) -> None:
    from dataclasses import replace

    from resumefuzz import judge, prepare, wasmtools
    from resumefuzz.snapshot import decode
    from resumefuzz.yieldpoints import YieldPoints

    deep = wasmtools.parse("""(module
      (func $down (param $n i32) (result i32)
        (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 1))
          (else (i32.add (local.get $n) (call $down (i32.sub (local.get $n) (i32.const 1)))))))
      (func (export "run") (result i32) (call $down (i32.const 6))))""")
    engine = AsyncifyEngine()
    prep = prepare(deep, engine, YieldPoints.parse("entry"))
    assert judge(prep, seed=0, schedule="at:7", out=tmp_path).exit_code == 0  # crossing 7: the deepest entry
    snapshot = decode(next((tmp_path / "snapshots").glob("*.rfzsnap")).read_bytes())
    stack = engine.saved_stack(snapshot, prep.layout)
    assert len(stack) >= 7 * 4 and len(stack) % 4 == 0  # a call position at least per unwound frame
    assert engine.with_saved_stack(snapshot, prep.layout, stack) == snapshot
    changed = engine.with_saved_stack(snapshot, prep.layout, bytes(len(stack)))
    assert engine.saved_stack(changed, prep.layout) == bytes(len(stack))
    # only the private memory changed (the resume data is a pointer into it)
    assert replace(changed, memories=snapshot.memories) == snapshot and changed.resume == snapshot.resume
    with pytest.raises(ValueError, match="saved stack of"):
        engine.with_saved_stack(snapshot, prep.layout, stack[:-4])


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


@pytest.mark.parametrize("kind, error", [("rejected", "EngineDefect"), ("fatal", "Unsupported"),
                                         ("invalid-output", "EngineError"), ("died", "EngineError")])
def test_binaryen_failures_are_classified(monkeypatch: pytest.MonkeyPatch, kind: str, error: str) -> None:
    """Binaryen's validator refusing a (valid) module is an engine defect, anything else it cannot do
    unsupported (tests/unit/test_engine_defects.py has the real cases); Binaryen failing on one it
    accepted is an engine error."""
    from resumefuzz import binaryen, errors

    class Failing:
        def run_passes(self, *args: object, **kwargs: object) -> bytes:
            raise binaryen.BinaryenError(f"what Binaryen said ({kind})", kind)

    monkeypatch.setattr(binaryen, "worker", lambda version=None: Failing())
    with pytest.raises(getattr(errors, error), match=rf"what Binaryen said \({kind}\)"):
        AsyncifyEngine().transform(b"\0asm\1\0\0\0", ("rfz", "suspend"))
