"""A csmith campaign finds each planted host-state fault, and its finding replays (issue 14).

As a user runs it: ``resumefuzz fuzz --generator csmith --engine faulty:FAULT --stop-on-finding``
(the campaign draws each case's yield points; compiled programs get cheap ones).  Campaign seed
11 deals host-I/O cases (fuzz/csmith_platform: a file open, clocks and random bytes read on both
sides of the suspensions, output written as it goes) first, so the faults that only those cases
expose are met within a few cases.  The finding's ``./replay`` must exit 1 (still divergent) on
the fault's facet.

Measured on this project's machine (2 cores, shared): first detection after 6-11 s (1-2 cases)
for every fault, a campaign with its 5 s minimization 18-27 s.  All six together exceed
``make test``'s budget: ``lose-stdout-tail`` runs there, the others nightly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resumefuzz.engines.faults import FAULTS, WASI_FAULTS

CLI = str(Path(sys.executable).with_name("resumefuzz"))
#: only host-I/O cases open files, read clocks or random bytes
HOST_IO_ONLY = {"reset-file-offset", "close-descriptor", "restart-clock", "restart-random"}


@pytest.mark.nightly  # each fault is caught fast by its corpus case (tests/e2e/test_corpus.py)
@pytest.mark.parametrize("fault", sorted(WASI_FAULTS))
def test_a_csmith_campaign_finds_the_fault_and_its_finding_replays(fault: str, tmp_path: Path) -> None:
    pytest.importorskip("ziglang")
    out = tmp_path / "campaign"
    started = time.monotonic()
    proc = subprocess.run([CLI, "fuzz", "--no-progress", "--generator", "csmith", "--engine", f"faulty:{fault}",
                           "--cases", "8", "--stop-on-finding", "--minimize-time", "5s", "--jobs", "2",
                           "--seed", "11", "--out", str(out)], capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout + proc.stderr
    stats = json.loads((out / "stats.json").read_text())
    first = stats["first_finding"]
    facet = FAULTS[fault][1]
    assert facet in first["facets"], first
    print(f"{fault}: first detection after {first['seconds']:.1f} s ({first['cases']} case(s)); "
          f"campaign {wall:.1f} s")

    finding = out / "findings" / first["signature"]
    case = json.loads((finding / "case.json").read_text())
    assert case["generator"] == "csmith" and (finding / "program.c").is_file()
    if fault in HOST_IO_ONLY:
        assert case.get("host_io") is True, case
    replay = subprocess.run([str(finding / "replay")], capture_output=True, text=True, timeout=300)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    headline = replay.stdout.splitlines()[0]
    assert headline.startswith("resumefuzz check: DIVERGENT: ") and facet in headline.split(": ")[-1].split(", "), \
        replay.stdout
