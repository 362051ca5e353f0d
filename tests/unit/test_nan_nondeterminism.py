"""Arithmetic NaN payloads are nondeterministic in wasm: an optimizing transform may fold
them differently.  Found by the campaign: Binaryen -O2 folds `f32.add(0, nan:0x200001)` to
the canonical NaN while wasmtime returns the quieted operand.  That is not a transform bug;
a NaN moved (not computed) must still match bit for bit, and B vs C stays strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from resumefuzz.cli import main

WAT = Path(__file__).resolve().parents[1] / "wat" / "nan_fold.wat"
ARGS = ["--seed", "3935774486848180498", "--yield-points", "loop,call"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", str(WAT), *ARGS, *args])
    return code, capsys.readouterr().out


def test_folded_arithmetic_nan_is_a_note_not_a_divergence(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(capsys, "--engine", "asyncify:optimize-level=2", "--schedule", "none")
    assert code == 0
    assert "note:" in report and "arithmetic NaN payloads" in report


def test_unoptimized_transform_is_bit_exact(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(capsys, "--engine", "asyncify", "--schedule", "none")
    assert code == 0 and "note:" not in report


def test_suspend_resume_stays_strict_under_optimization(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(capsys, "--engine", "faulty:drop-output,optimize-level=2", "--schedule", "every")
    assert code == 1 and "B vs C" in report
