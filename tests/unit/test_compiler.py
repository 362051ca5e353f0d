"""resumefuzz.compiler: zig cc to wasm32-wasi, the content-addressed cache, errors and the timeout."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import wasmtime

from resumefuzz import compiler
from resumefuzz.process import _group_running

HELLO = '#include <stdio.h>\nint main(void) { printf("hello %d\\n", 6 * 7); return 0; }\n'


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache (zig's own cache of wasi-libc stays shared: builds take ~0.2 s)."""
    monkeypatch.setenv(compiler.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "cc"


def test_a_program_is_built_once_then_served_from_the_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = compiler.compile_c(HELLO, "-O2")
    assert not first.cached and first.path.is_relative_to(cache) and first.path.read_bytes() == first.wasm
    module = wasmtime.Module(wasmtime.Engine(), first.wasm)
    assert "_start" in [e.name for e in module.exports]  # a WASI command
    assert {i.module for i in module.imports} == {"wasi_snapshot_preview1"}

    def no_zig(*args: object) -> bytes:
        raise AssertionError("zig ran for a cached program")

    monkeypatch.setattr(compiler, "_build", no_zig)
    again = compiler.compile_c(HELLO.encode(), "O2")  # bytes and level spellings: one key
    assert again.cached and again.wasm == first.wasm and again.path == first.path
    # anything in the key is a new build: level, flags, what the build depends on, the source
    for kwargs in ({"opt": "-Oz"}, {"flags": ("-DX=1",)}, {"depends": "headers v2"}):
        with pytest.raises(AssertionError, match="zig ran"):
            compiler.compile_c(HELLO, **{"opt": "-O2", **kwargs})
    with pytest.raises(AssertionError, match="zig ran"):
        compiler.compile_c(HELLO + "\n", "-O2")


def test_the_key_includes_the_zig_version(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = compiler.cache_key(b"int main(void){return 0;}", "-O2", ())
    monkeypatch.setattr(compiler, "zig_version", lambda: "0.0.0-other")
    assert compiler.cache_key(b"int main(void){return 0;}", "-O2", ()) != key


def test_a_compile_error_carries_zigs_first_error_lines_and_is_not_cached(cache: Path) -> None:
    with pytest.raises(compiler.CompileError) as info:
        compiler.compile_c("int main(void) {\n  return missing_name;\n}\n", "-O1")
    message = str(info.value)
    assert message.startswith("zig cc -O1: program.c:2:10: error: use of undeclared identifier 'missing_name'")
    assert "\n" not in message and "resumefuzz-cc-" not in message  # one line, no private path
    assert not list(cache.rglob("*.wasm"))
    with pytest.raises(compiler.CompileError, match="optimization level '-O3'"):
        compiler.compile_c(HELLO, "-O3")


def test_a_build_past_its_timeout_is_killed_with_its_whole_process_group(cache: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # 3000 functions: about 18 s at -O2 on the 2-core machine, far past the 1.5 s limit
    source = "\n".join(f"int f{i}(int x) {{ int s = 0; for (int j = 0; j < x; j++) s += (j * {i}) ^ (s >> 3);"
                       f" return s; }}" for i in range(3000)) + "\nint main(void) { return f1(3); }\n"
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def recording(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        proc = real(*args, **kwargs)  # type: ignore[call-overload]
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", recording)
    begin = time.monotonic()
    with pytest.raises(compiler.CompileTimeout, match="no module after 1.5 s"):
        compiler.compile_c(source, "-O2", timeout=1.5)
    assert time.monotonic() - begin < 10
    assert len(started) == 1 and started[0].returncode is not None
    assert not _group_running(started[0].pid)  # zig and the clang it started are gone
    assert not list(cache.rglob("*.wasm"))


def test_the_command_line_builds_into_the_cache_and_prints_the_paths(cache: Path, tmp_path: Path) -> None:
    program = tmp_path / "hello.c"
    program.write_text(HELLO)
    proc = subprocess.run([sys.executable, "-m", "resumefuzz.compiler", str(program), "-O0", "-Os"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    paths = [Path(line) for line in proc.stdout.splitlines()]
    assert len(paths) == 2 and all(p.is_file() and p.is_relative_to(cache) for p in paths)
    assert paths[0] != paths[1]
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return x; }\n")
    proc = subprocess.run([sys.executable, "-m", "resumefuzz.compiler", str(bad)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {bad}: zig cc -O2: program.c:1:25: error:")
