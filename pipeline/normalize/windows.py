"""Normalisation specifics of the windows source types (to be written)."""

from __future__ import annotations

from pipeline.normalize.sourcetype import SourceType

__all__ = ["SOURCES"]

SOURCES: tuple[SourceType, ...] = ()
