"""pipeline.index.rollover: the pure part (a document's @timestamp as Elasticsearch stores it).

The guard itself runs against the index server: tests/integration/test_storage.py (plain indices standing in
for backing indices) and tests/integration/test_elasticsearch_storage.py (a real data stream, where Docker is).
"""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import IndexSettings
from pipeline.index.rollover import event_millis, rollover_guard


@pytest.mark.parametrize(("timestamp", "millis"), [
    ("1970-01-01T00:00:00Z", 0),
    ("2016-08-10T21:00:00.995Z", 1470862800995),
    # Elasticsearch keeps whole milliseconds of a date: the range of an index holding this event ends at ...995,
    # so the event must compare as ...995, not ...995.102.
    ("2016-08-10T21:00:00.995102+00:00", 1470862800995),
    ("2016-08-10T23:00:00.995+02:00", 1470862800995),
    ("2016-08-10T21:00:00.995", 1470862800995),   # no zone: UTC, as Elasticsearch reads it
    (1470862800995, 1470862800995),
])
def test_event_millis(timestamp: Any, millis: int) -> None:
    assert event_millis(timestamp) == millis


@pytest.mark.parametrize("timestamp", [None, "yesterday", True, {"a": 1}])
def test_unreadable_timestamps_are_unknown(timestamp: Any) -> None:
    assert event_millis(timestamp) is None


def test_no_guard_for_plain_indices_or_when_switched_off() -> None:
    from elasticsearch import Elasticsearch

    client = Elasticsearch("http://127.0.0.1:9")
    assert rollover_guard(client, IndexSettings(server="opensearch")) is None
    assert rollover_guard(client, IndexSettings(dedup_across_rollover=False)) is None
    assert rollover_guard(client, IndexSettings()) is not None


def test_the_job_asks_the_guard_off_its_event_loop_and_an_unreachable_index_means_wait_and_retry() -> None:
    import asyncio

    from elasticsearch import Elasticsearch

    from pipeline.index.rollover import already_stored_lookup
    from pipeline.index.writer import IndexDoc, IndexUnavailable
    from tests.fakes.ports import closed_port

    client = Elasticsearch(f"http://127.0.0.1:{closed_port()}", max_retries=0, request_timeout=2)
    guard = rollover_guard(client, IndexSettings())
    assert guard is not None
    lookup = already_stored_lookup(guard)
    doc = IndexDoc("logs-botes.ids-default", "id1", {"@timestamp": "2016-08-10T21:00:00Z"})
    with pytest.raises(IndexUnavailable, match="rollover guard: ConnectionError"):
        asyncio.run(lookup([doc]))
