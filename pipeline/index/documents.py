"""Which index a document goes to (its id is ``pipeline.events.document_id``)."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.events import Event
from pipeline.normalize.sources import family_of, resolve_source_type

__all__ = ["index_name"]


def index_name(event: Event, prefix: str, routing: Mapping[str, str] | None = None) -> str:
    """``<prefix>-<family>``, e.g. botes-firewall; events of no known family go to ``<prefix>-other``."""
    source = resolve_source_type(str(event.get("event", {}).get("dataset", "")))
    return f"{prefix}-{family_of(source, routing or {}) if source else 'other'}"
