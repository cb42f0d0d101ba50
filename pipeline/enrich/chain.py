"""Runs the enabled enrichers, in config order, on one event and merges what they find."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pipeline.enrich.base import Enricher, event_field
from pipeline.events import Event, Failed, Found, Outcome, Target, set_path

__all__ = ["EnrichmentChain", "merge_into", "FAILURES_FIELD"]

log = logging.getLogger(__name__)

# Where an event records which source could not answer for which field, and why.
FAILURES_FIELD = "botes.enrichment.failures"


def merge_into(event: Event, fragment: Event) -> None:
    """Deep-merge ``fragment`` into ``event``: objects merge, lists add up (several sources append to
    threat.enrichments), and the fragment wins on scalar conflicts."""
    for key, value in fragment.items():
        current = event.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge_into(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            current.extend(item for item in value if item not in current)
        else:
            event[key] = value


class EnrichmentChain:
    def __init__(self, enrichers: Sequence[Enricher]) -> None:
        self.enrichers = list(enrichers)
        self._logged_bugs: set[str] = set()

    async def enrich(self, event: Event) -> Event:
        failures: list[dict[str, Any]] = []
        for enricher in self.enrichers:
            targets = list(enricher.targets(event))
            if not targets:
                continue
            outcomes = await self._lookup_all(enricher, list(dict.fromkeys(t.value for t in targets)))
            for target in targets:
                self._apply(event, enricher, target, outcomes[target.value], failures)
        if failures:
            set_path(event, FAILURES_FIELD, failures)
        return event

    async def _lookup_all(self, enricher: Enricher, values: list[str]) -> dict[str, Outcome]:
        """All values of one event for one source: one batched cache read where the source offers it."""
        lookup_many = getattr(enricher, "lookup_many", None)
        if lookup_many is not None:
            try:
                outcomes: dict[str, Outcome] = await lookup_many(values)
                return outcomes
            except Exception:  # a bug in the batched path: fall back to one lookup per value
                self._log_bug_once(enricher.name, "a batched lookup")
        return dict(zip(values, await asyncio.gather(*(self._lookup(enricher, v) for v in values)), strict=True))

    def _log_bug_once(self, name: str, what: str) -> None:
        if name not in self._logged_bugs:
            self._logged_bugs.add(name)
            log.exception("enricher %s raised on %s; further errors are only counted", name, what)

    async def _lookup(self, enricher: Enricher, value: str) -> Outcome:
        try:
            return await enricher.lookup(value)
        except Exception as exc:  # a bug in a source must not stop the event
            self._log_bug_once(enricher.name, "a lookup")
            return Failed(f"error: {type(exc).__name__}")

    @staticmethod
    def _apply(event: Event, enricher: Enricher, target: Target, outcome: Outcome,
               failures: list[dict[str, Any]]) -> None:
        if isinstance(outcome, Found):
            merge_into(event, enricher.fragment(target, outcome))
        elif isinstance(outcome, Failed):
            failures.append({"source": enricher.name, "field": event_field(target),
                             "reason": outcome.reason})

    async def aclose(self) -> None:
        for enricher in self.enrichers:
            await enricher.aclose()
