"""Every source type the normaliser knows, gathered from the family modules, and name resolution."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.normalize import fortigate, iis, nessus, stream, suricata, windows
from pipeline.normalize.sourcetype import SourceType

__all__ = ["SourceType", "SOURCE_TYPES", "resolve_source_type", "FAMILIES", "family_of"]

SOURCE_TYPES: dict[str, SourceType] = {
    source.name: source
    for module in (fortigate, suricata, stream, windows, iis, nessus)
    for source in module.SOURCES
}

FAMILIES = sorted({s.family for s in SOURCE_TYPES.values()})


def resolve_source_type(name: str) -> SourceType | None:
    """The source type for a map name or a Splunk spelling (case-insensitive)."""
    wanted = name.strip().lower()
    for source in SOURCE_TYPES.values():
        if wanted == source.name.lower() or wanted in source.aliases:
            return source
    return None


def family_of(source: SourceType, routing: Mapping[str, str]) -> str:
    """The family (topic and index suffix) of a source type; ``routing`` overrides the default."""
    return routing.get(source.name, source.family)
