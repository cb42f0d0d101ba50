"""SCOT4 entity enrichments: ``{title, enrichment_class: "markdown", description, data: {markdown}}``.

Every source renders its answer for one value this way, for `botes lookup --markdown` and the SCOT
entity service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from pipeline.enrich.base import Enricher
from pipeline.events import Failed, Found, Outcome

__all__ = ["ScotEnrichment", "scot_enrichment", "markdown_table"]


class ScotEnrichment(TypedDict):
    title: str
    enrichment_class: str
    description: str
    data: dict[str, str]


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Iterable[tuple[str, Any]]) -> str:
    lines = ["| field | value |", "|---|---|"]
    lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value in rows if value not in (None, "", [], ())]
    return "\n".join(lines)


def scot_enrichment(enricher: Enricher, value: str, outcome: Outcome) -> ScotEnrichment:
    """The SCOT enrichment for one lookup: a table for a result, a sentence for none or a failure."""
    if isinstance(outcome, Found):
        description = f"{enricher.title} for {value}"
        markdown = f"**{enricher.title}: {value}**\n\n{markdown_table(enricher.summary_rows(outcome))}"
    elif isinstance(outcome, Failed):
        description = f"{enricher.title} could not be looked up for {value}: {outcome.reason}"
        markdown = f"**{enricher.title}: {value}**\n\nLookup failed: {_cell(outcome.reason)}"
    else:
        description = f"{enricher.title} has no record of {value}"
        markdown = f"**{enricher.title}: {value}**\n\nNo record."
    return {"title": f"{enricher.title}: {value}", "enrichment_class": "markdown",
            "description": description, "data": {"markdown": markdown}}
