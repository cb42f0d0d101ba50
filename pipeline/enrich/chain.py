"""Runs the enabled enrichers, in config order, on one event and merges what they find.

Two ways through, same result:

- ``enrich_now`` (no I/O, no awaits): enrichers whose every value is answered in memory (a local source, or
  the in-process cache tier: ``answer_now``) are applied one after another, until one needs I/O;
- ``finish`` (async) runs the enrichers left: their lookups at once, concurrently, then their fragments in
  config order. An enricher's targets are taken again once the fragments before it are applied, and a value
  that only then appears is looked up too, so the result is the one the enrichers would give one by one.

``enrich`` is ``finish(enrich_now(event))``: a warm event never touches the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.enrich.base import Enricher, answer_now, event_field
from pipeline.events import Event, Failed, Found, Outcome, Target, get_path, set_path

__all__ = ["EnrichmentChain", "Progress", "merge_into", "mark_chain_error", "FAILURES_FIELD"]

log = logging.getLogger(__name__)

# Where an event records which source could not answer for which field, and why.
FAILURES_FIELD = "botes.enrichment.failures"


def _copied(value: Any) -> Any:
    """A copy of a JSON value's objects and arrays: fragments may hold answers shared between events."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def merge_into(event: Event, fragment: Event) -> None:
    """Deep-merge ``fragment`` into ``event``: objects merge, lists add up (several sources append to
    threat.enrichments), and the fragment wins on scalar conflicts. What is added is copied, so a fragment
    built from a cached answer never puts that answer itself in the event."""
    for key, value in fragment.items():
        current = event.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge_into(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            current.extend(_copied(item) for item in value if item not in current)
        else:
            event[key] = _copied(value)


@dataclass(slots=True)
class Progress:
    """An event part way through the chain: the first ``position`` enrichers are applied."""

    event: Event
    position: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        """The JSON form, to hand the event on to where its lookups can wait (another operator)."""
        return {"event": self.event, "position": self.position, "failures": self.failures}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Progress:
        return cls(record["event"], record["position"], record["failures"])


def mark_chain_error(event: Event, exc: Exception) -> Event:
    """``event`` marked as one the chain broke on (a bug, hostile field types): it goes on with a failure
    marker, like an event with a failed lookup, instead of stopping the job."""
    failures = get_path(event, FAILURES_FIELD)
    marker = {"source": "enrichment", "field": "", "reason": f"error: {type(exc).__name__}"}
    set_path(event, FAILURES_FIELD, [*(failures if isinstance(failures, list) else []), marker])
    return event


class EnrichmentChain:
    def __init__(self, enrichers: Sequence[Enricher]) -> None:
        self.enrichers = list(enrichers)
        self._logged_bugs: set[str] = set()

    async def enrich(self, event: Event) -> Event:
        return await self.finish(self.enrich_now(event))

    def enrich_now(self, event: Event) -> Progress:
        """Applies enrichers, in order, while each has every answer in memory; stops at the first that needs
        I/O (``Progress.position``). Never awaits."""
        progress = Progress(event)
        for enricher in self.enrichers:
            targets = list(enricher.targets(event))
            if targets:
                outcomes = self._answer_now(enricher, list(dict.fromkeys(t.value for t in targets)))
                if outcomes is None:
                    break
                for target in targets:
                    self._apply(event, enricher, target, outcomes[target.value], progress.failures)
            progress.position += 1
        return progress

    def done(self, progress: Progress) -> Event | None:
        """The enriched event if every enricher is applied (failures written), else None."""
        if progress.position < len(self.enrichers):
            return None
        if progress.failures:
            set_path(progress.event, FAILURES_FIELD, progress.failures)
        return progress.event

    async def finish(self, progress: Progress) -> Event:
        """Applies the enrichers ``enrich_now`` left, their lookups concurrent; returns the enriched event."""
        event, rest = progress.event, self.enrichers[progress.position:]
        if rest:
            planned = [list(dict.fromkeys(t.value for t in enricher.targets(event))) for enricher in rest]
            answers = list(await asyncio.gather(*(self._lookup_all(enricher, values) if values else _nothing()
                                                  for enricher, values in zip(rest, planned, strict=True))))
            for enricher, outcomes in zip(rest, answers, strict=True):
                targets = list(enricher.targets(event))  # earlier fragments may have added some
                missing = list(dict.fromkeys(t.value for t in targets if t.value not in outcomes))
                if missing:
                    outcomes.update(await self._lookup_all(enricher, missing))
                for target in targets:
                    self._apply(event, enricher, target, outcomes[target.value], progress.failures)
                progress.position += 1
        enriched = self.done(progress)
        assert enriched is not None  # every enricher is applied
        return enriched

    def _answer_now(self, enricher: Enricher, values: list[str]) -> dict[str, Outcome] | None:
        try:
            return answer_now(enricher, values)
        except Exception:  # a bug in the in-memory path: the lookups (with their own error handling) decide
            self._log_bug_once(enricher.name, "an in-memory answer")
            return None

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


async def _nothing() -> dict[str, Outcome]:
    return {}
