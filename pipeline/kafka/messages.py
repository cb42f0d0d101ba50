"""A message read from a family topic -> the ECS event it carries, or why it is not one.

Anyone who can write to a topic can send anything, so each rule here keeps one kind of hostile or broken
message from reaching the enrichment and the index: too big, not UTF-8, not JSON, nested too deep (in
parse_record), not an event `botes replay` would publish (nor one a generated Logstash pipeline sends, which
the job completes), or holding an array too long to be a log record.
"""

from __future__ import annotations

from typing import Any

from pipeline.events import Event, Rejected
from pipeline.normalize.complete import is_from_logstash
from pipeline.normalize.records import parse_record

__all__ = ["parse_message", "MAX_ARRAY_ELEMENTS"]

# Log records carry short lists (addresses, tags, matched indicators); a list this long is an attack on
# everything downstream that walks the event (enrichment targets, related.*, the index's field mapping).
MAX_ARRAY_ELEMENTS = 10_000
_SHOWN_BYTES = 4096  # of a message too large to read: enough to recognise it


def parse_message(value: bytes | None, max_bytes: int) -> Event | Rejected:
    if value is None:
        return Rejected("empty message (no value)", "")
    if len(value) > max_bytes:
        return Rejected(f"message of {len(value)} bytes is larger than kafka.max_message_bytes ({max_bytes})",
                        value[:_SHOWN_BYTES].decode("utf-8", "replace"))
    record = parse_record(value)
    if isinstance(record, Rejected):
        return record
    reason = _array_too_long(record) or (None if is_from_logstash(record) else _not_an_event(record))
    if reason:
        return Rejected(reason, value.decode("utf-8"))
    return record


def _not_an_event(record: dict[str, Any]) -> str | None:
    event = record.get("event")
    if not isinstance(event, dict) or "dataset" not in event:
        return "not an ECS event from `botes replay` (no event.dataset)"
    if not isinstance(event["dataset"], str) or not event["dataset"]:
        return f"event.dataset is not a source type name but {event['dataset']!r:.80}"
    return None


def _array_too_long(record: dict[str, Any]) -> str | None:
    """Iterative, like the nesting check: any shape is safe to walk (parse_record bounded its depth)."""
    stack: list[Any] = [record]
    while stack:
        node = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, list) and len(node) > MAX_ARRAY_ELEMENTS:
            return f"an array of {len(node)} elements (more than {MAX_ARRAY_ELEMENTS})"
        stack.extend(child for child in children if isinstance(child, dict | list))
    return None
