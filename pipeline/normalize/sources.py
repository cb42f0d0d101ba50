"""The source types the normaliser knows: names, Splunk spellings, family (Kafka topic) and hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.events import Event
from pipeline.normalize.fortigate import finish_fgt_traffic, prepare_fortigate
from pipeline.normalize.suricata import finish_suricata

__all__ = ["SourceType", "SOURCE_TYPES", "resolve_source_type", "FAMILIES"]


def _unchanged(flat: dict[str, Any]) -> dict[str, Any]:
    return flat


@dataclass(frozen=True, slots=True)
class SourceType:
    name: str                      # the BOTES map name, also event.dataset
    family: str                    # the Kafka topic family and index suffix
    module: str                    # event.module
    observer: dict[str, str]       # constant observer.* fields
    finish: Callable[[Event], None]  # derivations after the field table is applied
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = _unchanged  # fixes to raw fields before it
    aliases: tuple[str, ...] = field(default=())  # Splunk sourcetype spellings


SOURCE_TYPES: dict[str, SourceType] = {
    s.name: s
    for s in (
        SourceType("fgt_traffic", "firewall", "fortinet",
                   {"vendor": "Fortinet", "product": "FortiGate", "type": "firewall"},
                   finish_fgt_traffic, prepare_fortigate, ("fgt:traffic",)),
        SourceType("suricata", "ids", "suricata",
                   {"vendor": "OISF", "product": "Suricata", "type": "ids"},
                   finish_suricata, aliases=("suricata:eve",)),
    )
}

FAMILIES = sorted({s.family for s in SOURCE_TYPES.values()})


def resolve_source_type(name: str) -> SourceType | None:
    """The source type for a map name or a Splunk spelling (case-insensitive)."""
    wanted = name.strip().lower()
    for source in SOURCE_TYPES.values():
        if wanted == source.name.lower() or wanted in source.aliases:
            return source
    return None
