"""Error kinds and the exit codes the CLI maps them to."""

from __future__ import annotations


class ResumefuzzError(Exception):
    """Base: an expected failure reported as one line, never a traceback."""

    exit_code = 2


class BadInput(ResumefuzzError):
    """Invalid module, bad flag value, corrupt file: exit 2."""

    exit_code = 2


class SetupError(ResumefuzzError):
    """A required tool (node, Binaryen, wasm-tools) is missing: exit 2."""

    exit_code = 2


class Unsupported(ResumefuzzError):
    """The module uses something the harness or engine cannot handle: exit 3."""

    exit_code = 3
