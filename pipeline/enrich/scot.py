"""SCOT4 entity enrichments: ``{title, enrichment_class: "markdown", description, data: {markdown}}``.

Every source renders its answer for one value this way, for `botes lookup --markdown` and the SCOT
entity service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from pipeline.enrich.base import Enricher
from pipeline.events import Failed, Found, Outcome

__all__ = ["ScotEnrichment", "scot_enrichment", "markdown_table", "MAX_ITEMS", "MAX_CHARS"]


class ScotEnrichment(TypedDict):
    title: str
    enrichment_class: str
    description: str
    data: dict[str, Any]


# A table cell shows at most this many list items and characters: SCOT's pane is narrow, and a CDN address
# can carry thousands of hostnames.
MAX_ITEMS = 20
MAX_CHARS = 300


def _trimmed(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        shown = ", ".join(str(v) for v in value[:MAX_ITEMS])
        value = shown + (f" … (+{len(value) - MAX_ITEMS} more)" if len(value) > MAX_ITEMS else "")
    return _trimmed(str(value)).replace("|", "\\|").replace("\n", " ")


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
    # The title is the tab's name in SCOT's entity pane (one tab per title, earlier results kept behind it).
    return {"title": enricher.title, "enrichment_class": "markdown",
            "description": description, "data": {"markdown": markdown}}
