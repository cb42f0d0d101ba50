"""What the normaliser knows about one source type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.events import Event

__all__ = ["SourceType", "unchanged", "nothing_to_finish"]


def unchanged(flat: dict[str, Any]) -> dict[str, Any]:
    return flat


def nothing_to_finish(event: Event) -> None:
    return None


@dataclass(frozen=True, slots=True)
class SourceType:
    name: str                      # the BOTES map name, also event.dataset
    family: str                    # default Kafka topic family and index suffix (see kafka.routing)
    module: str                    # event.module
    observer: dict[str, str]       # constant observer.* fields
    finish: Callable[[Event], None] = nothing_to_finish  # derivations after the field table is applied
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = unchanged  # fixes to raw fields before it
    aliases: tuple[str, ...] = field(default=())  # Splunk sourcetype spellings, lower-case
    # The source's native line format (e.g. FortiGate key=value), tried when a line is not JSON.
    parse_raw: Callable[[str], dict[str, Any]] | None = None
