"""What is stored: documents, size and the oldest and newest event per data stream (or per index)."""

from __future__ import annotations

from dataclasses import dataclass

from elasticsearch import Elasticsearch

from pipeline.config import IndexSettings
from pipeline.index.documents import template_pattern

__all__ = ["StoredSet", "storage_stats"]


@dataclass(frozen=True, slots=True)
class StoredSet:
    name: str                    # data stream (elasticsearch) or index (opensearch)
    documents: int               # events (nested threat.enrichments entries are not counted)
    size_bytes: int              # on disk, replicas included
    oldest: str | None           # @timestamp of the oldest and newest event
    newest: str | None
    backing_indices: int | None  # data streams only
    lifecycle: str | None        # data streams: the ILM policy managing them


def _targets(client: Elasticsearch, settings: IndexSettings) -> list[tuple[str, int | None, str | None]]:
    pattern = template_pattern(settings)  # every family and namespace
    if settings.server == "elasticsearch":
        streams = client.indices.get_data_stream(name=pattern)["data_streams"]
        return sorted((s["name"], len(s["indices"]), s.get("ilm_policy")) for s in streams)
    indices = client.indices.get(index=pattern, expand_wildcards="open")
    return [(name, None, None) for name in sorted(indices)]


def storage_stats(client: Elasticsearch, settings: IndexSettings) -> list[StoredSet]:
    """One row per data stream or index the pipeline writes to (any namespace), sorted by name."""
    rows = []
    for name, backing, lifecycle in _targets(client, settings):
        # track_total_hits counts top-level documents; the index stats' docs.count would add nested ones.
        found = client.search(index=name, size=0, track_total_hits=True, aggs={
            "oldest": {"min": {"field": "@timestamp"}}, "newest": {"max": {"field": "@timestamp"}}})
        aggs = found.get("aggregations", {})
        store = client.indices.stats(index=name, metric="store")["_all"]["total"]["store"]["size_in_bytes"]
        rows.append(StoredSet(name, int(found["hits"]["total"]["value"]), int(store),
                              aggs.get("oldest", {}).get("value_as_string"),
                              aggs.get("newest", {}).get("value_as_string"), backing, lifecycle))
    return rows
