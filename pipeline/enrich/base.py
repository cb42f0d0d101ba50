"""The interface every enrichment source implements: two pure methods around one I/O method."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from pipeline.addresses import AddressClassifier, Scope
from pipeline.events import Event, Found, Outcome, Target, get_path

__all__ = ["Enricher", "AnswersNow", "answer_now", "ADDRESS_FIELDS", "HASH_FIELDS", "address_targets",
           "hash_targets", "retry_after_seconds",
           "event_field", "indicator_match", "INDICATOR_MATCH"]

# The ECS field sets whose ``.ip`` an address enricher looks at.
ADDRESS_FIELDS = ("source", "destination", "client", "server")
# The ECS fields holding file hashes a hash enricher looks at (ECS hash field sets: file, process, dll...).
HASH_FIELDS = tuple(f"{parent}.hash.{kind}" for parent in ("file", "process", "process.parent", "dll")
                    for kind in ("sha256", "sha1", "md5"))


class Enricher(Protocol):
    name: str   # one name everywhere: module, config section, cache prefix, metric label
    title: str  # for people: "GeoIP/ASN", "Shodan host", ...

    def targets(self, event: Event) -> Iterable[Target]:
        """Pure: which values of this event to look up."""
        ...

    async def lookup(self, value: str) -> Outcome:
        """One value, with its own timeout; no cache, no retry."""
        ...

    def fragment(self, target: Target, found: Found) -> Event:
        """Pure: the ECS fields to merge into the event."""
        ...

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        """Pure: the answer as (label, value) rows, for SCOT markdown and `botes lookup`."""
        ...

    async def aclose(self) -> None:
        """Release clients and files."""
        ...


class AnswersNow(Protocol):
    """What a source offers when it can answer without I/O (a local file, the in-process cache tier)."""

    def answer_now(self, values: Sequence[str]) -> dict[str, Outcome] | None:
        """Every value's outcome if all of them are known in memory right now, else None (nothing was done:
        ask ``lookup``). Never waits, never calls out."""
        ...


def answer_now(enricher: Enricher, values: Sequence[str]) -> dict[str, Outcome] | None:
    """The source's in-memory answers for ``values`` (see ``AnswersNow``), or None if it has none for them."""
    method = getattr(enricher, "answer_now", None)
    if method is None:
        return None
    answers: dict[str, Outcome] | None = method(values)
    return answers


def address_targets(event: Event, classifier: AddressClassifier, scope: Scope) -> Iterable[Target]:
    """The addresses of ``event`` (source.ip, destination.ip, ...) that are in ``scope``."""
    for field in ADDRESS_FIELDS:
        value = get_path(event, f"{field}.ip")
        if isinstance(value, str) and classifier.scope(value) is scope:
            yield Target(field, value, f"{field}.ip")


def hash_targets(event: Event) -> Iterable[Target]:
    """The file hashes of ``event`` (file.hash.sha256, process.hash.md5, ...), target field = the hash's path."""
    for field in HASH_FIELDS:
        value = get_path(event, field)
        if isinstance(value, str) and value.strip():
            yield Target(field, value.strip().lower())


def retry_after_seconds(header: str | None) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP date) as seconds from now; None if absent or unreadable."""
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


INDICATOR_MATCH = "indicator_match_rule"  # ECS threat.enrichments.matched.type


def event_field(target: Target) -> str:
    """The event field a target's value came from: ``source.ip`` for an address, the path for a hash."""
    if target.path:
        return target.path
    return f"{target.field}.ip" if target.field in ADDRESS_FIELDS else target.field


def indicator_match(target: Target) -> dict[str, str]:
    """ECS ``threat.enrichments.matched`` for a value a source matched."""
    return {"atomic": target.value, "field": event_field(target), "type": INDICATOR_MATCH}
