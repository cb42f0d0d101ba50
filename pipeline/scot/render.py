"""One source's answer for one entity as a SCOT4 enrichment, the body of
``POST {callback_url}/entity/{entity_id}/enrichment``.

SCOT4's ``EnrichmentCreate`` (sandialabs/scot4-api @ a061ff80 ``src/app/schemas/enrichment.py``) is
``{title, enrichment_class, description, data}``, and ``add_enrichment`` (``src/app/api/endpoints/entity.py``)
checks ``data`` against the class: ``markdown`` needs ``{"markdown": str}``, ``plaintext``
``{"plaintext": str}``, ``linechart`` ``{"chart_data": {"labels": [str], "datasets": [...]}}``, ``jsontree``
any object. The title is the tab in the entity pane.

Markdown (a table of the useful fields, long values trimmed; pipeline/enrich/scot.py) for every source, except
Shodan's answer, whose services read better as a tree: SCOT's ``JsonTreePane``
(sandialabs/scot4-web-app @ 45082dd7 ``src/components/EnrichmentPaneComponents/JsonTreePane.vue``) shows
objects and arrays as branches and strings, numbers and nulls as ``key: value`` leaves; it skips booleans,
so none are sent.
"""

from __future__ import annotations

from typing import Any

from pipeline.enrich.base import Enricher
from pipeline.enrich.scot import MAX_ITEMS, ScotEnrichment, scot_enrichment
from pipeline.events import Found, Outcome
from pipeline.scot.entities import Entity

__all__ = ["enrichment_body", "JSONTREE_SOURCES"]

JSONTREE_SOURCES = frozenset({"shodan"})


def enrichment_body(enricher: Enricher, entity: Entity, outcome: Outcome) -> ScotEnrichment:
    """The tab for one lookup: its answer, "no record", or why it failed."""
    if isinstance(outcome, Found) and enricher.name in JSONTREE_SOURCES:
        return _jsontree(enricher, entity, outcome)
    return scot_enrichment(enricher, entity.value, outcome)


def _leaf(value: Any) -> Any:
    """A value SCOT's tree shows: lists trimmed, booleans as words."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        items = [_leaf(v) for v in value[:MAX_ITEMS]]
        return items + ([f"… (+{len(value) - MAX_ITEMS} more)"] if len(value) > MAX_ITEMS else [])
    if isinstance(value, dict):
        return {str(k): _leaf(v) for k, v in value.items()}
    return value


def _jsontree(enricher: Enricher, entity: Entity, found: Found) -> ScotEnrichment:
    host = {label: _leaf(value) for label, value in enricher.summary_rows(found)
            if value not in (None, "", [], ())}
    services = {f"{s['port']}/{s.get('transport', '?')}": _leaf({k: v for k, v in s.items()
                                                                  if k not in ("port", "transport")})
                for s in found.data.get("services", [])}
    data: dict[str, Any] = {"host": host}
    if services:
        data["services"] = services
    ports = len(found.data.get("ports", []))
    vulns = len(found.data.get("vulns", []))
    description = f"{enricher.title} for {entity.value}: {ports} open port(s), {vulns} known vulnerability(ies)"
    return {"title": enricher.title, "enrichment_class": "jsontree", "description": description, "data": data}
