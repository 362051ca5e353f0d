"""Error kinds and the exit codes the CLI maps them to."""

from __future__ import annotations


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
