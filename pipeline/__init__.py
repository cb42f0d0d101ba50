"""BOTES security-event enrichment pipeline: normalise -> enrich -> cache -> index."""

__version__ = "0.1.0"
