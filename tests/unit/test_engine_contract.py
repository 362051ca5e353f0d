"""The engine contract (``resumefuzz.testing.smoke_test_engine``) holds for every correct engine and
catches every planted fault: an engine that passes it is worth fuzzing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from resumefuzz.engines import draw_spec, registry
from resumefuzz.engines.asyncify import AsyncifyEngine
from resumefuzz.engines.faults import ELSEWHERE_FAULTS, FAULTS, FLAG_FAULTS
from resumefuzz.testing import ContractViolation, smoke_test_engine

ROOT = Path(__file__).resolve().parents[2]
#: the README's worked example: Binaryen's own CLI as an Asyncify-compatible command
WASM_OPT = (f"node {ROOT}/node_modules/binaryen/bin/wasm-opt {{in}} --enable-multimemory --enable-bulk-memory "
            "--enable-multivalue --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals "
            "--enable-simd --enable-reference-types --enable-memory64 --asyncify --pass-arg=asyncify-imports@{import} "
            "--pass-arg=asyncify-in-secondary-memory -o {out}")


def test_asyncify_keeps_the_contract() -> None:
    smoke_test_engine("asyncify")


def test_a_fuzzed_asyncify_configuration_keeps_the_contract() -> None:
    spec = draw_spec("asyncify", lambda salt, choices: choices[-1] if salt % 2 else choices[1])
    assert spec != "asyncify"  # something was drawn
    smoke_test_engine(spec)
    smoke_test_engine("asyncify:optimize-level=3,shrink-level=2,optimize-before=true,optimize-after=true,"
                      "buffer-pages=1")


def test_binaryens_cli_as_an_asyncify_compatible_command_keeps_the_contract() -> None:
    smoke_test_engine(f"asyncify-compatible:{WASM_OPT}")


def _facets(message: str) -> set[str]:
    """Facets named in the contract's "B vs C" problems (``C[label]: facet, facet``)."""
    return {facet for group in re.findall(r"C\[[^\]]+\]: ([a-z]+(?:, [a-z]+)*)", message)
            for facet in group.split(", ")}


@pytest.mark.parametrize("fault", sorted(FAULTS.keys() - FLAG_FAULTS - ELSEWHERE_FAULTS))  # flag faults: tests/unit/test_flag.py;
# restore-elsewhere faults act only in a restoring process: tests/unit/test_hop.py
def test_the_contract_catches_every_planted_fault(fault: str) -> None:
    with pytest.raises(ContractViolation, match=f"engine 'faulty:{fault}' breaks the engine contract") as info:
        smoke_test_engine(f"faulty:{fault}")
    assert FAULTS[fault][1] in _facets(str(info.value)), str(info.value)


# ---------------------------------------------------------------------------
# clauses beyond transparency, each broken by an engine registered for the test


class _StealsProgramState(AsyncifyEngine):
    """Declares a program memory private: the oracle would stop comparing it."""

    def private_keys(self, layout: Any) -> set[str]:
        return super().private_keys(layout) | {s.key for s in layout.memories if s.origin == "program"}


class _BadOptionSpace(AsyncifyEngine):
    option_space = {"buffer_pages": (1, 0), "unrolled": (True,)}


class _ForgetsItsOptions(AsyncifyEngine):
    def spec(self) -> str:
        return self.name


class _NoSuspension(AsyncifyEngine):
    """Tells Asyncify of another import: nothing unwinds, so every run is (wrongly) straight."""

    def transform(self, wasm: bytes, suspend_import: tuple[str, str]) -> bytes:
        return super().transform(wasm, ("rfz", "elsewhere"))


class _BrokenSavedStack(AsyncifyEngine):
    def with_saved_stack(self, snapshot: Any, layout: Any, stack: bytes) -> Any:
        return super().with_saved_stack(snapshot, layout, stack[::-1])


@pytest.mark.parametrize("engine, spec, says", [
    (_StealsProgramState, "steals", "declares private state it did not add: m0"),
    (_BadOptionSpace, "bad-options", "option_space buffer_pages=0: engine bad-options: option buffer-pages must "
                                     "be an integer in [1, 4096], not 0"),
    (_BadOptionSpace, "bad-options", "option_space unrolled=True: engine bad-options: unknown option 'unrolled'"),
    (_ForgetsItsOptions, "forgets:buffer-pages=2", "its spec 'forgets' rebuilds forgets "),
    (_NoSuspension, "never", "suspend/resume is not transparent"),
    (_BrokenSavedStack, "reversed", "putting a snapshot's saved stack back unchanged changes the snapshot"),
], ids=["private-state", "option-out-of-range", "unknown-option", "spec", "no-suspension", "saved-stack"])
def test_the_contract_names_each_broken_clause(monkeypatch: pytest.MonkeyPatch, engine: type, spec: str,
                                               says: str) -> None:
    monkeypatch.setitem(registry.BUILTIN, spec.partition(":")[0], f"{__name__}:{engine.__name__}")
    with pytest.raises(ContractViolation) as info:
        smoke_test_engine(spec)
    assert says in str(info.value), str(info.value)
