"""Generators and fuzz targets (importable as ``resumefuzz.fuzz``).

The generator interface (:class:`Generator`, :class:`GeneratedCase`) and its
registry (:func:`get_generator`, :func:`generator_names`, entry-point group
``resumefuzz.generators``) are this package's public API.
"""

from .generator import GeneratedCase, Generator, Predicate
from .registry import ENTRY_POINT_GROUP, generator_names, get_generator

__all__ = ["ENTRY_POINT_GROUP", "GeneratedCase", "Generator", "Predicate", "generator_names", "get_generator"]
