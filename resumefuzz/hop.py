"""Restoring elsewhere: in another process, under another wasmtime configuration.

An embedder parks an instance and usually restores it somewhere else: another
process, often with other engine settings.  Two knobs of an interrupted run C
(``check --restore-in``, ``--restore-config``) test that path:

``--restore-in process``
    At each suspension the snapshot bytes leave the judging process.  A child
    (a fresh interpreter: ``sys.executable -c``, the package on PYTHONPATH, its
    own process group, killed with its parent, HOP_TIMEOUT of wall clock)
    gets one request on stdin -- a JSON header (seed, engine spec, the crossings
    still to suspend at, the restore count, the layout, the wasmtime settings),
    the prepared suspendable module's bytes (or, with ``process:artifact``, also
    wasmtime's serialized artifact of it, loaded instead of compiling), and the
    snapshot.  It builds a fresh ``wasmtime.Engine``, loads the module, decodes
    the snapshot checking its module identity (sha256 of the module bytes the
    child loaded), restores, and runs on: to the next suspension, whose
    snapshot bytes it hands back (the judging process then starts the next
    hop), or to the end, whose final state comes back as a snapshot too (no
    resume data; the child's host image holds calls, outputs and WASI state)
    with the run's remaining facts as JSON.  The judging process assembles the
    observation and judges it as any other run C.  Every reply is read against
    a size bound (HOP_MAX_REPLY) as it arrives, and its snapshot is decoded by
    the bounds-checked codec.  A child that crashes, hangs, refuses the
    snapshot or answers garbage is a finding (facet ``hop``, exit 1), never a
    traceback of the harness.

``--restore-config SPEC``
    The restoring side compiles the prepared module under other wasmtime
    settings: ``opt=none|speed|speed_and_size``, ``interrupt=fuel|epoch``
    (epoch: no fuel, EPOCH_BUDGET seconds of wall clock per instance),
    ``stack=SIZE`` (max wasm stack: ``512KiB``, ``1MiB``, ...), ``parallel=on|off``
    (parallel compilation), ``simd=on|off``; keys not given keep the suspending
    side's values.  ``random`` draws opt, interrupt, stack and parallel from
    ``--seed`` (further keys override the draw).  In-process, the first restore
    moves the run to the restoring runtime and it stays there.  A module the
    restoring configuration cannot compile is refused before anything runs
    (Unsupported, exit 3, with wasmtime's reason); a smaller stack that
    overflows is a budget (inconclusive), as in any run.
"""

from __future__ import annotations

import json
import os
import random
import re
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BadInput, Unsupported
from .engines.interface import MAX_STATE_BYTES
from .limits import MAX_SNAPSHOT_MEMORY_PAGES, MAX_TABLE_ENTRIES

if TYPE_CHECKING:  # pragma: no cover
    from .abi import Layout
    from .observation import Observation
    from .preparation import Preparation
    from .runner import _Run
    from .runtime import Runtime

#: where snapshots may be restored (``--restore-in``)
PLACES = ("here", "process", "process:artifact")
#: wall-clock limit of one hop's child process (seconds)
HOP_TIMEOUT = 60.0
#: the JSON part of a reply, and a whole reply (JSON + the largest snapshot the codec accepts, with its
#: block indices, tables and host state); a child that writes more is a finding, read no further
HOP_MAX_JSON = 64 * 1024 * 1024
HOP_MAX_REPLY = HOP_MAX_JSON + MAX_SNAPSHOT_MEMORY_PAGES * 65536 * 2 + MAX_TABLE_ENTRIES * 8 + 64 * 1024 * 1024 \
    + MAX_STATE_BYTES
#: stderr kept of a failing child (its tail is quoted in the finding)
_STDERR_KEEP = 64 * 1024

_REQUEST, _REPLY = b"RFZH", b"RFZR"
_U64 = struct.Struct("<Q")


