"""Restoring elsewhere (resumefuzz.hop): restore configurations, the hop protocol, the planted faults.

Runs C restored in other processes, or under other wasmtime settings, must match B exactly as an
in-process restore does; a restoring process that crashes, hangs, answers garbage or refuses the
snapshot is a finding (``hop``), never a traceback; a configuration the module cannot be compiled
under is refused before anything runs.
"""

from __future__ import annotations

import sys
import threading

import pytest

from resumefuzz import hop, snapshot
from resumefuzz.abi import TARGET_KEY, CROSSINGS_KEY
from resumefuzz.checker import DIVERGENT, EQUAL, Judge, judge
from resumefuzz.engines import get_engine
from resumefuzz.engines.asyncify import AsyncifyEngine
from resumefuzz.errors import BadInput, Unsupported
from resumefuzz.oracles import compare
from resumefuzz.preparation import prepare
from resumefuzz.runner import run
from resumefuzz.schedule import Schedule
from resumefuzz.wasmtools import parse as parse_text
from resumefuzz.yieldpoints import YieldPoints

#: a loop that writes memory, a global and an output per iteration (20 iterations, ~385 crossings)
LOOP = """
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "run") (param i32) (result i32)
    (local $i i32)
    (loop $l
      (global.set $g (i32.add (global.get $g) (local.get $i)))
      (i32.store (i32.mul (local.get $i) (i32.const 4)) (global.get $g))
      (call $out (global.get $g))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20))))
    (global.get $g)))
"""

SIMD = """
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (result i32)
    (local $i i32) (local $v v128)
    (loop $l
      (local.set $v (i32x4.add (local.get $v) (i32x4.splat (local.get $i))))
      (call $out (i32x4.extract_lane 2 (local.get $v)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
    (i32x4.extract_lane 1 (local.get $v))))
"""

#: crossings late enough that outputs were emitted before each suspension
LATE = Schedule("at:100,200,300", (100, 200, 300))


@pytest.fixture(scope="module")
def loop_prep():
    return prepare(parse_text(LOOP), get_engine("asyncify"), YieldPoints.parse("all"))


def _interrupted(prep, restore, *, keep: bool = False):
    judge_ = Judge(prep, 0, restore=restore)
    finding, c = judge_.interrupted(LATE, keep_snapshots=keep)
    return judge_, finding, c


# -- restore configurations ------------------------------------------------------------------------


def test_restore_config_parses_every_key_and_prints_canonically():
    config = hop.RestoreConfig.parse("opt=none, interrupt=epoch,stack=1MiB,parallel=off,simd=off")
    assert config == hop.RestoreConfig("none", "epoch", 1 << 20, False, False)
    assert config.spec("speed", 2 << 20) == "opt=none,interrupt=epoch,stack=1MiB,parallel=off,simd=off"
    assert hop.RestoreConfig.parse("stack=512KiB").spec("speed_and_size", 2 << 20) == \
        "opt=speed_and_size,interrupt=fuel,stack=512KiB,parallel=on"
    settings = config.settings("speed", 2 << 20)
    assert settings["consume_fuel"] is False and settings["epoch_interruption"] is True
    assert settings["opt_level"] == "none" and settings["max_wasm_stack"] == 1 << 20


def test_random_restore_configs_are_drawn_from_the_seed():
    drawn = {hop.RestoreConfig.parse("random", seed) for seed in range(40)}
    assert hop.RestoreConfig.parse("random", 7) == hop.RestoreConfig.parse("random", 7)
    assert {c.opt for c in drawn} == set(hop.OPT_LEVELS) and {c.interrupt for c in drawn} == {"fuel", "epoch"}
    assert all(c.simd for c in drawn)  # never drawn off: most modules would be unsupported
    assert hop.RestoreConfig.parse("random,opt=none", 3).opt == "none"  # a later key overrides the draw


@pytest.mark.parametrize("spec, message", [
    ("opt=fast", "opt must be one of"), ("interrupt=signal", "fuel or epoch"), ("stack=4MiB", "between"),
    ("stack=lots", "not a size"), ("parallel=yes", "on or off"), ("colour=red", "unknown key"), ("opt", "key=value"),
    ("opt=none,,", "empty item"),
])
def test_bad_restore_configs_are_bad_input(spec, message):
    with pytest.raises(BadInput, match=message):
        hop.RestoreConfig.parse(spec)


