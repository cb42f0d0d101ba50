"""The body of one Airflow task of the SCOT DAGs (scot/dags/): one source, one entity, one tab posted to SCOT.

Airflow imports nothing of this module at DAG-parse time beyond ``enabled_sources``; each task builds its one
source, behind the shared Redis cache, when it runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError

from pipeline.config import EntityType, Settings
from pipeline.enrich.scot import ScotEnrichment
from pipeline.errors import PipelineError
from pipeline.scot.callback import CallbackPoster
from pipeline.scot.enrichment import EntityEnricher, NotCovered
from pipeline.scot.entities import Entity, InvalidEntity
from pipeline.scot.trigger import TriggerRequest, callback_host, entity_of

__all__ = ["enrich_and_post", "entity_from_conf", "NotDelivered"]


class NotDelivered(PipelineError):
    """SCOT did not accept the result (the task fails, so Airflow shows it and may retry)."""


def entity_from_conf(conf: dict[str, Any], entity_type: EntityType) -> Entity:
    """The entity a DAG run's conf names; InvalidEntity saying what is wrong with it."""
    try:
        request = TriggerRequest.model_validate({"conf": conf})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidEntity(problems) from None
    return entity_of(request, entity_type)


def enrich_and_post(settings: Settings, source: str, entity_type: EntityType, conf: dict[str, Any]
                    ) -> ScotEnrichment | NotCovered:
    """Look the run's entity up in ``source`` and post the tab to SCOT; the tab posted, or NotCovered (nothing
    posted) when the source does not look such values up. A failed lookup is a tab saying why (the task
    succeeds); a tab SCOT never accepted raises NotDelivered."""
    entity = entity_from_conf(conf, entity_type)
    return asyncio.run(_enrich_and_post(settings, source, entity))


async def _enrich_and_post(settings: Settings, source: str, entity: Entity) -> ScotEnrichment | NotCovered:
    poster = CallbackPoster(settings.scot)
    if poster.api_key(entity.callback_url) is None:
        raise NotDelivered(f"scot.api_keys: no API key for {callback_host(entity.callback_url)[0]}; "
                           "set BOTES_SCOT__API_KEYS")
    enricher = EntityEnricher(settings, [source])
    try:
        tab = await enricher.tab(source, entity)
        if isinstance(tab, NotCovered):
            return tab
        delivery = await poster.post(entity, tab)
    finally:
        await poster.aclose()
        await enricher.aclose()
    if not delivery.ok:
        raise NotDelivered(f"{source} result for entity {entity.id} not delivered after {delivery.attempts} "
                           f"attempt(s): {delivery.reason}")
    return tab
