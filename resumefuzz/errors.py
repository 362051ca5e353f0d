"""Error kinds and the exit codes the CLI maps them to."""

from __future__ import annotations

import re


class ResumefuzzError(Exception):
    """Base: an expected failure reported as one line, never a traceback."""

    exit_code = 2
    label = "error"


class BadInput(ResumefuzzError):
    """Invalid module, bad flag value, corrupt file: exit 2."""

    exit_code = 2


class SetupError(ResumefuzzError):
    """A required tool (node, Binaryen, wasm-tools) is missing: exit 2."""

    exit_code = 2


class Unsupported(ResumefuzzError):
    """The module uses something the harness or engine cannot handle: exit 3."""

    exit_code = 3
    label = "unsupported"


class EngineDefect(Unsupported):
    """The engine rejected a module the harness validated (wasm-tools/wasmtime): its parser or
    validator is wrong, not the module.  Exit 5 for ``check``; campaigns record it as an
    ``engine-rejects-valid`` finding, deduplicated by :attr:`message_class`.

    A subclass of :class:`Unsupported` so that code which only skips modules it cannot judge
    (property tests, generator smoke tests) still skips it; whatever reports outcomes catches it
    first.  ``Unsupported`` proper stays for what the engine documents as out of scope.
    """

    exit_code = 5
    label = "engine defect"

    def __init__(self, message: str, *, engine: str, detail: str) -> None:
        super().__init__(message)
        self.engine = engine  # the engine's name (not its options: a parser defect ignores them)
        self.detail = detail  # the engine's own message, in full
        self.message_class = message_class(detail)


def message_class(detail: str) -> str:
    """An engine message with what varies between instances of one defect blanked: the first of
    several ``; ``-separated messages, names (``$x``), value types and numbers.  Binaryen's
    "i64 != i32: binary child types must be equal" and "f32 != i32: ..." are one class."""
    first = detail.split("; ")[0].strip()
    first = re.sub(r"\$\S+", "$N", first)
    first = re.sub(r"\b(?:[if](?:32|64)|v128|(?:func|extern|any|eq|i31|struct|array|exn|null)ref)\b", "T", first)
    first = re.sub(r"\b0x[0-9a-fA-F]+\b|\b\d+\b", "N", first)
    return " ".join(first.split())[:200]


class EngineError(ResumefuzzError):
    """The engine under test failed on a valid module: its transform exited non-zero,
    timed out, wrote nothing or wrote an invalid module.  Exit 3 for ``check``;
    campaigns count these apart from ``unsupported`` (a campaign whose engine
    fails on everything has fuzzed nothing and must not pass)."""

    exit_code = 3
    label = "engine error"


class TransformTimeout(EngineError):
    """The engine's transform did not finish within its limit: exit 3 for ``check``, a hang finding
    in campaigns (a hang of the system under test)."""


class Inconclusive(ResumefuzzError):
    """A harness budget (compile time, judged size the program itself asked for) ran out: exit 4."""

    exit_code = 4
    label = "inconclusive"