def test_a_config_the_module_cannot_be_compiled_under_is_refused_with_the_reason():
    prep = prepare(parse_text(SIMD), get_engine("asyncify"), YieldPoints.parse("all"))
    with pytest.raises(Unsupported, match=r"cannot restore under --restore-config .*simd=off.*SIMD support is not enabled"):
        hop.restoring(prep, "process", "simd=off", 0)
    assert hop.restoring(prep, None, None, 0) is None  # nothing asked: the plain in-process restore


# -- in this process, another configuration --------------------------------------------------------


@pytest.mark.parametrize("config", ["opt=none,interrupt=epoch,stack=1MiB,parallel=off", "opt=speed_and_size"])
def test_in_process_restore_under_another_config_matches_and_moves_the_run(loop_prep, config):
    restore = hop.restoring(loop_prep, "here", config, 0)
    assert restore is not None and restore.runtime is not None and not restore.process
    judge_, finding, c = _interrupted(loop_prep, restore)
    assert finding is None and c.suspensions == [100, 200, 300] and not c.exhausted
    assert restore.runtime.host is not None  # the restored instances were the restore config's
    assert restore.runtime.metered == ("epoch" not in config)


# -- in other processes ----------------------------------------------------------------------------


@pytest.mark.parametrize("place", ["process", "process:artifact"])
def test_a_run_restored_in_other_processes_matches_the_in_process_one(loop_prep, place):
    restore = hop.restoring(loop_prep, place, None, 0)
    assert restore is not None and restore.process
    try:
        judge_, finding, c = _interrupted(loop_prep, restore, keep=True)
    finally:
        restore.close()
    assert restore.hops == 3 and finding is None
    local = Judge(loop_prep, 0).interrupted(LATE)[1]
    assert c.suspensions == local.suspensions == [100, 200, 300]
    assert [p.crossing for p in c.probes] == [100, 200, 300]
    assert not compare(local, c, exclude={TARGET_KEY})  # every facet, the crossing counter included
    assert c.crossings == local.crossings and c.globals[CROSSINGS_KEY] == local.globals[CROSSINGS_KEY]
    # the snapshots a child sent back are snapshots of the same module, in order
    assert [snapshot.decode(s, module_sha256=judge_.suspendable.sha256).host.outputs for s in c.snapshots] \
        == [snapshot.decode(s).host.outputs for s in Judge(loop_prep, 0).interrupted(LATE, keep_snapshots=True)[1].snapshots]


def test_a_divergence_in_the_restoring_process_comes_back_as_a_finding():
    """A restore fault acting in the child (drop-output: the engine is rebuilt there from its spec) is
    judged in the judging process as usual."""
    prep = prepare(parse_text(LOOP), get_engine("faulty:drop-output"), YieldPoints.parse("all"))
    verdict = judge(prep, seed=0, schedule="at:100,200,300", restore_in="process")
    assert verdict.status == DIVERGENT and "output" in verdict.facets, verdict.report
    assert "3 hop(s) between processes" in verdict.report


def test_restore_in_process_is_recorded_in_the_report_and_replay_line(loop_prep):
    verdict = judge(loop_prep, seed=0, schedule="at:100,200,300", restore_in="process:artifact",
                    restore_config="opt=none,interrupt=epoch")
    assert verdict.status == EQUAL, verdict.report
    assert verdict.replay_args[-4:] == ("--restore-in", "process:artifact", "--restore-config",
                                        "opt=none,interrupt=epoch,stack=2MiB,parallel=on")
    assert "--restore-in process:artifact --restore-config opt=none,interrupt=epoch" in verdict.report
    assert "3 hop(s) between processes" in verdict.report


# -- a restoring process that misbehaves -------------------------------------------------------------


