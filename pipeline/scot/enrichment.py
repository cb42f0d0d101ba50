"""The sources that answer for each SCOT entity type, built once behind the project's cache, and one
source's tab for one entity.

The same lookup path as `botes lookup` and the streaming job: each enricher behind its cache (in-process LRU
before Redis, single-flight per value), paid APIs behind their shared rate limit and breaker. So a value SCOT
asks about is looked up once per TTL, whether the job, the DAGs or the service asked first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.addresses import AddressClassifier
from pipeline.cache import open_cache, with_cache
from pipeline.cache.base import Cache
from pipeline.cache.metrics import metrics_summary
from pipeline.config import ApiSourceSettings, EntityType, Settings
from pipeline.enrich.base import Enricher
from pipeline.enrich.registry import build_enricher
from pipeline.enrich.scot import ScotEnrichment
from pipeline.errors import ConfigError
from pipeline.events import Failed, Outcome
from pipeline.scot.entities import Entity, covers, probe_event, scope_note
from pipeline.scot.render import enrichment_body

__all__ = ["EntityEnricher", "NotCovered", "enabled_sources", "check_sources"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotCovered:
    """The source does not look such values up (Shodan and an internal address): no tab, the task is skipped."""

    reason: str


def check_sources(settings: Settings) -> None:
    """ConfigError naming ``scot.sources.<type>`` when a source is listed for a type it cannot look up."""
    for entity_type, sources in settings.scot.sources.items():
        wrong = [source for source in sources if not covers(source, entity_type)]
        if wrong:
            raise ConfigError(f"scot.sources.{entity_type}: {', '.join(wrong)} cannot look up {entity_type} values")


def _usable(settings: Settings, source: str) -> bool:
    """Enabled, with its key if it is a paid API, and with lists to look in if it is the threat lists
    (a tab saying "no record" from no lists at all would mislead)."""
    section = getattr(settings, source)
    if not section.enabled or (source == "threatlists" and not settings.threatlists.lists):
        return False
    return not (isinstance(section, ApiSourceSettings) and section.api_key is None)


def enabled_sources(settings: Settings) -> dict[EntityType, list[str]]:
    """Entity type -> the sources that run for it (listed in ``scot.sources``, enabled, with their key);
    types left with none are absent (no DAG, and the service answers 404 for them)."""
    check_sources(settings)
    enabled: dict[EntityType, list[str]] = {entity_type: [s for s in sources if _usable(settings, s)]
                                           for entity_type, sources in settings.scot.sources.items()}
    return {entity_type: sources for entity_type, sources in enabled.items() if sources}


class EntityEnricher:
    """Builds each needed source once (files opened, clients made) and wraps it in the cache."""

    def __init__(self, settings: Settings, sources: Iterable[str], cache: Cache | None = None) -> None:
        self._classifier = AddressClassifier(settings.network.internal_networks)
        built = [build_enricher(name, settings, self._classifier) for name in dict.fromkeys(sources)]
        self._cache = cache if cache is not None else open_cache(settings)
        wrapped = with_cache(built, self._cache, settings)
        self._sources = {enricher.name: enricher for enricher in wrapped}

    @property
    def sources(self) -> list[str]:
        return list(self._sources)

    async def tab(self, source: str, entity: Entity) -> ScotEnrichment | NotCovered:
        """``source``'s answer for ``entity`` as a SCOT enrichment (found, no record, or why the lookup
        failed), or NotCovered when the source does not look such values up; never raises for a lookup
        problem."""
        enricher = self._sources[source]
        if not list(enricher.targets(probe_event(entity.type, entity.value))):
            return NotCovered(scope_note(enricher.title, entity.value, self._classifier))
        return enrichment_body(enricher, entity, await self._lookup(enricher, entity.value))

    @staticmethod
    async def _lookup(enricher: Enricher, value: str) -> Outcome:
        try:
            return await enricher.lookup(value)
        except Exception as exc:  # a bug in a source must not lose the other tabs
            log.exception("%s raised while looking up a SCOT entity", enricher.name)
            return Failed(f"error: {type(exc).__name__}")

    def metrics(self) -> dict[str, object]:
        """Calls, outcomes and latency per source and cache hits per tier (the lookup summary)."""
        return metrics_summary(self._sources.values(), self._cache)

    async def aclose(self) -> None:
        for enricher in self._sources.values():
            await enricher.aclose()
        await self._cache.aclose()