class Departure(Exception):
    """Raised by the runner at a suspension whose snapshot another process restores."""

    def __init__(self, snapshot: bytes) -> None:
        super().__init__("snapshot departs")
        self.snapshot = snapshot


class HopFailed(Exception):
    """The restoring process did not carry the run on (crash, hang, refusal, bad reply): a finding.

    ``observation``: the run so far (its suspensions and probes up to the failed hop), once known."""

    observation: "Observation | None" = None


# -- restore configurations -----------------------------------------------------------------------

OPT_LEVELS = ("none", "speed", "speed_and_size")
_SIZE = re.compile(r"(\d+)\s*(B|KiB|MiB)?", re.IGNORECASE)
_UNIT = {"b": 1, "kib": 1024, "mib": 1024 * 1024}
#: the max wasm stack a restore configuration may ask for (wasmtime 50 refuses -- aborts the process --
#: a max wasm stack beyond its async stack size, 2 MiB, which wasmtime-py cannot change)
STACK_RANGE = (16 * 1024, 2 * 1024 * 1024)
_BOOL = {"on": True, "off": False}
#: what ``random`` draws from (simd=off is never drawn: most modules would then be unsupported)
_DRAWS: dict[str, tuple[Any, ...]] = {"opt": OPT_LEVELS, "interrupt": ("fuel", "epoch"),
                                      "stack": (1 << 20, 2 << 20, 2 << 20), "parallel": (True, False)}


def _size_text(n: int) -> str:
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


@dataclass(frozen=True)
class RestoreConfig:
    """The restoring side's wasmtime settings; None: as the suspending side."""

    opt: str | None = None
    interrupt: str = "fuel"
    stack: int | None = None
    parallel: bool = True
    simd: bool = True

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> "RestoreConfig":
        """``key=value,...`` (see the module doc); ``random`` first draws every drawable key from SEED."""
        values: dict[str, Any] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                raise BadInput(f"--restore-config {spec!r}: empty item")
            if item == "random":
                rng = random.Random(f"restore-config:{seed}")
                values.update({key: rng.choice(choices) for key, choices in _DRAWS.items()})
                continue
            key, eq, value = item.partition("=")
            if not eq:
                raise BadInput(f"--restore-config {spec!r}: {item!r} is not key=value or random")
            values[key.strip()] = _parse_value(spec, key.strip(), value.strip())
        return cls(**values)

    def spec(self, opt: str, stack: int) -> str:
        """Canonical text (every key; OPT and STACK: the suspending side's, for keys not given)."""
        items = [f"opt={self.opt or opt}", f"interrupt={self.interrupt}",
                 f"stack={_size_text(self.stack if self.stack is not None else stack)}",
                 f"parallel={'on' if self.parallel else 'off'}"]
        return ",".join(items + ([] if self.simd else ["simd=off"]))

    def settings(self, opt: str, stack: int | None) -> dict[str, Any]:
        """``runtime._config`` settings; OPT and STACK: the suspending side's, for keys not given."""
        return {"opt_level": self.opt or opt, "max_wasm_stack": self.stack if self.stack is not None else stack,
                "canonicalize_nans": False, "consume_fuel": self.interrupt == "fuel",
                "epoch_interruption": self.interrupt == "epoch", "parallel_compilation": self.parallel,
                "simd": self.simd}


def _parse_value(spec: str, key: str, value: str) -> Any:
    where = f"--restore-config {spec!r}: {key}"
    if key == "opt":
        value = value.replace("-", "_")
        if value not in OPT_LEVELS:
            raise BadInput(f"{where} must be one of {', '.join(OPT_LEVELS)}, not {value!r}")
        return value
    if key == "interrupt":
        if value not in ("fuel", "epoch"):
            raise BadInput(f"{where} must be fuel or epoch, not {value!r}")
        return value
    if key == "stack":
        match = _SIZE.fullmatch(value)
        if not match:
            raise BadInput(f"{where}: not a size: {value!r} (e.g. 512KiB, 1MiB)")
        size = int(match.group(1)) * _UNIT[(match.group(2) or "B").lower()]
        low, high = STACK_RANGE
        if not low <= size <= high:
            raise BadInput(f"{where} must be between {_size_text(low)} and {_size_text(high)}, not {value}")
        return size
    if key in ("parallel", "simd"):
        if value not in _BOOL:
            raise BadInput(f"{where} must be on or off, not {value!r}")
        return _BOOL[value]
    raise BadInput(f"--restore-config {spec!r}: unknown key {key!r} (keys: opt, interrupt, stack, parallel, simd)")


