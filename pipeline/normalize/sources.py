"""Every source type the normaliser knows, gathered from the family modules, and name resolution."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.errors import ConfigError
from pipeline.normalize import fortigate, iis, nessus, stream, suricata, windows
from pipeline.normalize.sourcetype import SourceType

__all__ = ["SourceType", "SOURCE_TYPES", "resolve_source_type", "check_source_type", "FAMILIES", "family_of",
           "families", "check_routing"]

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


def check_source_type(name: str) -> SourceType:
    """The source type a user named (``--source-type``); ConfigError listing the known ones if there is none.
    (A file *named* for an unknown type is different: its lines are rejected as dead letters, like Logstash's.)"""
    source = resolve_source_type(name)
    if source is None:
        raise ConfigError(f"--source-type: unknown source type {name!r} (known: {', '.join(sorted(SOURCE_TYPES))})")
    return source


def family_of(source: SourceType, routing: Mapping[str, str]) -> str:
    """The family (topic and index suffix) of a source type; ``routing`` overrides the default."""
    return routing.get(source.name, source.family)


def families(routing: Mapping[str, str]) -> list[str]:
    """Every family events can be routed to, with ``routing`` applied."""
    return sorted({family_of(source, routing) for source in SOURCE_TYPES.values()})


def check_routing(routing: Mapping[str, str]) -> None:
    """ConfigError for a routing entry that names no known source type or an unusable family."""
    for name, family in routing.items():
        if name not in SOURCE_TYPES:
            known = ", ".join(sorted(SOURCE_TYPES))
            raise ConfigError(f"kafka.routing: {name!r} is not a source type (known: {known})")
        if not family or not all(c.isalnum() or c in "-_" for c in family) or family != family.lower():
            raise ConfigError(f"kafka.routing.{name}: {family!r} must be lower-case letters, digits, '-' or '_'")
