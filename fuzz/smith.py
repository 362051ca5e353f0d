"""wasm-smith programs (`wasm-tools smith`), restricted to what every part accepts.

Profiles are JSON configs for ``wasm-tools smith -c`` (kebab-case keys) in
``fuzz/profiles/``; their features are the intersection of what wasmtime,
Binaryen and Asyncify accept:

    core          MVP + multi-value + bulk memory + sign-ext + saturating float-to-int,
                  one memory with a required maximum, no reference types
    simd          core + v128
    tables        core + reference types and the ``table`` instruction class,
                  one or two tables, passive and declarative element segments
                  (``table.size/copy/init``, ``elem.drop``, ``data.drop``)
    multi-memory  core with two or three memories (smith has no switch for the
                  proposal: ``max-memories`` > 1 is it); loads, stores and bulk
                  instructions name any of them

Core and simd leave the table instructions out.  ``tables`` keeps them
although Binaryen mis-indexes element segments after a declarative one
(issue 13): those modules are engine defects (``engine-rejects-valid``
findings, not judged).  It leaves smith's ``reference`` class out: with it
(``ref.func``/``ref.null`` operands for ``table.grow/set/fill``) 44 of 100
cases were judged instead of 73 (``ref.func`` declares segments, which trip
issue 13; Asyncify refuses references live across an unwind), and still no
suspension came after a table change (smith's random indices and deltas
make table writes trap or fail).  Smith's ``tables`` cases reach segment
drops; table mutation is the structured generator's ``tables`` profile's.
wasm-tools' JSON config cannot
express instruction kinds, so a profile carries them under the
resumefuzz-only key ``resumefuzz-allowed-instructions`` (passed as
``--allowed-instructions``; the key is removed before wasm-tools sees the
config).  Tables are capped at 64 slots (``max-table-elements``; smith's
default is a million): every suspension captures and restores each slot, and
a few dozen slots exercise that as well as thousands.

Every case also gets ``--ensure-termination`` (a hidden fuel global the
snapshot must carry) and ``--available-imports`` with a module declaring the
host interface, so generated programs do I/O.  A case is regenerated from
(profile, input bytes); the input bytes are derived from the case seed and
kept with every finding.

Registered as generator ``smith`` (:class:`SmithGenerator`): its profiles
are the files in ``profiles/``, their features the config's ``*-enabled``
keys, and findings shrink with ``wasm-tools shrink``.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from resumefuzz import wasmtools
from resumefuzz.errors import BadInput
from resumefuzz.abi import HOST_IMPORTS, HOST_MODULE
from resumefuzz.host import splitmix64

from .generator import GeneratedCase, Generator, Predicate

PROFILES_DIR = Path(__file__).with_name("profiles")
INPUT_BYTES = 4096


@dataclass(frozen=True)
class SmithCase:
    profile: str
    input: bytes  # wasm-smith's raw input (its "fuzz bytes")
    wasm: bytes


def profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.json"))


def profile_path(profile: str) -> Path:
    path = PROFILES_DIR / f"{profile}.json"
    if not path.is_file():
        raise BadInput(f"--profile: unknown profile {profile!r} (available: {', '.join(profiles())})")
    return path


def input_bytes(seed: int, length: int = INPUT_BYTES) -> bytes:
    """Deterministic smith input for a case seed."""
    out = bytearray()
    state = seed & (2**64 - 1)
    while len(out) < length:
        state = splitmix64(state)
        out += state.to_bytes(8, "little")
    return bytes(out[:length])


@functools.cache
def _private_dir() -> Path:
    """Fallback for systems without memfd: one folder per process, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="resumefuzz-smith-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def _input_file(name: str, data: bytes) -> tuple[str, int | None]:
    """(path, fd to pass) of a file holding DATA that wasm-tools can read.

    On Linux an anonymous in-memory file (memfd) read through ``/proc/self/fd/N``
    in the child: nothing is ever written to disk, so nothing is left behind
    however this process ends (a campaign kills busy workers).  Elsewhere a file in
    a per-process folder removed at exit.
    """
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create(name)  # close-on-exec: reaches only the children it is passed to
        os.write(fd, data)
        return f"/proc/self/fd/{fd}", fd
    path = _private_dir() / name
    path.write_bytes(data)
    return str(path), None


def _host_module() -> tuple[str, int | None]:
    fields = " ".join(
        f'(import "{HOST_MODULE}" "{name}" (func (param {" ".join(sig.params)}) (result {" ".join(sig.results)})))'
        for name, sig in HOST_IMPORTS.items()
    )
    return _input_file("host.wasm", wasmtools.parse(f"(module {fields})"))


_OWN_KEY = "resumefuzz-allowed-instructions"


@functools.cache
def _smith_args(profile: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """wasm-tools smith arguments for PROFILE (config file without resumefuzz's own key), fds to pass."""
    config = json.loads(profile_path(profile).read_text())
    kinds = config.pop(_OWN_KEY, None)
    config_path, config_fd = _input_file(f"{profile}.json", json.dumps(config).encode())
    host_path, host_fd = _host_module()
    args = ["-c", config_path, "--ensure-termination", "--available-imports", host_path]
    fds = tuple(fd for fd in (config_fd, host_fd) if fd is not None)
    return tuple(args + (["--allowed-instructions", kinds] if kinds else [])), fds


def generate(profile: str, data: bytes) -> SmithCase:
    """Run wasm-smith on DATA under PROFILE."""
    args, fds = _smith_args(profile)
    proc = subprocess.run([wasmtools.executable(), "smith", *args], input=data, capture_output=True, timeout=60,
                          pass_fds=fds)
    if proc.returncode != 0:
        raise RuntimeError(f"wasm-smith failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
    return SmithCase(profile, data, proc.stdout)


def generate_from_seed(profile: str, seed: int) -> SmithCase:
    return generate(profile, input_bytes(seed))


#: wasm-smith config keys whose wasm-tools feature name differs from the key without ``-enabled``
_FEATURE_NAMES = {"sign-extension-ops": "sign-extension"}


def features(profile: str) -> frozenset[str]:
    """The features PROFILE enables (``*-enabled: true``), in ``wasm-tools validate --features`` names."""
    config = json.loads(profile_path(profile).read_text())
    enabled = [key.removesuffix("-enabled") for key, on in config.items() if key.endswith("-enabled") and on is True]
    if config.get("max-memories", 1) > 1:  # smith has no switch for it: more than one memory is multi-memory
        enabled.append("multi-memory")
    return frozenset(_FEATURE_NAMES.get(name, name) for name in enabled)


class SmithGenerator(Generator):
    """wasm-smith on input bytes derived from the seed; shrunk by ``wasm-tools shrink``."""

    name = "smith"
    profiles = {profile: features(profile) for profile in profiles()}

    def generate(self, seed: int, profile: str) -> GeneratedCase:
        case = generate_from_seed(profile, seed)
        return GeneratedCase(self.name, seed, profile, case.wasm, input=case.input)

    def shrink(self, case: GeneratedCase, interesting: Predicate, *, deadline: float,
               attempts: int) -> GeneratedCase | None:
        from resumefuzz.minimize import shrink_module

        wasm = shrink_module(case.wasm, interesting, attempts=attempts, timeout=max(0.0, deadline - time.time()))
        return replace(case, wasm=wasm)