# -- what a run is told --------------------------------------------------------------------------


@dataclass
class Restoring:
    """Where an interrupted run's snapshots are restored (``runner.run``'s RESTORE).

    ``runtime``: the restoring runtime (the prepared module under the restore
    configuration; None: the run's own); ``process``: in other processes, each
    hop given ``wasm`` (and ``artifact``) compiled under ``settings``.
    """

    runtime: "Runtime | None" = None
    process: bool = False
    wasm: bytes = b""
    layout: "Layout | None" = None
    fuel: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    artifact: bytes | None = None
    timeout: float = HOP_TIMEOUT
    #: the flags that give this on a replay line, and how it is described in a report
    args: tuple[str, ...] = ()
    description: str = ""
    #: hops between processes so far (over every run given this)
    hops: int = 0
    #: start each hop's child ahead, while the previous hop runs (it compiles meanwhile)
    ahead: bool = True
    warm: "_Child | None" = field(default=None, repr=False)

    def close(self) -> None:
        """End the child started ahead for a hop that never came."""
        if self.warm is not None:
            self.warm.kill()
            self.warm = None

    def __del__(self) -> None:
        self.close()


def restoring(prep: "Preparation", place: str | None, config: str | None, seed: int) -> Restoring | None:
    """What ``--restore-in PLACE --restore-config CONFIG`` ask for PREP (None: the plain in-process restore).

    The restoring runtime is compiled here, before anything runs: a configuration the module cannot
    be compiled under is Unsupported (exit 3), with wasmtime's reason."""
    from .preparation import INSTRUMENTED_FUEL_FACTOR, INSTRUMENTED_STACK
    from .runtime import Runtime

    place = place or "here"
    if place not in PLACES:
        raise BadInput(f"--restore-in {place!r}: one of {', '.join(PLACES)}")
    if place == "here" and config is None:
        return None
    parsed = RestoreConfig.parse(config, seed) if config is not None else RestoreConfig()
    spec = parsed.spec(prep.wasmtime_opt, INSTRUMENTED_STACK)
    settings = parsed.settings(prep.wasmtime_opt, INSTRUMENTED_STACK)
    fuel = prep.fuel * INSTRUMENTED_FUEL_FACTOR
    try:
        runtime = Runtime(prep.suspendable, prep.layout, fuel=fuel, what="prepared suspendable", settings=settings)
    except Unsupported as exc:
        raise Unsupported(f"cannot restore under --restore-config {spec}: {exc}{_why(prep.suspendable, settings)}") \
            from None
    args = ("--restore-in", place) if place != "here" else ()
    args += ("--restore-config", spec) if config is not None else ()
    where = "in another process per hop" + (" (serialized artifact)" if place == "process:artifact" else "") \
        if place != "here" else "in this process"
    return Restoring(runtime=runtime if place == "here" else None, process=place != "here", wasm=prep.suspendable,
                     layout=prep.layout, fuel=fuel, settings=settings,
                     artifact=runtime.module.serialize() if place == "process:artifact" else None,
                     args=args, description=f"snapshots restored {where} under wasmtime {spec}")


