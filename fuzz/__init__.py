"""Generators and fuzz targets (importable as ``resumefuzz.fuzz``)."""
