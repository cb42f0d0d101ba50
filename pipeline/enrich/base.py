"""The interface every enrichment source implements: two pure methods around one I/O method."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pipeline.addresses import AddressClassifier, Scope
from pipeline.events import Event, Found, Outcome, Target, get_path

__all__ = ["Enricher", "ADDRESS_FIELDS", "address_targets"]

# The ECS field sets whose ``.ip`` an address enricher looks at.
ADDRESS_FIELDS = ("source", "destination", "client", "server")


class Enricher(Protocol):
    name: str  # one name everywhere: module, config section, cache prefix, metric label

    def targets(self, event: Event) -> Iterable[Target]:
        """Pure: which values of this event to look up."""
        ...

    async def lookup(self, value: str) -> Outcome:
        """One value, with its own timeout; no cache, no retry."""
        ...

    def fragment(self, target: Target, found: Found) -> Event:
        """Pure: the ECS fields to merge into the event."""
        ...

    async def aclose(self) -> None:
        """Release clients and files."""
        ...


def address_targets(event: Event, classifier: AddressClassifier, scope: Scope) -> Iterable[Target]:
    """The addresses of ``event`` (source.ip, destination.ip, ...) that are in ``scope``."""
    for field in ADDRESS_FIELDS:
        value = get_path(event, f"{field}.ip")
        if isinstance(value, str) and classifier.scope(value) is scope:
            yield Target(field, value)
