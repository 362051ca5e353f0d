"""Corpus cases that are WASI programs: a C ``source`` compiled through the compiler's cache, the
program's ``wasi`` inputs (inline or from corpus files), ``compiled_from`` beside a kept module;
malformed values named by path (exit 2), paths kept inside the corpus, and `corpus add` of a
finding of a WASI program (module.wasm + wasi.json + program.c)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from resumefuzz import corpus, limits
from resumefuzz.cli import main
from resumefuzz.compiler import compile_c
from resumefuzz.wasi import WasiInputs

#: prints argv, $TAG and input.txt (or "absent"), echoes stdin, writes out.txt; exits with argv[1]
PROGRAM = r"""#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    unsigned sum = 0;
    for (int i = 0; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
    printf("TAG = %s\n", getenv("TAG") ? getenv("TAG") : "(unset)");
    FILE *in = fopen("input.txt", "r");
    int c;
    if (!in) printf("input.txt: absent\n");
    else { while ((c = fgetc(in)) != EOF) { putchar(c); sum = sum * 31 + (unsigned)c; } fclose(in); }
    while ((c = getchar()) != EOF) { putchar(c); sum = sum * 31 + (unsigned)c; }
    for (unsigned i = 0; i < 2000; i++) sum = sum * 1103515245u + 12345u + i;
    printf("sum = %u\n", sum);
    return argc > 1 ? atoi(argv[1]) : 0;
}
"""
GOOD = {"guards": "g", "origin": "hand-written", "seed": 0, "engine": "asyncify", "yield_points": "loop",
        "wasmtime_opt": "speed", "schedule": "spread:3", "expect": {"verdict": "equal"}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def layout(root: Path) -> Path:
    """A corpus at ROOT: ROOT/programs/prog.c, ROOT/data/{input.txt, sub/more.txt}, ROOT/stdin.txt,
    and ROOT/cases/ (returned) for the sidecars."""
    (root / "programs").mkdir(parents=True)
    (root / "programs" / "prog.c").write_text(PROGRAM)
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "input.txt").write_text("from input.txt\n")
    (root / "data" / "sub" / "more.txt").write_text("more\n")
    (root / "stdin.txt").write_text("from stdin\n")
    (root / "cases").mkdir()
    return root / "cases"


def sidecar(cases: Path, name: str, entry: object) -> Path:
    path = cases / f"{name}.json"
    path.write_text(entry if isinstance(entry, str) else json.dumps(entry))
    return path


SOURCE = {**GOOD, "source": "../programs/prog.c", "cflags": ["-O2"]}


def test_a_c_source_case_with_inline_inputs_loads_builds_and_replays(tmp_path: Path) -> None:
    cases = layout(tmp_path / "corpus")
    wasi = {"args": ["prog", "3"], "env": [["TAG", "inline"]], "stdin": b64(b"abc\n"),
            "files": {"input.txt": b64(b"inline file\n")}}
    case = corpus.load_case(sidecar(cases, "c-inline", {**SOURCE, "wasi": wasi}))
    assert case.compiled and case.module == cases / "../programs/prog.c"
    assert case.opt_level == "-O2" and case.cflags == ()
    assert case.wasi == WasiInputs(("prog", "3"), (("TAG", "inline"),), b"abc\n", (("input.txt", b"inline file\n"),))
    assert case.wasm() == compile_c(PROGRAM, "-O2").wasm  # the compiler's (cached) build
    verdict = corpus._judge(case, case.engine)  # judged with the case's inputs
    assert verdict.status == "equal" and verdict.suspensions > 0
    assert any("exit code 3" in note and "1 file(s)" in note for note in verdict.notes), verdict.notes
    result = corpus.replay_case(case)
    assert result.outcome == "pass" and "suspensions" in result.detail and result.path.endswith("prog.c")


def test_inputs_from_corpus_files(tmp_path: Path) -> None:
    cases = layout(tmp_path / "corpus")
    wasi = {"args": ["prog"], "files_from": "../data", "stdin_from": "../stdin.txt"}
    case = corpus.load_case(sidecar(cases, "c-files", {**SOURCE, "cflags": ["-Os", "-DX=1", "-w",
                                                                           "-Wl,-z,stack-size=65536"],
                                                       "wasi": wasi}))
    assert case.opt_level == "-Os" and case.cflags == ("-DX=1", "-w", "-Wl,-z,stack-size=65536")
    assert case.wasi is not None and case.wasi.stdin == b"from stdin\n"
    assert case.wasi.files == (("input.txt", b"from input.txt\n"), ("sub/more.txt", b"more\n"))
    verdict = corpus._judge(case, case.engine)
    assert verdict.status == "equal" and any("exit code 0" in n and "2 file(s)" in n for n in verdict.notes)
    assert corpus.replay_case(case).outcome == "pass"


def test_default_level_and_inputs(tmp_path: Path) -> None:
    cases = layout(tmp_path / "corpus")
    case = corpus.load_case(sidecar(cases, "c-default", {k: v for k, v in SOURCE.items() if k != "cflags"}))
    assert case.opt_level == "-O2" and case.cflags == () and case.wasi is None  # the checker's WasiInputs()


def test_a_kept_module_names_its_program(tmp_path: Path) -> None:
    cases = layout(tmp_path / "corpus")
    (cases / "kept.wasm").write_bytes(compile_c(PROGRAM, "-O2").wasm)
    (cases / "kept.c").write_text(PROGRAM)
    case = corpus.load_case(sidecar(cases, "kept", {**GOOD, "compiled_from": "kept.c",
                                                    "wasi": {"args": ["prog", "5"]}}))
    assert not case.compiled and case.module == cases / "kept.wasm" and case.compiled_from == cases / "kept.c"
    assert corpus.replay_case(case).outcome == "pass"
    # a wrong expectation is still a regression: the inputs (exit code 5) really reach the program
    case = corpus.load_case(sidecar(cases, "kept", {**GOOD, "compiled_from": "kept.c", "wasi": {"args": ["prog", "5"]},
                                                    "expect": {"verdict": "equal", "note": "exit code 4"}}))
    assert corpus.replay_case(case).outcome == "regression"


def test_outside_a_cases_folder_the_corpus_is_the_sidecars_folder(tmp_path: Path) -> None:
    root = tmp_path / "loose"
    layout(root)
    path = sidecar(root / "programs", "here", {**GOOD, "source": "prog.c"})
    assert corpus.load_case(path).module == root / "programs" / "prog.c"
    assert corpus.corpus_root(path) == root / "programs"
    assert corpus.corpus_root(root / "cases" / "deeper" / "x.json") == root
    path = sidecar(root / "programs", "up", {**GOOD, "source": "../programs/prog.c", "wasi": {"stdin_from": "../stdin.txt"}})
    _, errors = corpus.discover([path])
    assert len(errors) == 1 and "'wasi.stdin_from' '../stdin.txt': outside the corpus" in errors[0]


@pytest.mark.parametrize("entry, message", [
    ({**SOURCE, "source": 3}, "'source' must be a str"),
    ({**SOURCE, "source": ""}, "'source' must be a path relative to the sidecar"),
    ({**SOURCE, "source": "/etc/passwd"}, "not absolute"),
    ({**SOURCE, "source": "../../outside.c"}, "outside the corpus"),
    ({**SOURCE, "source": "../stdin.txt"}, "expected a .c file"),
    ({**SOURCE, "source": "../programs/absent.c"}, "no such file"),
    ({**SOURCE, "source": "../programs"}, "expected a .c file"),
    ({**SOURCE, "cflags": "-O2"}, "'cflags' must be a list"),
    ({**SOURCE, "cflags": [2]}, "'cflags' must be a list"),
    ({**SOURCE, "cflags": ["-w"] * 17}, "at most 16 strings"),
    ({**SOURCE, "cflags": ["-O2", "-Os"]}, "more than one optimization level"),
    ({**SOURCE, "cflags": ["-O3"]}, "'-O3': the levels are"),
    ({**SOURCE, "cflags": ["-o/tmp/x"]}, "'-o/tmp/x' is not allowed"),
    ({**SOURCE, "cflags": ["-I/usr/include"]}, "is not allowed"),
    ({**SOURCE, "cflags": ["-fplugin=/tmp/p.so"]}, "is not allowed"),
    ({**SOURCE, "cflags": ["-Wl,--export-all"]}, "is not allowed"),
    ({**SOURCE, "cflags": ["-include", "x.h"]}, "is not allowed"),
    ({**SOURCE, "compiled_from": "../programs/prog.c"}, "'compiled_from' is for a module"),
    ({**SOURCE, "wasi": []}, "'wasi' must be a dict"),
    ({**SOURCE, "wasi": {"argv": ["x"]}}, "'wasi' has unknown key 'argv'"),
    ({**SOURCE, "wasi": {"args": []}}, "'wasi.args' must be a non-empty list of strings"),
    ({**SOURCE, "wasi": {"args": ["x", 1]}}, "'wasi.args' must be a non-empty list of strings"),
    ({**SOURCE, "wasi": {"env": [["A"]]}}, "'wasi.env' must be a list of [name, value] string pairs"),
    ({**SOURCE, "wasi": {"env": {"A": "1"}}}, "'wasi.env' must be a list"),
    ({**SOURCE, "wasi": {"env": [["A=B", "1"]]}}, "may not contain '='"),
    ({**SOURCE, "wasi": {"args": ["x" * (limits.WASI_MAX_ARGS_BYTES + 1)]}}, "more than"),
    ({**SOURCE, "wasi": {"stdin": 5}}, "'wasi.stdin' must be base64 text"),
    ({**SOURCE, "wasi": {"stdin": "not base64!"}}, "'wasi': WASI inputs:"),
    ({**SOURCE, "wasi": {"files": ["input.txt"]}}, "'wasi.files' must be an object"),
    ({**SOURCE, "wasi": {"files": {"input.txt": 1}}}, "'wasi.files' must be an object"),
    ({**SOURCE, "wasi": {"files": {"../up.txt": ""}}}, "expected a relative path of plain names"),
    ({**SOURCE, "wasi": {"files": {"a": ""}, "files_from": "../data"}}, "both 'files' and 'files_from'"),
    ({**SOURCE, "wasi": {"stdin": "", "stdin_from": "../stdin.txt"}}, "both 'stdin' and 'stdin_from'"),
    ({**SOURCE, "wasi": {"files_from": "../.."}}, "'wasi.files_from' '../..': outside the corpus"),
    ({**SOURCE, "wasi": {"files_from": "../stdin.txt"}}, "not a folder"),
    ({**SOURCE, "wasi": {"stdin_from": "../data"}}, "'wasi.stdin_from' '../data': not a regular file"),
    ({**SOURCE, "wasi": {"stdin_from": 7}}, "'wasi.stdin_from' must be a path"),
])
def test_malformed_wasi_entries_are_named_by_path(tmp_path: Path, entry: object, message: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cases = layout(tmp_path / "corpus")
    path = sidecar(cases, "c-bad", entry)
    _, errors = corpus.discover([cases])
    assert len(errors) == 1 and errors[0].startswith(f"{path}: ") and message in errors[0], errors
    assert "\n" not in errors[0]
    assert main(["corpus", "check", str(cases)]) == 2
    assert main(["replay", str(cases)]) == 2
    err = capsys.readouterr().err
    assert f"malformed: {path}" in err and "Traceback" not in err


@pytest.mark.parametrize("entry, module, message", [
    (SOURCE, "kept.wasm", "names a C 'source' and has a module beside it (c-bad.wasm)"),
    ({**GOOD, "cflags": ["-O2"]}, "c-bad.wasm", "'cflags' is for a C 'source'"),
    ({**GOOD, "compiled_from": "absent.c"}, "c-bad.wasm", "'compiled_from' 'absent.c': no such file"),
    ({**GOOD, "compiled_from": "../data/input.txt"}, "c-bad.wasm", "expected a .c file"),
    (GOOD, None, "or a C 'source'"),
])
def test_module_and_source_do_not_mix(tmp_path: Path, entry: dict, module: str | None, message: str) -> None:
    cases = layout(tmp_path / "corpus")
    if module is not None:
        (cases / "c-bad.wasm").write_bytes(compile_c(PROGRAM, "-O2").wasm)
    path = sidecar(cases, "c-bad", entry)
    _, errors = corpus.discover([cases])
    assert len(errors) == 1 and errors[0].startswith(f"{path}: ") and message in errors[0], errors


def test_inputs_past_the_limits_are_malformed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = layout(tmp_path / "corpus")
    monkeypatch.setattr(limits, "WASI_MAX_FILES", 1)
    monkeypatch.setattr(limits, "WASI_MAX_STDIN_BYTES", 4)
    files = sidecar(cases, "many", {**SOURCE, "wasi": {"files_from": "../data"}})
    stdin = sidecar(cases, "long", {**SOURCE, "wasi": {"stdin_from": "../stdin.txt"}})
    big = sidecar(cases, "big", {**GOOD, "source": "../programs/big.c"})
    (tmp_path / "corpus" / "programs" / "big.c").write_bytes(b" " * (corpus.SOURCE_LIMIT + 1))
    errors = sorted(corpus.discover([cases])[1])
    assert errors[0].startswith(f"{big}: 'source' '../programs/big.c': {corpus.SOURCE_LIMIT + 1} bytes, more than")
    assert errors[1].startswith(f"{stdin}: 'wasi.stdin_from' '../stdin.txt': 11 bytes, more than 4")
    assert errors[2].startswith(f"{files}: 'wasi.files_from' '../data': more than 1 files")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_symbolic_links_out_of_the_corpus_are_refused(tmp_path: Path) -> None:
    cases = layout(tmp_path / "corpus")
    (tmp_path / "secret.c").write_text(PROGRAM)
    (cases / "link.c").symlink_to(tmp_path / "secret.c")
    (tmp_path / "corpus" / "data" / "escape").symlink_to(tmp_path)
    a = sidecar(cases, "a", {**GOOD, "source": "link.c"})
    b = sidecar(cases, "b", {**SOURCE, "wasi": {"files_from": "../data"}})
    errors = sorted(corpus.discover([cases])[1])
    assert errors[0].startswith(f"{a}: 'source' 'link.c': outside the corpus")
    assert errors[1].startswith(f"{b}: 'wasi.files_from' '../data': escape is not a regular file or folder")


def test_a_source_that_does_not_compile_is_a_malformed_entry(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cases = layout(tmp_path / "corpus")
    (tmp_path / "corpus" / "programs" / "broken.c").write_text("int main(void) { return missing_name; }\n")
    path = sidecar(cases, "broken", {**GOOD, "source": "../programs/broken.c"})
    assert corpus.load_case(path).compiled  # the sidecar itself is well formed
    assert main(["corpus", "check", str(cases)]) == 2
    assert main(["replay", str(cases)]) == 2
    err = capsys.readouterr().err
    assert "broken.c: zig cc -O2: " in err and "missing_name" in err and "Traceback" not in err


def make_wasi_finding(folder: Path, wasi: object, source: str | None = PROGRAM) -> Path:
    """A finding of a WASI program as campaigns write one: module.wasm, wasi.json, program.c."""
    folder.mkdir(parents=True)
    (folder / "module.wasm").write_bytes(compile_c(PROGRAM, "-Os").wasm)
    (folder / "wasi.json").write_text(wasi if isinstance(wasi, str) else json.dumps(wasi))
    if source is not None:
        (folder / "program.c").write_text(source)
    (folder / "case.json").write_text(json.dumps({"seed": 3, "index": 1, "generator": "csmith", "facets": [],
                                                  "opt_level": "-Os", "csmith_seed": 12345}))
    (folder / "engine.json").write_text(json.dumps({"engine": "asyncify", "yield_points": "loop",
                                                    "wasmtime_opt": "speed"}))
    (folder / "schedule.json").write_text(json.dumps({"spec": "spread:2"}))
    return folder


def test_corpus_add_keeps_a_wasi_findings_inputs_and_source(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    inputs = WasiInputs(("program", "2"), (("TAG", "found"),), b"in\n", (("input.txt", b"x\n"),))
    finding = make_wasi_finding(tmp_path / "findings" / "f1", inputs.to_json())
    target = tmp_path / "corpus"
    assert main(["corpus", "add", str(finding), "--corpus", str(target), "--name", "wasi-found"]) == 0
    cases, errors = corpus.discover([target])
    assert errors == [] and len(cases) == 1
    case = cases[0]
    assert case.module == target / "cases" / "wasi-found.wasm" and not case.compiled
    assert case.compiled_from == target / "cases" / "wasi-found.c"
    assert case.compiled_from.read_text() == PROGRAM
    assert case.wasi == inputs
    assert "opt level -Os, csmith seed 12345" in case.origin
    assert corpus.replay_case(case).outcome == "pass"
    # the same module again is a no-op; a name whose .c is taken is refused
    assert main(["corpus", "add", str(finding), "--corpus", str(target)]) == 0
    assert "already in the corpus" in capsys.readouterr().out
    other = make_wasi_finding(tmp_path / "findings" / "f2", WasiInputs().to_json(), source=None)
    (other / "module.wasm").write_bytes(compile_c(PROGRAM, "-O2").wasm)  # another module
    (target / "cases" / "taken.c").write_text("")
    assert main(["corpus", "add", str(other), "--corpus", str(target), "--name", "taken"]) == 2
    assert "taken.c: a case named 'taken' already exists" in capsys.readouterr().err
    # without program.c: the inputs alone
    assert main(["corpus", "add", str(other), "--corpus", str(target), "--name", "no-source"]) == 0
    case = corpus.load_case(target / "cases" / "no-source.json")
    assert case.compiled_from is None and case.wasi == WasiInputs()


@pytest.mark.parametrize("wasi, message", [
    ("{not json", "not a finding directory (wasi.json:"),
    ({"args": "x"}, "not a finding directory (wasi.json: WASI inputs:"),
    ({"files": {"/abs": ""}}, "not a finding directory (wasi.json: WASI file path"),
])
def test_corpus_add_of_a_finding_with_bad_inputs_is_bad_input(tmp_path: Path, wasi: object, message: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    finding = make_wasi_finding(tmp_path / "f", wasi)
    assert main(["corpus", "add", str(finding), "--corpus", str(tmp_path / "corpus")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "corpus" / "cases").exists() or not any((tmp_path / "corpus" / "cases").iterdir())
