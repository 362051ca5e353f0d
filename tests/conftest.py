"""Shared test set-up: the project's Hypothesis profiles."""

from resumefuzz.fuzz import settings as hypothesis_profiles

hypothesis_profiles.register()
