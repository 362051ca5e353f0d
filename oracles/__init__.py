"""Oracles: judge observations of runs (importable as ``resumefuzz.oracles``)."""

from .transparency import FACETS, Divergence, compare

__all__ = ["FACETS", "Divergence", "compare"]
