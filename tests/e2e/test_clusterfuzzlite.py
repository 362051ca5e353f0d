"""The ClusterFuzzLite build (.clusterfuzzlite/): what can run outside its docker image.

build.sh's `stage` step runs here for real (node, Binaryen, wasm-tools and wasmtime's library
collected; seed corpora, dictionary and .options written to $OUT), and the staged runtime is shown to
be enough: a check runs with nothing but the staged node and Binaryen.  The `compile` step needs the
OSS-Fuzz image's compile_python_fuzzer (PyInstaller): it is not run here, and build.sh refuses to
pretend without it.  The targets themselves run standalone on the staged inputs in the nightly
suite (tests/e2e/test_targets.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CFL = ROOT / ".clusterfuzzlite"
TARGETS = sorted(p.stem for p in (ROOT / "fuzz").glob("*_fuzzer.py"))
_SCRIPT = Path(sys.executable).with_name("resumefuzz")
RESUMEFUZZ = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "resumefuzz.cli"]


def build(tmp: Path, steps: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run build.sh's STEPS with the OSS-Fuzz layout: $SRC/resumefuzz is this checkout."""
    (tmp / "src").mkdir(exist_ok=True)
    if not (tmp / "src" / "resumefuzz").exists():
        (tmp / "src" / "resumefuzz").symlink_to(ROOT)
    base = {k: v for k, v in os.environ.items() if k not in ("SRC", "OUT", "WORK")}
    return subprocess.run(["bash", str(CFL / "build.sh")], capture_output=True, text=True, timeout=300,
                          env={**base, "SRC": str(tmp / "src"), "OUT": str(tmp / "out"), "WORK": str(tmp / "work"),
                               "PYTHON": sys.executable, "RESUMEFUZZ_CFL_STEPS": steps, **env})


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    tmp = tmp_path_factory.mktemp("cfl")
    result = build(tmp, "stage")
    assert result.returncode == 0, result.stderr[-2000:]
    return tmp


def test_the_project_files_follow_the_python_conventions() -> None:
    assert "language: python" in (CFL / "project.yaml").read_text().splitlines()
    assert (CFL / "Dockerfile").read_text().count("FROM gcr.io/oss-fuzz-base/base-builder-python") == 1
    script = (CFL / "build.sh").read_text()
    assert 'compile_python_fuzzer "$fuzzer"' in script and "--runtime-hook" in script
    assert subprocess.run(["bash", "-n", str(CFL / "build.sh")]).returncode == 0
    assert TARGETS == ["snapshot_fuzzer", "structured_fuzzer", "transparency_fuzzer"], "build.sh bundles per target"


def test_stage_writes_each_targets_seed_corpus_dictionary_and_options(staged: Path) -> None:
    out = staged / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{t}_seed_corpus.zip" for t in TARGETS] + ["snapshot_fuzzer.dict", "structured_fuzzer.options",
                                                      "transparency_fuzzer.options"])
    seeds = ROOT / "fuzz" / "seeds" / "snapshot"
    with zipfile.ZipFile(out / "snapshot_fuzzer_seed_corpus.zip") as z:
        assert sorted(z.namelist()) == sorted(p.name for p in seeds.glob("*.rfzsnap"))
        assert all(z.read(p.name) == p.read_bytes() for p in seeds.glob("*.rfzsnap"))
    for target in ("structured_fuzzer", "transparency_fuzzer"):
        with zipfile.ZipFile(out / f"{target}_seed_corpus.zip") as z:
            sizes = {len(z.read(name)) for name in z.namelist()}
            assert len(z.namelist()) == 16 and sizes == {4096}
    assert (out / "snapshot_fuzzer.dict").read_bytes() == (ROOT / "fuzz" / "seeds" / "snapshot_fuzzer.dict").read_bytes()
    options = (out / "structured_fuzzer.options").read_text().splitlines()
    assert options[0] == "[libfuzzer]" and "max_len = 16384" in options and "len_control = 0" in options
    runtime = staged / "work" / "resumefuzz-runtime"
    assert sorted(p.name for p in (runtime / "bin").iterdir()) == ["node", "wasm-tools"]
    assert all(os.access(p, os.X_OK) for p in (runtime / "bin").iterdir())
    assert (runtime / "lib" / "_libwasmtime.so").stat().st_size > 1_000_000
    assert sorted(p.name for p in (runtime / "node_modules" / "binaryen").iterdir()) == ["LICENSE", "index.js",
                                                                                          "package.json"]


def test_the_staged_node_and_binaryen_are_all_the_engine_needs(staged: Path) -> None:
    """What the bundle's runtime hook sets up (PATH, RESUMEFUZZ_BINARYEN), with the staged copies only:
    no other node on PATH."""
    runtime = staged / "work" / "resumefuzz-runtime"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "RESUMEFUZZ_"))}
    module = ROOT / "tests" / "wat" / "multivalue.wat"
    args = [*RESUMEFUZZ, "check", str(module), "--schedule", "quick", "--quiet"]
    ok = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=staged,
                        env={**env, "PATH": str(runtime / "bin"),
                             "RESUMEFUZZ_BINARYEN": str(runtime / "node_modules" / "binaryen")})
    assert ok.returncode == 0 and "EQUAL" in ok.stdout, ok.stdout + ok.stderr
    no_node = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=staged,
                             env={**env, "PATH": str(staged / "work"),
                                  "RESUMEFUZZ_BINARYEN": str(runtime / "node_modules" / "binaryen")})
    assert no_node.returncode == 2 and "node not found" in no_node.stderr, no_node.stderr  # the control


def test_compile_refuses_to_run_without_the_oss_fuzz_image(tmp_path: Path) -> None:
    if shutil.which("compile_python_fuzzer"):
        pytest.skip("inside the OSS-Fuzz image: compile really runs there")
    result = build(tmp_path, "compile")
    assert result.returncode == 1
    assert result.stderr.strip() == ("build.sh: compile_python_fuzzer not found "
                                     "(run inside the OSS-Fuzz base-builder-python image)")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
