"""The generator interface: what makes the programs a campaign judges.

A generator turns a case seed into a module, deterministically
(:meth:`Generator.generate`), and makes a finding's module smaller while it
still diverges (:meth:`Generator.shrink`).  It declares the profiles it
accepts and, per profile, the WebAssembly features its programs use (on top
of ``wasm1``, in ``wasm-tools validate --features`` names), so a profile
says exactly what an engine and the runtime must support.

A new generator is one file with a :class:`Generator` subclass plus one
registration (see :mod:`resumefuzz.fuzz.registry`).  The campaign asks the
registry for generators by name and never knows which ones exist.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from resumefuzz.errors import BadInput
from resumefuzz.wasi import WasiInputs


class Predicate(Protocol):
    """Is a module still interesting: does it still diverge on one of the finding's facets?

    In process (call it) or, for an external reducer, as an executable
    (``resumefuzz.minimize.Predicate`` is the campaign's).
    """

    def __call__(self, wasm: bytes) -> bool: ...

    def script(self, folder: Path) -> Path:
        """An executable in FOLDER taking a module's path: exit 0 iff that module is interesting."""
        ...


@dataclass(frozen=True)
class GeneratedCase:
    """One generated module and what it was made from."""

    generator: str  # the generator that made it (a composite names the member that did)
    seed: int
    profile: str
    wasm: bytes
    #: the generator's raw input, kept with a finding when the module is made from bytes (smith-input.bin)
    input: bytes | None = None
    #: the module's text when the generator renders its own (kept as module.wat)
    text: str | None = None
    #: what reproducing the module depends on besides (generator, seed, profile); recorded in case.json
    record: dict[str, Any] = field(default_factory=dict)
    #: a WASI program's inputs (args, env, stdin, the preopened directory's files); None: not WASI
    wasi: WasiInputs | None = None
    #: the source the module was compiled from (a compiled-C generator's C program, kept as program.c)
    source: str | None = None


class Generator(abc.ABC):
    """Base class of every generator; instances are stateless and cheap."""

    #: the name ``--generator`` selects it by, recorded with every case (the registry sets it)
    name: str = "generator"

    #: profile -> the WebAssembly features its programs use beyond wasm1 (``wasm-tools`` names)
    profiles: dict[str, frozenset[str]] = {}

    #: the yield-point modes a campaign draws from for this generator's programs; None: the
    #: campaign's own choices (``all`` among them).  Compiled programs set cheaper ones: every
    #: instruction of wasi-libc's printf as a yield point makes a prepared module of ~2 MB that
    #: wasmtime cannot compile within the harness's compile budget.
    yield_points: tuple[str, ...] | None = None

    @abc.abstractmethod
    def generate(self, seed: int, profile: str) -> GeneratedCase:
        """The module of the case with SEED under PROFILE (the same arguments, the same module)."""

    def shrink(self, case: GeneratedCase, interesting: Predicate, *, deadline: float,
               attempts: int) -> GeneratedCase | None:
        """A smaller CASE for which INTERESTING still holds, or None (no shrinking, or nothing found).

        DEADLINE (epoch seconds) ends the search with the best case so far; ATTEMPTS is the
        user's effort knob (``--shrink-attempts``), for generators that count attempts.
        Default: no shrinking.
        """
        return None

    def member(self, seed: int, profile: str | None = None) -> "Generator":
        """The generator that makes the case with SEED under PROFILE (None: any profile, drawn
        afterwards among the member's): itself (a composite picks a member that has PROFILE)."""
        return self

    def check_profile(self, profile: str) -> None:
        if profile not in self.profiles:
            raise BadInput(f"--profile: generator {self.name} has no profile {profile!r} "
                           f"(its profiles: {', '.join(sorted(self.profiles)) or 'none'})")
