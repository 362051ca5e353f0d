"""The cross-check of the harness's WASI host against wasmtime's WASI, where it lives: `check`
(exit 6, never a divergence) and a campaign case (a harness-wasi-mismatch finding, counted apart).

The planted host bug writes one byte too many on every stdout write, in every run alike: runs B
and C agree with A, so only the cross-check can see it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resumefuzz import compiler
from resumefuzz.campaign import CasePlan, Options, Stats, gate, run_case
from resumefuzz.campaign import case as case_module
from resumefuzz.campaign.case import HOST_MISMATCH, HOST_MISMATCH_KIND
from resumefuzz.checker import EQUAL, HOST_MISMATCH as CHECK_HOST_MISMATCH, check
from resumefuzz.engines import get_engine
from resumefuzz.fuzz import GeneratedCase
from resumefuzz.wasi import WasiInputs
from resumefuzz.wasi.host import WasiState

pytest.importorskip("ziglang")

PROGRAM = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    unsigned h = 2166136261u;
    for (int i = 0; i < 2000; i++) { h = (h ^ (unsigned)i) * 16777619u; if (i % 500 == 0) printf("%d %08x\n", i, h); }
    printf("argc %d last %s\n", argc, argv[argc - 1]);
    return 0;
}
"""
INPUTS = WasiInputs(("hello", "x", "y"))


@pytest.fixture(scope="module")
def wasm() -> bytes:
    return compiler.compile_c(PROGRAM, "-O2").wasm


@pytest.fixture
def noisy_host(monkeypatch: pytest.MonkeyPatch) -> None:
    real = WasiState._fd_write

    def fd_write(self: WasiState, m: object, fd: int, iovs: int, count: int, nwritten: int) -> int:
        errno = real(self, m, fd, iovs, count, nwritten)
        if fd == 1 and errno == 0:
            self.stdout += b"!"
        return errno

    monkeypatch.setattr(WasiState, "_fd_write", fd_write)


def test_a_correct_host_agrees_with_wasmtime(wasm: bytes) -> None:
    verdict = check(wasm, get_engine("asyncify"), seed=3, schedule="random:2", yield_points="loop", wasi=INPUTS)
    assert verdict.status == EQUAL and verdict.suspensions > 0, verdict.report
    assert any(n.startswith("WASI cross-check agree") for n in verdict.notes), verdict.notes


def test_a_host_bug_is_a_harness_bug_not_a_divergence(wasm: bytes, noisy_host: None) -> None:
    verdict = check(wasm, get_engine("asyncify"), seed=3, schedule="random:2", yield_points="loop", wasi=INPUTS)
    assert verdict.status == CHECK_HOST_MISMATCH and verdict.exit_code == 6, verdict.report
    assert not verdict.findings and verdict.schedules == 0  # nothing judged for transparency
    assert verdict.report.startswith("resumefuzz check: HARNESS BUG: harness WASI host disagrees with wasmtime's WASI")
    assert "stdout" in verdict.host_mismatch


def test_a_campaign_writes_a_host_bug_as_a_finding_of_its_own(
        wasm: bytes, noisy_host: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from resumefuzz.campaign import findings

    def generate(plan: CasePlan) -> GeneratedCase:
        return GeneratedCase(plan.generator, plan.seed, plan.profile, wasm, wasi=INPUTS, source=PROGRAM)

    monkeypatch.setattr(case_module, "generate", generate)
    monkeypatch.setattr(findings, "generate", generate)
    options = Options(generator="csmith", out=tmp_path, engines=("asyncify",))
    result = run_case(CasePlan.make(options, 0), options)
    assert result.status == HOST_MISMATCH and result.host_check == "disagree", result.why
    assert result.finding is not None and result.finding.written
    folder = tmp_path / "findings" / result.finding.signature
    assert folder.name.startswith(HOST_MISMATCH_KIND)
    assert json.loads((folder / "wasi.json").read_text()) == INPUTS.to_json()
    assert (folder / "program.c").read_text() == PROGRAM
    assert "--wasi wasi.json" in (folder / "replay").read_text()
    stats = Stats()
    stats.add(result)
    assert stats.host_mismatches == 1 and stats.host_checks == {"disagree": 1}
    code, why = gate(stats, options)
    assert code == 1 and "harness's WASI host disagreed" in (why or "")