def _why(wasm: bytes, settings: dict[str, Any]) -> str:
    """What wasmtime's validator under SETTINGS says of WASM (its compile error names only the function)."""
    import wasmtime

    from .runtime import _config

    try:
        wasmtime.Module.validate(wasmtime.Engine(_config(**settings)), wasm)
    except wasmtime.WasmtimeError as exc:
        return " (" + " ".join(str(exc).split())[:300] + ")"
    return ""


# -- the judging side ------------------------------------------------------------------------------


def relay(run: "_Run", data: bytes) -> "Observation":
    """Carry RUN on in other processes from the snapshot DATA, one child per hop, to its end."""
    from .snapshot import SnapshotError, decode

    restore = run.restore
    assert restore is not None and restore.layout is not None and run.engine is not None
    layout, obs = restore.layout, run.obs
    try:
        while True:
            header = {"seed": run.seed, "label": run.context.label, "targets": list(run.targets),
                      "restores": run.context.restores, "initial_pages": list(run.initial_pages),
                      "initial_stack": run.initial_stack, "shadow_stack": run.shadow_stack,
                      # yield-point mode flag: the flag byte the host carries to the fresh instance
                      "flag_value": getattr(run, "flag_value", 0),
                      # --signal thread: the restoring process runs a control thread too (seeded from the
                      # seed and the restore number), and stops raising at MAX_SUSPENSIONS in all
                      "thread": list(run.thread) if run.thread is not None else None,
                      "suspended": run.suspended_before + len(obs.suspensions)}
            state = _state_out(run)
            try:
                reply, payload, state = _hop(restore, run.engine.spec(), header, data, state)
            except HopFailed as exc:
                exc.observation = obs
                raise
            restore.hops += 1
            run.context.state = _state_in(state)
            run.signals_elsewhere += int(reply.get("signals", 0))
            obs.spurious += [int(c) for c in reply.get("spurious", ())]
            obs.suspensions += [int(c) for c in reply.get("suspensions", ())]
            obs.probes += [_probe(p) for p in reply.get("probes", ())]
            obs.clocks += [(int(c), int(v)) for c, v in reply.get("clocks", ())]
            run.context.restores = int(reply.get("restores", run.context.restores))
            if hasattr(run, "flag_value"):
                run.flag_value = int(reply.get("flag_value", 0))
            if reply["kind"] == "departed":
                if run.keep:
                    obs.snapshots.append(payload)
                data = payload
                continue
            try:
                final = decode(payload, module_sha256=run.runtime.sha256)
            except SnapshotError as exc:
                raise HopFailed(f"the restoring process sent back a final state that does not decode: {exc}") \
                    from None
            host = final.host
            obs.calls, obs.outputs = list(host.completed), list(host.outputs)
            obs.globals = {layout.globals[g.index].key: g.value for g in final.globals}
            obs.memories = {layout.memories[m.index].key: m for m in final.memories}
            obs.tables = {layout.tables[t.index].key: t for t in final.tables}
            obs.exhausted = reply.get("exhausted")
            obs.crossings = reply.get("crossings")
            if host.wasi is not None:
                obs.wasi = host.wasi.outcome(reply.get("exit"))
            return obs
    finally:
        run.runtime.on_suspend = None


def _probe(fields: Any) -> Any:
    from .observation import Probe

    return Probe(**fields)


def layout_json(layout: "Layout") -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(layout)
    data["exports"], data["visible"] = sorted(layout.exports), sorted(layout.visible)
    return data


def layout_from_json(data: dict[str, Any]) -> "Layout":
    from .abi import CallSpec, Layout, Slot

    def slots(items: list[dict[str, Any]]) -> tuple[Slot, ...]:
        return tuple(Slot(**item) for item in items)

    return Layout(slots(data["globals"]), slots(data["memories"]), slots(data["tables"]),
                  tuple(CallSpec(c["name"], c["wrapper"], tuple(c["params"]), tuple(c["results"]))
                        for c in data["calls"]),
                  data["has_redrop"], frozenset(data["exports"]), frozenset(data["visible"]))


