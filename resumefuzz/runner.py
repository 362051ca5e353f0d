"""Drive a module through its call plan: straight (A, B) or interrupted (C).

The driver mirrors wasmtime's differential oracle: instantiate, run the start
function (exported by the harness), then call every exported function in
export order with deterministic arguments; a trap ends the sequence.

An interrupted run suspends at the crossings its schedule names.  At each:
the engine unwinds, the harness captures a :class:`Snapshot`, serializes it
to bytes, drops the Store and Instance, instantiates afresh, decodes the
bytes, restores (memories grown first), and the engine rewinds.  Only the
bytes carry state across: host state (outputs so far, input position, call
position, completed calls) travels inside the snapshot too, and is rebuilt
before the engine restores the rest.  A WASI program's host state
(:class:`~resumefuzz.wasi.host.WasiState`: descriptors, offsets, files,
clocks, random position, stdout/stderr) travels the same way; its clock
readings are recorded by the run itself (``Observation.clocks``), never
restored, so a restore that moves a clock back is seen.  ``proc_exit`` ends
the call sequence with an exit code (an outcome, not a trap); a WASI command
whose ``_start`` returns exits 0.  Every engine hook gets the run's
:class:`~resumefuzz.engines.RunContext` (label, seed, restore number, the
engine's per-run scratch space).
"""

from __future__ import annotations

import wasmtime

from . import snapshot as snapshot_codec
from .hop import Departure, Restoring
from .abi import CROSSINGS_KEY, DEPTH_KEY, NEVER, SITE_KEY, TARGET_KEY, Layout, dropped_key, program_key
from .control import DELAY, ControlThread, Flag
from .engines import Engine, RunContext
from .engines.asyncify import ResumeBufferExhausted
from .host import HostState, argument
from .limits import MAX_SUSPENSIONS
from .observation import Observation, Probe
from .runtime import EXHAUSTION, CapExceeded, Machine, Runtime, trap_code
from .state import CallRecord, Snapshot, TableImage
from .values import Value
from .wasi import PREOPEN_FD, WasiInputs
from .wasi.host import OutputExceeded, ProcExit, WasiState

INSTANTIATE = "<instantiate>"


class SpuriousSuspension(Exception):
    """A module in yield-point mode ``flag`` called the suspending import with no raise of its flag since
    the instance was attached and at no scheduled crossing (the flag stayed set: never cleared, or the
    program wrote it).  It ends the run; ``Observation.spurious`` names the crossing."""

    def __init__(self, crossing: int) -> None:
        super().__init__(f"spurious suspension at crossing {crossing}: the flag was set with no raise "
                         f"and no scheduled crossing")
        self.crossing = crossing
_DROPPED = dropped_key("", "")  # the keys of the harness's drop flags start so


def run(
    runtime: Runtime,
    seed: int,
    label: str,
    *,
    engine: Engine | None = None,
    crossings: tuple[int, ...] = (),
    keep_snapshots: bool = False,
    wasi: WasiInputs | None = None,
    shadow_stack: str | None = None,
    restore: Restoring | None = None,
    thread: bool | tuple[float, float] = False,
) -> Observation:
    """Run RUNTIME's module through its call plan.  WASI: the inputs of a WASI program (default
    ``WasiInputs()``; ignored for a module that imports no WASI).  SHADOW_STACK: the key of the
    ``__stack_pointer`` global (default for a WASI module: global 0 if it is a mutable i32).
    RESTORE: where, and under which wasmtime configuration, each snapshot is restored
    (:mod:`resumefuzz.hop`; default: a fresh instance of RUNTIME in this process).  THREAD: a control
    thread raises the flag of a module in yield-point mode ``flag`` at seeded random delays
    (:mod:`resumefuzz.control`) until the run ends; each raise it notices suspends the run.  With
    RESTORE in other processes, each restoring process runs a control thread of its own (seeded from
    SEED and its restore number), so suspensions keep hopping."""
    interrupted = _Run(runtime, seed, label, engine, crossings, keep_snapshots, wasi, shadow_stack, restore, thread)
    try:
        return interrupted.execute()
    except Departure as departure:  # the rest of the run happens in other processes
        from .hop import relay

        interrupted.stop_control()  # this process's instance is gone: its thread has nothing left to raise
        return relay(interrupted, departure.snapshot)
    finally:
        interrupted.stop_control()


