"""The part every wrapper around an enricher shares: it passes the pure methods through."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.enrich.base import Enricher
from pipeline.events import Event, Found, Target

__all__ = ["EnricherWrapper"]


class EnricherWrapper:
    """Same name, title, targets, fragments and summary rows as ``inner``; subclasses change ``lookup``."""

    def __init__(self, inner: Enricher) -> None:
        self.name = inner.name
        self.title = inner.title
        self._inner = inner

    def targets(self, event: Event) -> Iterable[Target]:
        return self._inner.targets(event)

    def fragment(self, target: Target, found: Found) -> Event:
        return self._inner.fragment(target, found)

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        return self._inner.summary_rows(found)

    async def aclose(self) -> None:
        await self._inner.aclose()
