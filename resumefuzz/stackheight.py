"""Static operand-stack height at each line of a printed (flat) function body.

Used to label yield sites: a suspension at a site whose height is > 0 had
values on the operand stack, which is what stresses a transform's stack
handling.  Heights are counted in values; after an unconditional branch the
stack is polymorphic and heights are unknown (None) until the enclosing
``else``/``end``.  An instruction the table does not know makes the rest of
the function unknown: the measure is conservative, never wrong.
"""

from __future__ import annotations

import re

from .moduletext import ModuleText
from .values import Signature

_PUSH = re.compile(r"^(\w+\.const|local\.get|global\.get|memory\.size|table\.size|ref\.null|ref\.func)\b")
_POP1 = re.compile(r"^(local\.set|global\.set|drop|br_if|v128\.load\d+_lane|table\.grow)\b")
_SAME = re.compile(
    r"^(local\.tee|memory\.grow|nop|ref\.is_null|table\.get|data\.drop|elem\.drop|"
    r"[if](32|64)\.load\w*|v128\.load\w*|"
    r"[if](32|64)\.(eqz|clz|ctz|popcnt|neg|abs|sqrt|ceil|floor|trunc|nearest|wrap_i64|extend\w*|trunc\w*|"
    r"convert\w*|demote\w*|promote\w*|reinterpret\w*)|"
    r"\w+x\d+\.(splat|extract_lane\w*|neg|abs|not|all_true|any_true|bitmask|popcnt|sqrt|ceil|floor|trunc\w*|"
    r"nearest|extend\w*|convert\w*|demote\w*|promote\w*|narrow_never)|v128\.(not|any_true))\b")
_POP2 = re.compile(
    r"^([if](32|64)\.store\w*|v128\.store\w*|table\.set)\b")
_BINARY = re.compile(
    r"^([if](32|64)\.(add|sub|mul|div\w*|rem\w*|and|or|xor|shl|shr\w*|rotl|rotr|eq|ne|lt\w*|gt\w*|le\w*|ge\w*|"
    r"min|max|copysign)|\w+x\d+\.\w+|v128\.(and|or|xor|andnot))\b")
_TERNARY = re.compile(r"^(select|v128\.bitselect|memory\.(fill|copy|init)|table\.(fill|copy|init))\b")
_JUMP = re.compile(r"^(br|br_table|return|unreachable|return_call\w*)\b")
_BLOCK = re.compile(r"^(block|loop|if)\b(.*)$")
_CALL = re.compile(r"^call (\$[^\s)]+)")
_CALL_INDIRECT = re.compile(r"^call_indirect\b.*\(type (\$[^\s)]+)\)")


def heights(module: ModuleText, lines: list[str], start: int, end: int) -> list[int | None]:
    """Height before each line index in [start, end] (index end = before the closing line)."""
    out: list[int | None] = []
    height: int | None = 0
    frames: list[tuple[int | None, Signature]] = []
    for i in range(start, end + 1):
        out.append(height)
        if i < end:
            height = _step(module, lines[i].strip(), height, frames)
    return out


def _step(module: ModuleText, text: str, height: int | None,
          frames: list[tuple[int | None, Signature]]) -> int | None:
    if text.startswith(("else", "end")):
        if not frames:
            return None
        base, sig = frames[-1]
        if text.startswith("end"):
            frames.pop()
            return None if base is None else base + len(sig.results)
        return None if base is None else base + len(sig.params)
    match = _BLOCK.match(text)
    if match:
        sig = _block_signature(module, match.group(2))
        if height is not None and match.group(1) == "if":
            height -= 1
        frames.append((None if height is None else height - len(sig.params), sig))
        return height
    if height is None:
        return None
    if _JUMP.match(text):
        return None
    match = _CALL.match(text)
    if match:
        sig = module.func(match.group(1)).sig
        return height - len(sig.params) + len(sig.results)
    match = _CALL_INDIRECT.match(text)
    if match:
        sig = module.types[match.group(1)]
        return height - len(sig.params) - 1 + len(sig.results)
    for pattern, delta in ((_PUSH, 1), (_POP1, -1), (_SAME, 0), (_POP2, -2), (_TERNARY, -2), (_BINARY, -1)):
        if pattern.match(text):
            if pattern is _TERNARY and text.startswith(("memory.", "table.")):
                return height - 3
            return height + delta
    return None  # unknown instruction: stop measuring


def _block_signature(module: ModuleText, rest: str) -> Signature:
    match = re.search(r"\(type (\$[^\s)]+)\)", rest)
    if match:
        return module.types[match.group(1)]
    results = re.findall(r"\(result ([^)]*)\)", rest)
    return Signature((), tuple(t for r in results for t in r.split()))
