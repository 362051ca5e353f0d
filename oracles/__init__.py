"""Oracles: judge observations of runs (importable as ``resumefuzz.oracles``)."""

from .transparency import FACETS, Divergence, Leeway, compare

__all__ = ["FACETS", "Divergence", "Leeway", "compare"]