def _frame(*parts: bytes) -> bytes:
    return b"".join(_U64.pack(len(p)) + p for p in parts)


class _Child:
    """A restoring process, started ahead of its hop: given the module at once (it compiles while the
    previous hop runs), the snapshot when its hop comes.  Each serves exactly one hop."""

    def __init__(self, restore: Restoring, engine: str) -> None:
        from .process import die_with_parent

        assert restore.layout is not None
        self.engine = engine
        setup = {"engine": engine, "fuel": restore.fuel, "settings": restore.settings,
                 "layout": layout_json(restore.layout)}
        message = _REQUEST + _frame(json.dumps(setup).encode(), restore.wasm, restore.artifact or b"")
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(_command(), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent)
        self._setup = threading.Thread(target=self._write, args=(message, False), daemon=True)
        self._setup.start()

    def _write(self, data: bytes, last: bool) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(data)
            stdin.flush()
            if last:
                stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the child ended early: its exit status tells why

    def send(self, data: bytes) -> threading.Thread:
        """The hop's message, once the setup is written (in a thread: a child that stops reading must
        not block the judging process past its deadline)."""
        def write() -> None:
            self._setup.join()
            self._write(data, True)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        return writer

    def kill(self) -> None:
        from .process import kill_group

        kill_group(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def _take(restore: Restoring, engine: str) -> _Child:
    """The child for this hop (the one started ahead, if it serves ENGINE), and the next one started."""
    child = restore.warm if restore.warm is not None and restore.warm.engine == engine else _Child(restore, engine)
    if restore.warm is not None and restore.warm is not child:
        restore.warm.kill()
    restore.warm = _Child(restore, engine) if restore.ahead else None
    return child


def _hop(restore: Restoring, engine: str, header: dict[str, Any], snapshot: bytes,
         state: bytes = b"") -> tuple[dict[str, Any], bytes, bytes]:
    """One hop: a child restores SNAPSHOT (the engine's run STATE beside it) and runs on; its reply
    (JSON, payload, the engine's run state) -- HopFailed when there is no good one, Unsupported when
    the engine's run state cannot cross processes."""
    from .process import kill_group

    child = _take(restore, engine)
    proc = child.proc
    assert proc.stdout is not None and proc.stderr is not None
    writer = child.send(_frame(json.dumps(header).encode(), snapshot, state))
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + restore.timeout
    overflow = timed_out = False
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ, out)
            selector.register(proc.stderr, selectors.EVENT_READ, err)
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                for key, _ in selector.select(timeout=left):
                    chunk = os.read(key.fd, 1 << 20)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    key.data.extend(chunk)
                    if len(err) > _STDERR_KEEP:
                        del err[:len(err) - _STDERR_KEEP]
                    if len(out) > HOP_MAX_REPLY:
                        overflow = True
                        break
                if overflow:
                    break
        if timed_out or overflow:
            kill_group(proc)
        else:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_group(proc)
    except BaseException:
        kill_group(proc)
        raise
    finally:
        writer.join(timeout=1.0)
        child.kill()  # reaps it; closes its pipes
    tail = _tail(bytes(err))
    if timed_out:
        raise HopFailed(f"the restoring process did not finish within {restore.timeout:g} s (it hung; killed)")
    if overflow:
        raise HopFailed(f"the restoring process wrote more than {HOP_MAX_REPLY} bytes (killed)")
    if proc.returncode < 0:
        raise HopFailed(f"the restoring process died of signal {signal.Signals(-proc.returncode).name}{tail}")
    if proc.returncode != 0:
        raise HopFailed(f"the restoring process exited with code {proc.returncode}{tail}")
    reply, payload, state = _parse_reply(bytes(out))
    if reply["kind"] == "unsupported":
        raise Unsupported(str(reply.get("reason")))
    if reply["kind"] == "refused":
        raise HopFailed(f"the restoring process refused the snapshot: {reply.get('reason')}")
    if reply["kind"] == "error":
        raise HopFailed(f"the restoring process failed: {reply.get('reason')}")
    return reply, payload, state


