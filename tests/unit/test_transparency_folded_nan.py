"""The folded-NaN allowance (A vs B, canonicalized runs only): what it excuses and what it never does."""

from __future__ import annotations

import pytest

from resumefuzz.oracles.transparency import folded_nan
from resumefuzz.values import Value


@pytest.mark.parametrize("a, b, excused", [
    (Value("f32", 0x7FC00000), Value("f32", 0x7FE00001), True),  # computed canonical vs folded payload
    (Value("f32", 0xFFC00000), Value("f32", 0x7FE00000), True),  # either sign of the canonical NaN
    (Value("f64", 0x7FF8000000000000), Value("f64", 0x7FFC000000000001), True),
    # A moved a NaN (not canonical even under canonicalization): compared bit for bit
    (Value("f32", 0x7FE00001), Value("f32", 0x7FC00000), False),
    (Value("f32", 0x7FC00000), Value("f32", 0x7FA00001), False),  # B signalling: not an arithmetic NaN
    (Value("f32", 0x7FC00000), Value("f32", 0x3F800000), False),  # B not a NaN at all
    (Value("f32", 0x7FC00000), Value("f64", 0x7FF8000000000001), False),  # other type
    (Value("i32", 0x7FC00000), Value("i32", 0x7FE00001), False),
])
def test_folded_nan(a: Value, b: Value, excused: bool) -> None:
    assert folded_nan(a, b) is excused
