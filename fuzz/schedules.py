"""Schedules as Hypothesis strategies.

A schedule stays plain data: either a SPEC string in the language of
``resumefuzz.schedule`` (expanded once the straight run has counted its
crossings) or a sorted tuple of crossing numbers.

``schedule_specs()`` shrinks towards ``"at:1"`` (one suspension at the first
crossing), then towards fewer parts, smaller numbers and the cheaper part
kinds; ``each`` (one interrupted run per crossing) is drawn only rarely.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["schedule_specs", "crossing_sets", "MAX_CROSSING"]

#: Largest crossing number an ``at:`` part names (programs usually cross more).
MAX_CROSSING = 200


@st.composite
def _at(draw: st.DrawFn, several: bool) -> str:
    if not several:  # the simplest schedule of all: two choices, shrinking to "at:1"
        return f"at:{draw(st.integers(1, MAX_CROSSING))}"
    crossings = draw(st.lists(st.integers(1, MAX_CROSSING), min_size=2, max_size=6, unique=True))
    return "at:" + ",".join(map(str, sorted(crossings)))


@st.composite
def _every(draw: st.DrawFn) -> str:
    stride = draw(st.integers(1, 32))
    # "every" alone means every crossing: drawn as the non-shrunk spelling of stride 1
    return "every" if stride == 1 and draw(st.booleans()) else f"every:{stride}"


@st.composite
def _random(draw: st.DrawFn) -> str:
    runs = draw(st.integers(1, 8))
    per_run = draw(st.integers(0, 6))
    return f"random:{runs}" if per_run == 0 else f"random:{runs}x{per_run}"


_SPREAD = st.integers(1, 16).map(lambda n: f"spread:{n}")


@st.composite
def _part(draw: st.DrawFn) -> str:
    # weights out of 32, simplest first (the shrinker prefers low kinds)
    kind = draw(st.integers(0, 31))
    if kind < 10:
        return draw(_at(several=kind >= 5))
    if kind < 17:
        return draw(_every())
    if kind < 24:
        return draw(_SPREAD)
    if kind < 31:
        return draw(_random())
    # "each" is expensive (one interrupted run per crossing): only half of the last
    # slot, and never a one-choice path (shrinking orders by the number of choices)
    return "each" if draw(st.booleans()) else "every"


@st.composite
def _specs(draw: st.DrawFn) -> str:
    parts = [draw(_part())]
    while len(parts) < 4 and draw(st.integers(0, 2)) == 2:  # joined with ';' about a third of the time
        parts.append(draw(_part()))
    return ";".join(parts)


def schedule_specs() -> st.SearchStrategy[str]:
    """SPEC strings accepted by ``resumefuzz.schedule.validate`` (simplest: ``at:1``)."""
    return _specs()


def crossing_sets(total: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Sorted, unique crossing numbers in 1..TOTAL; empty only when TOTAL == 0."""
    if total < 0:
        raise ValueError(f"crossing_sets: total must be >= 0, not {total}")
    if total == 0:
        return st.just(())
    return st.lists(st.integers(1, total), min_size=1, max_size=min(total, 32), unique=True).map(
        lambda cs: tuple(sorted(cs)))
