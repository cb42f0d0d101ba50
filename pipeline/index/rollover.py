"""Replays across a rollover: keep "a replay adds nothing" when a data stream has rolled over.

A bulk ``create`` with the document's id fails with 409 when the id is already in the index it targets, but a
data stream only ever writes to its current write index: an event indexed before a rollover sits in an older
backing index, and a replay after the rollover would create it a second time. Elasticsearch does not let a
``create`` target an older backing index (elastic/elasticsearch#57788: append-only writes to backing indices
are refused), so the event cannot be routed back to the index that holds its ``@timestamp``.

So, before a batch is written, ``RolloverGuard`` asks the older backing indices whether they already hold its
ids, and those documents are left out (counted as duplicates). The question is cheap because it is only asked
where an answer is possible: each older backing index's ``@timestamp`` range is read once (after a refresh,
so the last documents before its rollover are seen), and a document is looked up only in the older indices
whose range covers its ``@timestamp``. Live events are newer than every older index, so they cost one
``GET _data_stream`` per batch and no search.

What stays unguarded: an older backing index already deleted by ILM (the event is gone, so a replay stores it
again, to be deleted on the same schedule), and a write still in flight into an index at the very moment it
rolled over, after its range was read (a window of the bulk request's duration).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from pipeline.config import IndexSettings
from pipeline.errors import DependencyError
from pipeline.events import parse_timestamp
from pipeline.index.documents import template_pattern
from pipeline.index.writer import AlreadyStored, IndexDoc, index_unavailable

__all__ = ["RolloverGuard", "BackingIndices", "data_stream_backing_indices", "rollover_guard", "already_stored_lookup",
           "event_millis"]

log = logging.getLogger(__name__)

# Data stream name -> its backing indices, oldest first, the write index last.
BackingIndices = Callable[[Collection[str]], dict[str, list[str]]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def data_stream_backing_indices(client: Elasticsearch, pattern: str) -> BackingIndices:
    """Reads the backing indices of the data streams matching ``pattern`` (one GET _data_stream)."""

    def backing(streams: Collection[str]) -> dict[str, list[str]]:
        found = client.indices.get_data_stream(name=pattern)["data_streams"]
        return {stream["name"]: [index["index_name"] for index in stream["indices"]]
                for stream in found if stream["name"] in streams}

    return backing


def event_millis(timestamp: Any) -> int | None:
    """An ``@timestamp`` as Elasticsearch stores it in a ``date`` field: whole epoch milliseconds."""
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        return int(timestamp)
    when = parse_timestamp(timestamp)
    return None if when is None else (when - _EPOCH) // timedelta(milliseconds=1)


class RolloverGuard:
    """Finds the documents of a batch that an older backing index of their data stream already holds."""

    def __init__(self, client: Elasticsearch, backing_indices: BackingIndices) -> None:
        self._client = client
        self._backing_indices = backing_indices
        self._ranges: dict[str, tuple[int, int] | None] = {}  # older backing index -> its @timestamp range

    def already_stored(self, docs: Sequence[IndexDoc]) -> set[tuple[str, str]]:
        """(data stream, id) of every document an older backing index holds."""
        backing = self._backing_indices({doc.index for doc in docs})
        older = {stream: indices[:-1] for stream, indices in backing.items() if len(indices) > 1}
        self._forget_deleted({index for indices in older.values() for index in indices})
        stored: set[tuple[str, str]] = set()
        for stream, indices in older.items():
            candidates: dict[str, list[str]] = {}  # older index -> ids whose @timestamp it covers
            for doc in docs:
                if doc.index == stream:
                    for index in self._covering(indices, event_millis(doc.source.get("@timestamp"))):
                        candidates.setdefault(index, []).append(doc.id)
            if candidates:
                stored.update((stream, found) for found in self._present(candidates))
        return stored

    def without_stored(self, docs: Sequence[IndexDoc]) -> tuple[list[IndexDoc], int]:
        """(the documents to write, how many were left out as already stored)."""
        stored = self.already_stored(docs)
        kept = [doc for doc in docs if (doc.index, doc.id) not in stored]
        return kept, len(docs) - len(kept)

    def _covering(self, indices: list[str], millis: int | None) -> list[str]:
        """The older indices whose @timestamp range holds ``millis`` (all of them when it is unknown)."""
        covering = []
        for index in indices:
            bounds = self._range(index)
            if bounds is not None and (millis is None or bounds[0] <= millis <= bounds[1]):
                covering.append(index)
        return covering

    def _range(self, index: str) -> tuple[int, int] | None:
        if index not in self._ranges:
            # An index that has just rolled over may hold documents not yet visible to search.
            self._client.indices.refresh(index=index, ignore_unavailable=True)
            aggs = self._client.search(index=index, size=0, ignore_unavailable=True, aggs={
                "oldest": {"min": {"field": "@timestamp"}}, "newest": {"max": {"field": "@timestamp"}},
            }).get("aggregations", {})
            oldest, newest = (aggs.get(name, {}).get("value") for name in ("oldest", "newest"))
            self._ranges[index] = None if oldest is None or newest is None else (int(oldest), int(newest))
            log.debug("backing index %s holds @timestamp %s", index, self._ranges[index])
        return self._ranges[index]

    def _present(self, candidates: dict[str, list[str]]) -> set[str]:
        """Which of the ids each index was asked about it holds: one search per index (an id is at most once
        in one index, so ``size`` bounds the answer), all in one multi-search request."""
        searches: list[dict[str, Any]] = []
        for index, ids in sorted(candidates.items()):
            searches += [{"index": index, "ignore_unavailable": True},
                         {"size": len(ids), "_source": False, "query": {"ids": {"values": ids}}}]
        found: set[str] = set()
        for response in self._client.msearch(searches=searches)["responses"]:
            if "error" in response:
                raise DependencyError(f"index: looking up replayed ids in older backing indices failed: "
                                      f"{response['error']}")
            found.update(hit["_id"] for hit in response["hits"]["hits"])
        return found

    def _forget_deleted(self, listed: set[str]) -> None:
        for index in set(self._ranges) - listed:
            del self._ranges[index]


def rollover_guard(client: Elasticsearch, settings: IndexSettings) -> RolloverGuard | None:
    """The guard for the configured data streams, or None for plain indices (whose ``create`` already refuses
    a second copy) and when ``index.dedup_across_rollover`` is off."""
    if settings.server != "elasticsearch" or not settings.dedup_across_rollover:
        return None
    return RolloverGuard(client, data_stream_backing_indices(client, template_pattern(settings)))


def already_stored_lookup(guard: RolloverGuard) -> AlreadyStored:
    """The guard as BulkIndexer asks it (in a worker thread); the index unreachable is IndexUnavailable, so
    the batch waits and is tried again like a bulk request."""
    async def lookup(docs: list[IndexDoc]) -> set[tuple[str, str]]:
        try:
            return await asyncio.to_thread(guard.already_stored, docs)
        except (ApiError, TransportError) as exc:
            raise index_unavailable(exc, "rollover guard") from None
    return lookup
