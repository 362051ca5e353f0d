"""The csmith generator: deterministic Csmith programs compiled by zig cc, their profile and imports,
the error when Csmith is missing, and shrinking on the C source."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest
import wasmtime

from resumefuzz import compiler, wasmtools
from resumefuzz.abi import WASI_IMPORTS, WASI_MODULE
from resumefuzz.errors import SetupError
from resumefuzz.fuzz import get_generator
from resumefuzz.fuzz.csmith import CSMITH_OPTIONS, FEATURES, HOST_IO_IMPORTS, OPT_LEVELS, CsmithGenerator, build
from resumefuzz.fuzz.generator import GeneratedCase
from resumefuzz.wasi import WasiInputs
from resumefuzz.values import Signature

SEEDS = range(20)


@functools.cache
def _case(seed: int) -> GeneratedCase:
    return get_generator("csmith").generate(seed, "c")  # through the shared cache: fast after the first run


def test_the_same_seed_makes_the_same_program_and_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiler.CACHE_ENV, str(tmp_path / "one"))
    first = CsmithGenerator().generate(7, "c")
    monkeypatch.setenv(compiler.CACHE_ENV, str(tmp_path / "two"))  # built again, not read back
    second = CsmithGenerator().generate(7, "c")
    assert first.wasm == second.wasm and first.source == second.source and first.record == second.record
    assert first.source is not None and "#include \"csmith.h\"" in first.source
    assert first.wasi == WasiInputs(args=("program",))
    assert first.generator == "csmith" and (first.seed, first.profile) == (7, "c")
    assert CsmithGenerator().generate(8, "c").source != first.source


def test_the_record_names_what_reproduces_the_case() -> None:
    record = _case(3).record
    assert isinstance(record["csmith_seed"], int) and record["csmith_options"] == list(CSMITH_OPTIONS)
    assert record["opt_level"] in OPT_LEVELS and record["zig_version"] == compiler.zig_version()
    assert record["csmith_version"].startswith("csmith ")
    assert f"--seed {record['csmith_seed']} " in _case(3).source  # Csmith's own header names its seed
    assert {case.record["opt_level"] for case in map(_case, SEEDS)} == set(OPT_LEVELS)  # the seed draws every level


def _imports(wasm: bytes) -> list[tuple[str, str, Signature]]:
    module = wasmtime.Module(wasmtime.Engine(), wasm)
    out = []
    for item in module.imports:
        kind = item.type
        assert isinstance(kind, wasmtime.FuncType), item.name
        out.append((item.module, item.name, Signature(tuple(str(t) for t in kind.params),
                                                      tuple(str(t) for t in kind.results))))
    return out


def test_modules_are_wasi_commands_with_the_declared_features_and_supported_imports() -> None:
    declared = ",".join(["wasm1", *sorted(FEATURES)])
    used: dict[str, int] = {}
    needed = {feature: 0 for feature in FEATURES}
    for seed in SEEDS:
        wasm = _case(seed).wasm
        wasmtools.validate(wasm, declared)
        exports = [e.name for e in wasmtime.Module(wasmtime.Engine(), wasm).exports]
        assert "_start" in exports, seed
        for module, name, signature in _imports(wasm):
            assert module == WASI_MODULE and name in WASI_IMPORTS, (seed, module, name)
            assert signature == WASI_IMPORTS[name], (seed, name, signature)
            used[name] = used.get(name, 0) + 1
        for feature in FEATURES:  # every declared feature is one some module cannot do without
            try:
                wasmtools.validate(wasm, ",".join(["wasm1", *sorted(FEATURES - {feature})]))
            except wasmtools.WasmToolsError:
                needed[feature] += 1
    assert all(needed.values()), needed
    # what Csmith programs need of WASI (the module docstring lists it)
    assert {"args_get", "args_sizes_get", "fd_write", "proc_exit"} <= set(used), used
    assert set(used) <= {"args_get", "args_sizes_get", "fd_close", "fd_fdstat_get", "fd_seek", "fd_write",
                         "proc_exit", "random_get"} | HOST_IO_IMPORTS, used
    for seed in SEEDS:  # host-I/O cases (fuzz/csmith_platform) alone add HOST_IO_IMPORTS
        if not _case(seed).record.get("host_io"):
            assert not {name for _, name, _ in _imports(_case(seed).wasm)} & (HOST_IO_IMPORTS - {"random_get"}), seed


def test_a_missing_csmith_is_one_line_naming_the_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no csmith on it
    with pytest.raises(SetupError) as info:
        CsmithGenerator().generate(0, "c")
    assert str(info.value) == "csmith not found: install it (Debian/Ubuntu: `apt-get install csmith libcsmith-dev`)"


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(Exception, match="generator csmith has no profile 'core'"):
        get_generator("csmith").generate(0, "core")


class _ImportsFdWrite:
    """Interesting while the module still writes through fd_write (prints); counts its calls."""

    calls = 0

    def __call__(self, wasm: bytes) -> bool:
        self.calls += 1
        return any(name == "fd_write" for _, name, _ in _imports(wasm))

    def script(self, folder: Path) -> Path:  # pragma: no cover - the in-process form is used
        raise NotImplementedError


def test_shrinking_removes_c_while_the_predicate_holds() -> None:
    seed = min(SEEDS, key=lambda s: len(_case(s).source or ""))  # the smallest program: few compiles
    case = _case(seed)
    predicate = _ImportsFdWrite()
    shrunk = get_generator("csmith").shrink(case, predicate, deadline=time.time() + 30, attempts=40)
    assert shrunk is not None and predicate.calls > 0
    assert shrunk.source is not None and case.source is not None
    assert len(shrunk.source) < len(case.source) // 2, (len(shrunk.source), len(case.source))
    assert predicate(shrunk.wasm)
    assert build(shrunk.source, case.record["opt_level"], bool(case.record.get("host_io"))).wasm \
        == shrunk.wasm  # the module is the source's
    assert shrunk.record["reduced"] and shrunk.record["csmith_seed"] == case.record["csmith_seed"]

    never = get_generator("csmith").shrink(case, lambda wasm: False, deadline=time.time() + 3,  # type: ignore[arg-type]
                                           attempts=40)
    assert never is None
