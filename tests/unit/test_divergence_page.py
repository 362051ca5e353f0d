"""report.html of a divergence: marked hexdump windows, both sides' globals, aligned outputs, all
escaped and bounded (issue 17); the reference side kept on the finding, so no re-run.  A real check's page in a real browser: tests/e2e/test_report_browser.py."""

from __future__ import annotations

import re

from resumefuzz import wasmtools
from resumefuzz.checker import DIVERGENT, Finding, Verdict, check
from resumefuzz.divergence_page import page
from resumefuzz.evidence import MAX_DIFF_ROWS, diff_rows
from resumefuzz.engines import get_engine
from resumefuzz.errors import BadInput
from resumefuzz.observation import Observation
from resumefuzz.oracles import Divergence, compare
from resumefuzz.schedule import Schedule
from resumefuzz.state import PAGE_SIZE, Event, MemoryImage
from resumefuzz.values import Value


def _memory(data: bytes) -> MemoryImage:
    return MemoryImage(0, len(data) // PAGE_SIZE, None, data)


def test_diff_rows_finds_each_differing_row_and_counts_bytes() -> None:
    a = bytearray(3 * PAGE_SIZE)
    b = bytearray(a)
    for offset in (5, 6, 17, PAGE_SIZE + 32, 3 * PAGE_SIZE - 1):
        b[offset] = 0xFF
    rows, count = diff_rows(bytes(a), bytes(b))
    assert rows == [0, 16, PAGE_SIZE + 32, 3 * PAGE_SIZE - 16] and count == 5
    assert diff_rows(bytes(a), bytes(a)) == ([], 0)
    rows, count = diff_rows(bytes(a), bytes(a) + bytes(PAGE_SIZE))  # one side grew: the rest differs
    assert rows == [3 * PAGE_SIZE] and count == PAGE_SIZE


def test_diff_rows_is_bounded() -> None:
    a = bytes(64 * PAGE_SIZE)
    b = bytes(x ^ 1 for x in a)
    rows, count = diff_rows(a, b)
    assert len(rows) == MAX_DIFF_ROWS and count == len(a)


def _verdict(ref: Observation, cand: Observation) -> Verdict:
    divergences = compare(ref, cand)
    finding = Finding("B vs C", Schedule("at:3", (3,)), cand, divergences)
    return Verdict(DIVERGENT, findings=[finding], report="resumefuzz check: DIVERGENT\nreplay:       resumefuzz check "
                   "m.wasm --schedule 'at:3' <&>\n")


def test_the_page_marks_differing_bytes_globals_and_the_first_differing_event() -> None:
    memory = bytearray(2 * PAGE_SIZE)
    memory[100:108] = b"<script>"
    other = bytearray(memory)
    other[PAGE_SIZE + 7] = 0x7A
    b = Observation("B", memories={"m0": _memory(bytes(memory))},
                    globals={"g0": Value("i32", 0x11), "g1": Value("f64", 0x7FF8000000000001)},
                    outputs=[Event(Value("i32", i)) for i in range(40)])
    c = Observation("C[at:3]", memories={"m0": _memory(bytes(other))},
                    globals={"g0": Value("i32", 0x11), "g1": Value("f64", 0x7FF8000000000000)},
                    outputs=[Event(Value("i32", i)) for i in range(30)] + [Event(Value("i32", 99))])
    html = page(_verdict(b, c), {"B": b})
    assert html.index("Differing facets") < html.index("memory m0")
    facets = re.search(r"Differing facets: (.*?)</p>", html).group(1)
    assert re.findall(r'class="facet">(\w+)<', facets) == ["output", "memory", "global"]
    # the hexdump: only the window around the difference, the differing byte marked on both sides
    assert '<mark class="d">7a</mark>' in html and '<mark class="d">00</mark>' in html
    assert html.count('<mark class="d">') == 4  # hex and text column, each side
    assert f"{PAGE_SIZE + 0:08x}" in html and "00000060" not in html  # the <script> row is equal: not shown
    # globals: both sides in hex, the differing one marked
    assert "0x7ff8000000000001" in html and "0x7ff8000000000000" in html
    assert re.search(r"<tr class=diff><td>g1</td>", html) and not re.search(r"<tr class=diff><td>g0</td>", html)
    # outputs aligned at #30: B has 30, C 99, then C ends
    assert re.search(r"<tr class=diff><td>#30 ▶</td><td>i32:0x0000001e \(30\)</td><td>i32:0x00000063 \(99\)</td>",
                     html)
    assert "<td>(none)</td>" in html
    # escaped: the replay line from the report and the text report
    assert "<&>" not in html and "&lt;&amp;&gt;" in html


def test_untrusted_bytes_and_names_are_escaped() -> None:
    memory = bytearray(PAGE_SIZE)
    other = bytearray(memory)
    other[0:16] = b'<img src=x ">a/&'
    b = Observation("B", memories={"m0": _memory(bytes(memory))})
    c = Observation("C<b>", memories={"m0": _memory(bytes(other))})
    html = page(_verdict(b, c), {"B": b})
    assert "<img" not in html and "C<b>" not in html
    assert '<mark class="d">&lt;</mark>' in html and '<mark class="d">&quot;</mark>' in html


def test_without_the_reference_the_oracles_context_is_shown() -> None:
    b = Observation("B", outputs=[Event(Value("i32", 1))])
    c = Observation("C[at:3]", outputs=[Event(Value("i32", 2))])
    html = page(_verdict(b, c), {})
    assert "not available" in html and "first difference at event 0" in html


def test_a_4_gib_like_memory_page_stays_small() -> None:
    a = bytes(256 * PAGE_SIZE)  # 16 MiB, every 4 KiB one byte differs
    b = bytearray(a)
    for offset in range(0, len(b), 4096):
        b[offset] = 1
    ref = Observation("B", memories={"m0": _memory(a)})
    cand = Observation("C[at:3]", memories={"m0": _memory(bytes(b))})
    html = page(_verdict(ref, cand), {"B": ref})
    assert len(html) < 200_000 and f"{len(a) // 4096} differing byte(s)" in html


# -- the reference side kept on the finding (bounded): pages need no re-run --------------------------


class _NoRerun(dict):
    """Straight runs that must not be looked up (the finding keeps its reference)."""

    def get(self, *_: object) -> None:  # type: ignore[override]
        raise AssertionError("the page re-ran the straight runs")

    __getitem__ = get  # type: ignore[assignment]


def test_a_kept_reference_draws_the_same_page_as_the_rerun_and_is_bounded() -> None:
    a = bytes(256 * PAGE_SIZE)  # 16 MiB, every 64 KiB one byte differs
    b = bytearray(a)
    for offset in range(0, len(b), PAGE_SIZE):
        b[offset + 100] = 0x7A
    ref = Observation("B", memories={"m0": _memory(a)}, globals={f"g{i}": Value("i32", i) for i in range(3)},
                      outputs=[Event(Value("i32", i)) for i in range(1000)])
    cand = Observation("C[at:3]", memories={"m0": _memory(bytes(b))}, globals={"g0": Value("i32", 0),
                       "g1": Value("i32", 9), "g2": Value("i32", 2)},
                       outputs=[Event(Value("i32", i)) for i in range(500)] + [Event(Value("i32", 7))])
    rerun = page(_verdict(ref, cand), {"B": ref})
    verdict = _verdict(ref, cand)
    verdict.findings[0].keep_reference({"A": Observation("A"), "B": ref})
    kept = verdict.findings[0].reference
    assert kept is not None and kept.label == "B"
    assert page(verdict, _NoRerun()) == rerun  # the same page, the straight runs never looked up
    memory = kept.memories["m0"]
    assert memory.count == 256 and len(memory.rows) == MAX_DIFF_ROWS
    assert sum(len(data) for _, _, data in memory.windows) <= MAX_DIFF_ROWS * 5 * 16  # windows, not 16 MiB
    assert kept.outputs is not None and kept.outputs.first == 500 and kept.outputs.total == 1000
    assert len(kept.outputs.items) < 40 and set(kept.globals) == {"g0", "g1", "g2"}


def test_a_flag_audit_finding_has_no_reference_and_a_failing_rerun_is_a_note() -> None:
    b = Observation("B", outputs=[Event(Value("i32", 1))])
    c = Observation("C[at:3]", outputs=[Event(Value("i32", 2))])
    verdict = _verdict(b, c)
    verdict.findings.append(Finding("prepared module", None, b, [Divergence("flag", "prepared module", "racy")]))
    for finding in verdict.findings:
        finding.keep_reference({"B": Observation("B")})
    assert verdict.findings[1].reference is None  # a flag audit compares no two runs
    no_reference = _verdict(b, c)

    class Broken(dict):
        def get(self, *_: object) -> None:  # type: ignore[override]
            raise BadInput("cannot prepare <x>")

    html = page(no_reference, Broken())
    assert "not available here: the straight runs could not be repeated for this page (cannot prepare &lt;x&gt;)" in html


WAT_LAST_BYTE = """(module (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (func (export "run") (local $i i32)
    (i32.store8 (i32.const 65535) (i32.const 7))
    (loop $l (call $out (local.get $i)) (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))))"""


def test_a_checked_divergence_keeps_its_reference_and_its_page_needs_no_rerun() -> None:
    """A real check (Asyncify with a planted fault that zeroes memory's last byte on restore)."""
    verdict = check(wasmtools.parse(WAT_LAST_BYTE), get_engine("faulty:zero-last-byte"), schedule="at:40")
    assert verdict.status == DIVERGENT and verdict.findings[0].facets == ["memory"]
    kept = verdict.findings[0].reference
    assert kept is not None and kept.label == "B" and kept.memories["m0"].count == 1
    html = page(verdict, _NoRerun())
    assert '<mark class="d">07</mark>' in html and '<mark class="d">00</mark>' in html and "0000fff0" in html
