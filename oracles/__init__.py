"""Oracles: judge observations of runs (importable as ``resumefuzz.oracles``)."""

from .transparency import ALL_FACETS, FACETS, RUN_FACETS, Divergence, Leeway, compare

__all__ = ["ALL_FACETS", "FACETS", "RUN_FACETS", "Divergence", "Leeway", "compare"]
