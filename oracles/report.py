"""Context for divergence reports: hexdumps around an offset, events around an index."""

from __future__ import annotations

from resumefuzz.values import Value

_ROW = 16


def hexdump_context(label: str, data: bytes, offset: int, rows_before: int = 1, rows_after: int = 2,
                    what: str = "memory") -> str:
    """Rows of DATA (WHAT: memory, stdout, a file...) around OFFSET; the differing row is marked with '>'."""
    start = max(0, (offset // _ROW - rows_before) * _ROW)
    end = min(len(data), (offset // _ROW + rows_after + 1) * _ROW)
    lines = [f"  {label}:"]
    for row in range(start, end, _ROW):
        chunk = data[row:row + _ROW]
        mark = ">" if row <= offset < row + _ROW else " "
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"  {mark} {row:08x}  {hexes:<47}  |{text}|")
    if start >= end:
        lines.append(f"    (no byte at offset 0x{offset:x}: {what} is {len(data)} bytes)")
    return "\n".join(lines)


def event_context(label: str, events: list[Value], index: int, radius: int = 2) -> str:
    """Output events around INDEX; the differing one is marked with '>'."""
    lines = [f"  {label}:"]
    for i in range(max(0, index - radius), min(len(events), index + radius + 1)):
        lines.append(f"  {'>' if i == index else ' '} #{i}: {events[i]}")
    if index >= len(events):
        lines.append(f"  > #{index}: (no event)")
    return "\n".join(lines)
