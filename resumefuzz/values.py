"""Raw-bit values: every number crossing the host boundary, bit for bit.

f32/f64 never pass through a Python float anywhere in resumefuzz (wasmtime-py
quiets signalling NaNs when it converts).  A :class:`Value` keeps the raw bit
pattern as an unsigned integer; reference values keep an identity instead
(the *original* function index for a ``funcref``, ``None`` for null).
"""

from __future__ import annotations

from dataclasses import dataclass

NUMERIC_TYPES = ("i32", "i64", "f32", "f64", "v128")
REF_TYPES = ("funcref", "externref")
VALUE_TYPES = NUMERIC_TYPES + REF_TYPES

#: Width in bytes of each numeric type's bit pattern.
WIDTH = {"i32": 4, "f32": 4, "i64": 8, "f64": 8, "v128": 16}

#: The integer type whose bits carry a float across the host boundary.
CARRIER = {"f32": "i32", "f64": "i64"}


@dataclass(frozen=True)
class Signature:
    """A function type: its parameter and result value types."""

    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        """As WAT: ``(param i32 i64) (result f32)``; empty for ``[] -> []``."""
        return " ".join(f"({kind} {' '.join(types)})" for kind, types in (("param", self.params),
                                                                         ("result", self.results)) if types)


@dataclass(frozen=True, slots=True)
class Value:
    """A typed value. ``bits`` is unsigned raw bits, a function index, or None (null ref)."""

    type: str
    bits: int | None

    def __post_init__(self) -> None:
        if self.type not in VALUE_TYPES:
            raise ValueError(f"unknown value type {self.type!r}")
        if self.type in WIDTH:
            if not isinstance(self.bits, int) or not 0 <= self.bits < (1 << (8 * WIDTH[self.type])):
                raise ValueError(f"{self.type} bits out of range: {self.bits!r}")

    @classmethod
    def from_signed(cls, type_: str, n: int) -> "Value":
        """Build from a (possibly negative) integer as wasmtime-py returns them."""
        return cls(type_, n & ((1 << (8 * WIDTH[type_])) - 1))

    def hex(self) -> str:
        if self.type in WIDTH:
            return f"0x{self.bits:0{2 * WIDTH[self.type]}x}"
        return "null" if self.bits is None else f"func {self.bits}"

    def describe(self) -> str:
        """Human-readable classification computed from bits (no float conversion)."""
        if self.type == "f32":
            return _describe_float(self.bits, 8, 23)
        if self.type == "f64":
            return _describe_float(self.bits, 11, 52)
        if self.type in ("i32", "i64"):
            width = 8 * WIDTH[self.type]
            signed = self.bits - (1 << width) if self.bits >> (width - 1) else self.bits
            return str(signed)
        return ""

    def __str__(self) -> str:
        extra = self.describe()
        return f"{self.type}:{self.hex()}" + (f" ({extra})" if extra else "")


def _describe_float(bits: int, exp_bits: int, frac_bits: int) -> str:
    sign = "-" if bits >> (exp_bits + frac_bits) else ""
    exp = (bits >> frac_bits) & ((1 << exp_bits) - 1)
    frac = bits & ((1 << frac_bits) - 1)
    if exp == (1 << exp_bits) - 1:
        if frac == 0:
            return f"{sign}inf"
        quiet = frac >> (frac_bits - 1)
        return f"{sign}{'qNaN' if quiet else 'sNaN'} payload 0x{frac:x}"
    if exp == 0 and frac == 0:
        return f"{sign}0"
    return "subnormal" if exp == 0 else "normal"