def shadow_stack_key(layout: Layout, wasi: bool, named: str | None = None) -> str | None:
    """The key of the compiled program's shadow-stack pointer: NAMED (found through the name section)
    if given, else global 0 of a WASI module if it is a mutable i32, else None."""
    if named is not None and any(s.key == named for s in layout.globals):
        return named
    g0 = next((s for s in layout.globals if s.key == program_key("global", 0)), None)
    return g0.key if wasi and g0 is not None and g0.mutable and g0.type == "i32" else None


class _Run:
    def __init__(self, runtime: Runtime, seed: int, label: str, engine: Engine | None,
                 crossings: tuple[int, ...], keep: bool, wasi: WasiInputs | None = None,
                 shadow_stack: str | None = None, restore: Restoring | None = None,
                 thread: bool | tuple[float, float] = False, stream: str = "") -> None:
        self.runtime = runtime
        self.restore = restore
        self.seed = seed
        self.engine = engine
        self.targets = sorted(crossings)[:MAX_SUSPENSIONS]
        self.target_set = frozenset(self.targets)
        self.keep = keep
        self.suspended = False
        self.resuming = False
        self.obs = Observation(label)
        self.context = RunContext(label, seed)
        self.has_counter = any(s.key == CROSSINGS_KEY for s in runtime.layout.globals)
        self.wasi = (wasi if wasi is not None else WasiInputs()) if runtime.wasi else None
        self.shadow_stack = shadow_stack_key(runtime.layout, runtime.wasi, shadow_stack)
        self.initial_stack: int | None = None
        self.exit_code: int | None = None  # proc_exit's, once called
        runtime.on_suspend = self._on_suspend
        #: the flag of a module in yield-point mode ``flag`` (resumefuzz.control): attached to each
        #: instance by _aim, detached at each suspension; its value travels to the fresh instance
        self.flag = Flag() if runtime.flagged else None
        self.flag_value = 0
        #: (low, high) seconds between raises of a control thread (None: none), what a restoring process is told
        self.thread: tuple[float, float] | None = (thread if isinstance(thread, tuple) else DELAY) if thread else None
        self.control = ControlThread(self.flag, seed, self.thread, stream) \
            if self.thread is not None and self.flag is not None and engine is not None else None
        if self.control is not None:
            self.obs.signals = 0
        #: suspensions and raises of this run in other processes (resumefuzz.hop: restoring processes report
        #: theirs; a restoring process is told how many came before it, for MAX_SUSPENSIONS)
        self.suspended_before = 0
        self.signals_elsewhere = 0

    # -- the suspend import ----------------------------------------------------
    def _on_suspend(self) -> None:
        machine = self.runtime.machine
        assert machine is not None
        if self.resuming:
            assert self.engine is not None
            self.engine.finish_resume(machine, self.context)
            self.resuming = False
            return
        if self.flag is not None:
            self.flag_value, raised = self.flag.detach()
            crossing = machine.read_global(machine.slot(CROSSINGS_KEY)).bits or 0
            if self.engine is None or not (raised or crossing in self.target_set):
                self.obs.spurious.append(crossing)
                raise SpuriousSuspension(crossing)
        assert self.engine is not None
        self.suspended = True
        self.engine.start_suspend(machine, self.context)

    def stop_control(self) -> None:
        """Stop the control thread (if any) and take its count of raises (with other processes')."""
        if self.control is not None:
            self.control.stop()
            self.obs.signals = self.control.flag.raises + self.signals_elsewhere

    # -- driver ------------------------------------------------------------------
    def _host_state(self) -> HostState:
        host = HostState(self.seed)
        if self.wasi is not None:
            host.wasi = WasiState.fresh(self.wasi, self.seed)
            host.wasi.on_clock = self._clock
        return host

    def _clock(self, clock: int, value: int) -> None:
        self.obs.clocks.append((clock, value))

    def execute(self, start: Machine | None = None) -> Observation:
        """The run; from START, a restored instance, when it continues in another process (resumefuzz.hop)."""
        if start is not None:
            machine = start
        else:
            try:
                machine = self.runtime.instantiate(self._host_state())
            except wasmtime.Trap as exc:  # an out-of-bounds active segment traps instantiation itself
                self.obs.calls = [CallRecord(INSTANTIATE, trap_code(exc), ())]
                self.runtime.on_suspend = None
                return self.obs
            self.initial_pages = machine.program_pages()
            if self.shadow_stack is not None:
                self.initial_stack = machine.read_global(machine.slot(self.shadow_stack)).bits
            self._aim(machine)
        plan = self.runtime.layout.calls
        while self._host().call_position < len(plan):
            position = self._host().call_position
            spec = plan[position]
            args = [argument(self.seed, position, i, t) for i, t in enumerate(spec.params)]
            try:
                results = machine.call(spec, args)
                while self.suspended:
                    machine = self._cycle(machine)
                    results = machine.call(spec, args)
            except wasmtime.Trap as exc:
                code = trap_code(exc)
                if code in EXHAUSTION:
                    self.obs.exhausted = f"{code} in {spec.name}"
                elif self.suspended and code == "MEMORY_OUT_OF_BOUNDS":
                    self.obs.exhausted = "resume buffer exhausted while unwinding"
                self._host().completed.append(CallRecord(spec.name, code, ()))
                break
            except SpuriousSuspension:  # the finding is Observation.spurious; the run ends here
                self.suspended = False
                machine = self.runtime.machine  # type: ignore[assignment]
                break
            except (ResumeBufferExhausted, CapExceeded, OutputExceeded) as exc:  # a capacity limit, not a divergence
                self.obs.exhausted = str(exc)
                machine = self.runtime.machine  # type: ignore[assignment]
                break
            except ProcExit as exc:  # the program ended itself: an outcome (exit code), not a trap
                self.exit_code = exc.code
                machine = self.runtime.machine  # type: ignore[assignment]
                self._host().completed.append(CallRecord(spec.name, None, ()))
                break
            self._host().completed.append(CallRecord(spec.name, None, results))
            self._host().call_position += 1
        return self._finish(machine)

    def _host(self) -> HostState:
        assert self.runtime.host is not None
        return self.runtime.host

    def _aim(self, machine: Machine) -> None:
        """Point the in-wasm crossing target at the next scheduled crossing, and the flag (mode ``flag``) at
        MACHINE's flag byte, holding the value it had when the run last suspended."""
        if self.flag is not None:
            self.flag.attach(*machine.flag_address(), self.flag_value)
            if self.suspended_before + len(self.obs.suspensions) >= MAX_SUSPENSIONS:  # the cap: no more raises
                self.flag.close()
            if self.control is not None and not self.control.started:
                self.control.start()
        if not self.has_counter:
            return
        done = machine.read_global(machine.slot(CROSSINGS_KEY)).bits or 0
        upcoming = [c for c in self.targets if c > done]
        target = upcoming[0] if upcoming and self.engine is not None else NEVER
        machine.write_global(machine.slot(TARGET_KEY), Value("i64", target))

    def _cycle(self, machine: Machine) -> Machine:
        """Suspend → snapshot → bytes → fresh instance → restore → resume."""
        assert self.engine is not None
        engine, runtime, context = self.engine, self.runtime, self.context
        resume = engine.finish_suspend(machine, context)
        self.suspended = False
        captured = machine.capture_globals()
        by_key = {s.key: image.value.bits for s, image in zip(runtime.layout.globals, captured)}
        crossing = by_key.get(CROSSINGS_KEY) or 0
        self.obs.suspensions.append(crossing)
        grown = any(p > q for p, q in zip(machine.program_pages(), self.initial_pages))
        tables = machine.capture_tables()
        self.obs.probes.append(self._probe(crossing, by_key, grown, tables))
        snap = Snapshot(
            module_sha256=runtime.sha256,
            engine=engine.name,
            engine_config=engine.config_json(),
            host=self._host().image(),
            globals=captured,
            memories=machine.capture_memories(),
            tables=tables,
            resume=resume,
        )
        data = snapshot_codec.encode(snap)
        if self.keep:
            self.obs.snapshots.append(data)
        del machine, snap
        runtime.machine = None  # drop the Store and Instance
        if self.restore is not None and self.restore.process:
            raise Departure(data)  # another process restores it (resumefuzz.hop.relay)
        return self._arrive(data)

    def _arrive(self, data: bytes) -> Machine:
        """Bytes → fresh instance → restore → resume, on the restoring runtime (RESTORE's, if it has one:
        another wasmtime configuration; the run goes on there)."""
        assert self.engine is not None
        target = self.restore.runtime if self.restore is not None and self.restore.runtime is not None \
            else self.runtime
        if target is not self.runtime:
            self.runtime.on_suspend, target.on_suspend = None, self._on_suspend
            self.runtime = target
        engine, runtime, context = self.engine, self.runtime, self.context
        decoded = snapshot_codec.decode(data, module_sha256=runtime.sha256)
        host = HostState.from_image(self.seed, decoded.host)
        if host.wasi is not None:
            host.wasi.on_clock = self._clock
        fresh = runtime.instantiate(host)
        context.restores += 1
        engine.restore(fresh, decoded, context)
        self._aim(fresh)
        engine.start_resume(fresh, decoded.resume, context)
        self.resuming = True
        return fresh

    def _probe(self, crossing: int, by_key: dict[str, int | None], grown: bool,
               tables: tuple[TableImage, ...]) -> Probe:
        """What the suspension at CROSSING reaches (liveness counters; nothing here is judged)."""
        layout, initial = self.runtime.layout, self.runtime.initial_tables or {}
        program = [s for s in layout.memories if s.origin == "program"]
        wasi = self._host().wasi
        return Probe(
            crossing, by_key.get(SITE_KEY) or 0, by_key.get(DEPTH_KEY) or 0, grown,
            table_changed=any(t.entries != initial.get(t.index) for t in tables
                              if layout.tables[t.index].origin == "program"),
            dropped=any(bits for key, bits in by_key.items() if key.startswith(_DROPPED)),
            memory64=any(s.type == "memory64" for s in program),
            memories=len(program),
            shadow_stack=self.shadow_stack is not None and by_key.get(self.shadow_stack) != self.initial_stack,
            files_open=wasi is not None and any(fd > PREOPEN_FD for fd in wasi.fds),
            output_written=wasi is not None and bool(wasi.stdout or wasi.stderr),
        )

    def _finish(self, machine: Machine) -> Observation:
        obs, host, layout = self.obs, self._host(), self.runtime.layout
        self.runtime.refuel(machine.store)  # the harness's accessors must run even after exhaustion
        obs.calls = list(host.completed)
        obs.outputs = list(host.outputs)
        obs.globals = {s.key: image.value for s, image in zip(layout.globals, machine.capture_globals())}
        try:  # sizes are checked before anything is copied
            obs.memories = {layout.memories[m.index].key: m for m in machine.capture_memories()}
            obs.tables = {layout.tables[t.index].key: t for t in machine.capture_tables()}
        except CapExceeded as exc:
            obs.exhausted = obs.exhausted or str(exc)
        if self.has_counter:
            obs.crossings = obs.globals[CROSSINGS_KEY].bits
        if host.wasi is not None:
            returned = not obs.exhausted and len(host.completed) == len(layout.calls) \
                and all(c.trap is None for c in host.completed)
            obs.wasi = host.wasi.outcome(self.exit_code if self.exit_code is not None else 0 if returned else None)
            host.wasi.on_clock = None
        self.runtime.on_suspend = None
        return obs
