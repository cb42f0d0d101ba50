"""Reading enriched NDJSON (what ``botes run --output`` writes) one line at a time, gzip-aware."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from pipeline.events import Event
from pipeline.normalize.files import read_lines

__all__ = ["BadLine", "read_events"]


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not an enriched event, and why."""

    number: int
    reason: str


def read_events(path: Path) -> Iterator[Event | BadLine]:
    """Each non-blank line of ``path`` as an event, or as a ``BadLine`` saying what is wrong with it."""
    for number, line in read_lines(path):
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield BadLine(number, f"not JSON ({exc.msg})")
            continue
        if not isinstance(event, dict):
            yield BadLine(number, f"a JSON {type(event).__name__}, not an object")
        elif "@timestamp" not in event and not isinstance(event.get("event"), dict):
            yield BadLine(number, "not an enriched event (no @timestamp, no event.*): "
                                  "is this a raw BOTES file? `botes run --input FILE --output OUT` enriches it")
        else:
            yield event