@pytest.mark.parametrize("script, message", [
    ("import os; os.abort()", "died of signal SIGABRT"),
    ("import sys; sys.stdin.buffer.read(); sys.exit(9)", "exited with code 9"),
    ("import time; time.sleep(30)", "did not finish within 2 s"),
    ("import sys; sys.stdout.write('hello')", "not a reply"),
    ("import sys, struct; sys.stdout.buffer.write(b'RFZR' + struct.pack('<Q', 1 << 40))", "claims a JSON of"),
    ("import sys, struct; sys.stdout.buffer.write(b'RFZR' + struct.pack('<Q', 2) + b'{}' + struct.pack('<Q', 0) * 2)",
     "no known kind"),
])
def test_a_child_that_crashes_hangs_or_answers_garbage_is_a_finding(loop_prep, monkeypatch, script, message):
    monkeypatch.setattr(hop, "_command", lambda: [sys.executable, "-c", script])
    restore = hop.restoring(loop_prep, "process", None, 0)
    assert restore is not None
    restore.timeout = 2.0
    try:
        _, finding, _ = _interrupted(loop_prep, restore)
    finally:
        restore.close()
    assert finding is not None and finding.facets == ["hop"]
    assert message in finding.divergences[0].detail


def test_a_reply_is_parsed_strictly():
    good = hop._REPLY + hop._frame(b'{"kind": "departed"}', b"xyz", b"")
    assert hop._parse_reply(good) == ({"kind": "departed"}, b"xyz", b"")
    for bad in (good[:-1], good + b"!", good[:10], b"RFZR" + hop._frame(b"[1]", b"")):
        with pytest.raises(hop.HopFailed):
            hop._parse_reply(bad)


def test_layout_crosses_as_json(loop_prep):
    assert hop.layout_from_json(hop.layout_json(loop_prep.layout)) == loop_prep.layout


# -- the planted faults ------------------------------------------------------------------------------


def test_foreign_module_is_refused_by_the_snapshot_identity():
    prep = prepare(parse_text(LOOP), get_engine("faulty:foreign-module"), YieldPoints.parse("all"))
    assert judge(prep, seed=0, schedule="at:100,200,300").status == EQUAL  # in-process it restores correctly
    verdict = judge(prep, seed=0, schedule="at:100,200,300", restore_in="process")
    assert verdict.status == DIVERGENT and verdict.facets == ["hop"], verdict.report
    assert "refused the snapshot: snapshot section MODL: snapshot belongs to another module" in verdict.report


def test_drop_host_across_processes_is_a_divergence():
    prep = prepare(parse_text(LOOP), get_engine("faulty:drop-host-across-processes"), YieldPoints.parse("all"))
    assert judge(prep, seed=0, schedule="at:100,200,300").status == EQUAL
    verdict = judge(prep, seed=0, schedule="at:100,200,300", restore_in="process")
    assert verdict.status == DIVERGENT and "output" in verdict.facets, verdict.report


def test_the_engines_run_state_crosses_processes():
    """RunContext.state travels with each hop: stale-snapshot (it keeps the previous snapshot there) is
    caught across processes exactly as in process (before, each child started with an empty state)."""
    prep = prepare(parse_text(LOOP), get_engine("faulty:stale-snapshot"), YieldPoints.parse("all"))
    here = judge(prep, seed=0, schedule="at:100,200,300")
    there = judge(prep, seed=0, schedule="at:100,200,300", restore_in="process")
    assert here.status == there.status == DIVERGENT and here.facets == there.facets == ["output"], there.report


class _KeepsAnObject(AsyncifyEngine):
    """A real Asyncify engine whose hooks keep something no process boundary can carry in the run state."""

    def finish_suspend(self, machine, context):
        context.state["lock"] = threading.Lock()
        return super().finish_suspend(machine, context)


def test_run_state_that_cannot_cross_processes_is_refused_clearly(loop_prep):
    prep = prepare(parse_text(LOOP), _KeepsAnObject(), YieldPoints.parse("all"))
    assert judge(prep, seed=0, schedule="at:100").status == EQUAL  # in process it never leaves
    with pytest.raises(Unsupported, match=r"keeps run state that cannot cross processes .*\['lock'\] holds a lock"):
        judge(prep, seed=0, schedule="at:100", restore_in="process")


def test_runs_without_a_restore_still_restore_here(loop_prep):
    """No RESTORE: the runner restores into the run's own runtime (nothing leaves the process)."""
    c = run(loop_prep.suspendable_runtime(), 0, "C", engine=loop_prep.engine, crossings=(100,))
    assert c.suspensions == [100] and not c.exhausted
