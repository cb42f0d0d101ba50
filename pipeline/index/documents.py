"""Which index a document goes to, and its id: the same event always gets the same id."""

from __future__ import annotations

import hashlib

from pipeline.events import Event
from pipeline.normalize.sources import resolve_source_type

__all__ = ["document_id", "index_name"]


def document_id(event: Event) -> str:
    """A hash of the dataset and the original record: a replayed event overwrites nothing and adds nothing."""
    dataset = event.get("event", {}).get("dataset", "")
    original = event.get("event", {}).get("original", "")
    return hashlib.blake2b(f"{dataset}\n{original}".encode(), digest_size=16).hexdigest()


def index_name(event: Event, prefix: str) -> str:
    """``<prefix>-<family>``, e.g. botes-firewall; events of no known family go to ``<prefix>-other``."""
    source = resolve_source_type(str(event.get("event", {}).get("dataset", "")))
    return f"{prefix}-{source.family if source else 'other'}"
