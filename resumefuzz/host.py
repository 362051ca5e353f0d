"""The host's side of a run: its state, the input stream and the call arguments.

The host interface itself (module ``"host"``: ``out_*`` record an output
event, ``in_*`` return the input stream's next value) is part of the harness
ABI, :data:`resumefuzz.abi.HOST_INTERFACE`.  A WASI program's host state (descriptors,
files, clocks, stdout...) is a :class:`~resumefuzz.wasi.host.WasiState` in
``HostState.wasi``, snapshotted with the rest.  Inputs and call arguments are
deterministic functions of the case seed, so a case is reproducible from
(module, seed, schedule, engine config).  Output events keep raw bits:
``out_f32``/``out_f64`` reach the host through a harness shim that
reinterprets the float as integer bits first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .state import CallRecord, Event, HostImage
from .values import WIDTH, Value

if TYPE_CHECKING:  # pragma: no cover
    from .wasi.host import WasiState

_MASK64 = (1 << 64) - 1
_INPUT_STREAM = 0x1
_ARGUMENT_STREAM = 0x2


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _draw(seed: int, *path: int) -> int:
    x = splitmix64(seed & _MASK64)
    for part in path:
        x = splitmix64(x ^ (part & _MASK64))
    return x


def input_value(seed: int, position: int, type_: str) -> Value:
    """The input stream's value at POSITION (0-based), as TYPE."""
    return Value(type_, _draw(seed, _INPUT_STREAM, position) & ((1 << (8 * WIDTH[type_])) - 1))


# Interesting bit patterns, chosen half of the time; the rest are random bits.
_SPECIAL: dict[str, tuple[int, ...]] = {
    "i32": (0, 1, 2, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 7, 100),
    "i64": (0, 1, 3, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 42),
    "f32": (0x7FA00001, 0xFFC00000, 0x7F800000, 0x80000000, 0x3F800000, 0x00000001, 0x7FC00001),
    "f64": (0x7FF4000000000001, 0xFFF8000000000000, 0x7FF0000000000000, 0x8000000000000000,
            0x3FF0000000000000, 0x0000000000000001),
    "v128": (0, (1 << 128) - 1),
}


def argument(seed: int, call: int, param: int, type_: str) -> Value:
    """Deterministic argument PARAM of call number CALL in the call plan."""
    if type_ not in WIDTH:
        return Value(type_, None)  # reference parameters are passed as null
    draw = _draw(seed, _ARGUMENT_STREAM, call, param)
    if draw & 1:
        specials = _SPECIAL[type_]
        return Value(type_, specials[(draw >> 1) % len(specials)])
    bits = draw >> 1
    if type_ == "v128":
        bits = (bits << 64) | _draw(seed, _ARGUMENT_STREAM, call, param, 1)
    return Value(type_, bits & ((1 << (8 * WIDTH[type_])) - 1))


@dataclass
class HostState:
    """Everything the host knows about a run; snapshotted as a HostImage."""

    seed: int
    outputs: list[Event] = field(default_factory=list)
    input_position: int = 0
    call_position: int = 0
    completed: list[CallRecord] = field(default_factory=list)
    #: a WASI program's host state (:mod:`resumefuzz.wasi.host`); None: the program imports no WASI
    wasi: "WasiState | None" = None

    def output(self, type_: str, bits: int) -> None:
        self.outputs.append(Event(Value.from_signed(type_, bits)))

    def next_input(self, type_: str) -> int:
        """Next input as the signed integer wasmtime-py expects."""
        value = input_value(self.seed, self.input_position, type_)
        self.input_position += 1
        width = 8 * WIDTH[type_]
        assert value.bits is not None
        return value.bits - (1 << width) if value.bits >> (width - 1) else value.bits

    def image(self) -> HostImage:
        return HostImage(tuple(self.outputs), self.input_position, self.call_position, tuple(self.completed),
                         None if self.wasi is None else self.wasi.copy())

    @classmethod
    def from_image(cls, seed: int, image: HostImage) -> "HostState":
        return cls(seed, list(image.outputs), image.input_position, image.call_position, list(image.completed),
                   None if image.wasi is None else image.wasi.copy())