def _command() -> list[str]:
    """The restoring process: this interpreter, running :func:`_child`."""
    return [sys.executable, "-c", "from resumefuzz.hop import _child; _child()"]


def _tail(err: bytes) -> str:
    lines = [line.strip() for line in err.decode(errors="replace").splitlines() if line.strip()]
    return f" ({lines[-1][:300]})" if lines else ""


def _parse_reply(out: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """(JSON, payload, engine run state) of a reply; every length is checked against what arrived."""
    if out[:4] != _REPLY:
        raise HopFailed(f"the restoring process answered something that is not a reply "
                        f"({len(out)} bytes, starting {out[:8]!r})")
    pos, parts = 4, []
    for what, cap in (("JSON", HOP_MAX_JSON), ("payload", HOP_MAX_REPLY), ("run state", MAX_STATE_BYTES)):
        if pos + 8 > len(out):
            raise HopFailed(f"the restoring process's reply is truncated (no {what} length)")
        (length,) = _U64.unpack_from(out, pos)
        pos += 8
        if length > cap or pos + length > len(out):
            raise HopFailed(f"the restoring process's reply claims a {what} of {length} bytes, "
                            f"{len(out) - pos} arrived")
        parts.append(out[pos:pos + length])
        pos += length
    if pos != len(out):
        raise HopFailed(f"the restoring process's reply has {len(out) - pos} trailing bytes")
    try:
        reply = json.loads(parts[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise HopFailed(f"the restoring process's reply is not JSON ({exc})") from None
    if not isinstance(reply, dict) or reply.get("kind") not in ("departed", "final", "refused", "error", "unsupported"):
        raise HopFailed("the restoring process's reply has no known kind")
    return reply, parts[1], parts[2]


# -- the restoring side ------------------------------------------------------------------------------


def _read_frames(stream: Any, count: int) -> list[bytes]:
    parts = []
    for _ in range(count):
        head = stream.read(8)
        if len(head) != 8:
            raise ValueError("truncated hop request")
        (length,) = _U64.unpack(head)
        part = stream.read(length)
        if len(part) != length:
            raise ValueError("truncated hop request")
        parts.append(part)
    return parts


def _reply(reply: dict[str, Any], payload: bytes = b"", state: bytes = b"") -> None:
    sys.stdout.buffer.write(_REPLY + _frame(json.dumps(reply).encode(), payload, state))
    sys.stdout.buffer.flush()


def _child() -> None:
    """Child side of :func:`_hop`: one request on stdin, one reply on stdout (then exit 0).

    A refused snapshot or a failure of the restore is a reply (kind ``refused``/``error``); the
    caller treats anything else (a crash, a hang) as a finding too.
    """
    from dataclasses import asdict

    from .engines import get_engine
    from .runner import _Run
    from .runtime import Runtime
    from .snapshot import SnapshotError, encode
    from .state import GlobalImage, Snapshot

    stdin = sys.stdin.buffer
    if stdin.read(4) != _REQUEST:
        raise ValueError("not a hop request")
    setup_text, wasm, artifact = _read_frames(stdin, 3)
    setup = json.loads(setup_text)
    engine = get_engine(setup["engine"])
    foreign = getattr(engine, "elsewhere_module", None)  # a planted fault (engines/faults.py)
    if foreign is not None:
        changed = foreign(wasm)
        artifact, wasm = (artifact if changed == wasm else b""), changed
    layout = layout_from_json(setup["layout"])
    try:  # compiled before the snapshot comes (see _Child)
        runtime = Runtime(wasm, layout, fuel=setup["fuel"], what="restored", settings=setup["settings"],
                          artifact=artifact or None)
    except Exception as exc:  # noqa: BLE001 - every failure of the restoring side is reported
        _reply({"kind": "error", "reason": f"{type(exc).__name__}: {exc}"})
        return
    header_text, data, state = _read_frames(stdin, 3)
    header = json.loads(header_text)
    thread = header.get("thread")
    # process=True: the child departs at its next suspension (the judging process starts the next hop);
    # a control thread of its own (--signal thread), seeded from the seed and this restore's number
    run = _Run(runtime, header["seed"], header["label"], engine, tuple(header["targets"]), False,
               None, header["shadow_stack"], Restoring(process=True),
               thread=(float(thread[0]), float(thread[1])) if thread else False,
               stream=f"restore{header['restores'] + 1}")
    run.initial_pages = tuple(header["initial_pages"])
    run.initial_stack = header["initial_stack"]
    run.context.restores = header["restores"]
    run.suspended_before = int(header.get("suspended", 0))
    try:
        run.context.state = _state_in(state)
    except HopFailed as exc:
        _reply({"kind": "error", "reason": str(exc)})
        return
    if hasattr(run, "flag_value"):
        run.flag_value = header.get("flag_value", 0)
    across = getattr(engine, "elsewhere_snapshot", None)  # a planted fault (engines/faults.py)
    if across is not None:
        data = across(data)
    try:
        machine = run._arrive(data)
    except SnapshotError as exc:
        _reply({"kind": "refused", "reason": str(exc)})
        return
    except Exception as exc:  # noqa: BLE001
        _reply({"kind": "error", "reason": f"restore: {type(exc).__name__}: {exc}"})
        return
    def progress() -> dict[str, Any]:
        run.stop_control()
        return {"suspensions": run.obs.suspensions, "probes": [asdict(p) for p in run.obs.probes],
                "clocks": run.obs.clocks, "restores": run.context.restores,
                "flag_value": getattr(run, "flag_value", 0), "spurious": run.obs.spurious,
                "signals": run.control.flag.raises if run.control is not None else 0}

    def state_out() -> bytes | None:
        try:
            return _state_out(run)
        except Unsupported as exc:
            _reply({"kind": "unsupported", "reason": str(exc)})
            return None

    try:
        obs = run.execute(start=machine)
    except Departure as departure:
        kept = state_out()
        if kept is not None:
            _reply({"kind": "departed", **progress()}, departure.snapshot, kept)
        return
    except Exception as exc:  # noqa: BLE001
        run.stop_control()
        _reply({"kind": "error", "reason": f"{type(exc).__name__}: {exc}"})
        return
    host = run._host()
    final = Snapshot(module_sha256=runtime.sha256, engine=engine.name, engine_config=engine.config_json(),
                     host=host.image(),
                     globals=tuple(GlobalImage(s.index, s.mutable, obs.globals[s.key]) for s in layout.globals
                                   if s.key in obs.globals),
                     memories=tuple(obs.memories.values()), tables=tuple(obs.tables.values()), resume=b"")
    kept = state_out()
    if kept is not None:
        _reply({"kind": "final", **progress(), "exhausted": obs.exhausted, "crossings": obs.crossings,
                "exit": obs.wasi.exit_code if obs.wasi is not None else None}, encode(final), kept)


def _state_out(run: "_Run") -> bytes:
    """The engine's run state (RunContext.state) as bytes for the other side of a hop; Unsupported
    (exit 3) when it holds what cannot cross processes."""
    from .engines.interface import StateError, encode_state

    try:
        return encode_state(run.context.state)
    except StateError as exc:
        assert run.engine is not None
        raise Unsupported(f"engine {run.engine.name} keeps run state that cannot cross processes "
                          f"(--restore-in process): {exc}") from None


def _state_in(data: bytes) -> dict[str, Any]:
    """The engine's run state from the other side of a hop (HopFailed: it does not decode)."""
    from .engines.interface import StateError, decode_state

    try:
        return decode_state(data)
    except StateError as exc:
        raise HopFailed(f"the engine's run state from the other side of the hop does not decode: {exc}") from None
