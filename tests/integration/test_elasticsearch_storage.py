"""Data streams and ILM against a real Elasticsearch (testcontainers' elasticsearch:8.15.0, started by
scripts/services.py where a Docker engine answers `docker info`).

Elsewhere the integration servers are local and the index server is osmem-server, which speaks OpenSearch's
API without data streams or ILM: these tests are then skipped, saying so, and the request bodies are checked
against Elasticsearch's specification instead (tests/unit/index/test_request_shapes.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import IndexSettings
from pipeline.events import Event, Rejected, document_id
from pipeline.index.documents import index_document, storage_pattern
from pipeline.index.lifecycle import policy_name, rollover_data_streams
from pipeline.index.rollover import rollover_guard
from pipeline.index.stats import storage_stats
from pipeline.index.template import install_templates, template_name
from pipeline.index.writer import IndexWriter, open_client
from pipeline.normalize import Normalizer
from tests.conftest import REPO, isolated, settings_with

pytestmark = pytest.mark.integration


@pytest.fixture
def index(services: Any) -> IndexSettings:
    if services.env.get("BOTES_INDEX__SERVER") != "elasticsearch":
        from services import docker_engine_available  # scripts/services.py

        why = ("BOTES_TEST_SERVICES=local chose the local servers" if docker_engine_available() else
               "no Docker engine answers `docker info` on this machine, so no real Elasticsearch can run")
        pytest.skip(f"{why}; the index server is osmem-server (OpenSearch API: no data streams, no ILM). "
                    "The data-stream and ILM request bodies are checked against Elasticsearch's specification "
                    "in tests/unit/index/test_request_shapes.py instead.")
    return settings_with({**isolated(f"es{uuid.uuid4().hex[:10]}"),
                          "BOTES_INDEX__SERVER": "elasticsearch"}).index


@pytest.fixture
def client(index: IndexSettings) -> Iterator[Elasticsearch]:
    client = open_client(index)
    install_templates(client, index)
    yield client
    client.indices.delete_data_stream(name=f"logs-{index.prefix}.*-*", expand_wildcards="all")
    client.close()


def event(timestamp: str = "2016-08-10T21:00:00.000Z", **fields: Any) -> Event:
    """A SYNTHETIC ECS event of the ids family; its original line makes its id unique."""
    return {"@timestamp": timestamp, "event": {"dataset": "suricata", "original": uuid.uuid4().hex}, **fields}


def count(client: Elasticsearch, index: IndexSettings) -> int:
    client.indices.refresh(index=storage_pattern(index))
    return int(client.count(index=storage_pattern(index))["count"])


def test_setup_is_idempotent_and_installs_the_policy(index: IndexSettings, client: Elasticsearch) -> None:
    assert {item.status for item in install_templates(client, index)} == {"unchanged"}
    policy = client.ilm.get_lifecycle(name=policy_name(index))[policy_name(index)]["policy"]
    assert policy["phases"]["hot"]["actions"]["rollover"] == {"max_age": "7d", "max_primary_shard_size": "50gb"}
    assert policy["phases"]["delete"]["min_age"] == "90d"
    longer = index.model_copy(update={"retention": index.retention * 4 if index.retention else None})
    changed = {item.kind: item for item in install_templates(client, longer)}
    assert changed["ILM policy"].status == "updated"
    assert client.ilm.get_lifecycle(name=policy_name(index))[policy_name(index)]["policy"]["phases"][
        "delete"]["min_age"] == "360d"


def test_events_go_to_a_data_stream_with_ecs_types(index: IndexSettings, client: Elasticsearch) -> None:
    written = [event(message="Failed password for invalid user admin", url={"original": "/a/evil.php?x=1"},
                     threat={"enrichments": [{"matched": {"atomic": "1.2.3.4"}, "indicator": {"provider": "x"}}]})]
    result = IndexWriter(client).write([index_document(e, index) for e in written])
    assert result.created == 1 and result.rejected == []
    stream = f"logs-{index.prefix}.ids-default"
    found = client.indices.get_data_stream(name=stream)["data_streams"][0]
    assert found["template"] == template_name(index) and found["ilm_policy"] == policy_name(index)
    backing = found["indices"][0]["index_name"]
    mappings = client.indices.get_mapping(index=backing)[backing]["mappings"]["properties"]
    assert mappings["threat"]["properties"]["enrichments"]["type"] == "nested"
    assert mappings["message"]["type"] == "match_only_text"
    assert mappings["url"]["properties"]["original"]["type"] == "wildcard"
    assert mappings["data_stream"]["properties"]["dataset"] == {"type": "constant_keyword",
                                                                 "value": f"{index.prefix}.ids"}
    assert count(client, index) == 1
    for query in ({"match": {"message": "invalid admin"}}, {"wildcard": {"url.original": "*evil.php*"}},
                  {"nested": {"path": "threat.enrichments", "query": {"bool": {"filter": [
                      {"term": {"threat.enrichments.matched.atomic": "1.2.3.4"}},
                      {"term": {"threat.enrichments.indicator.provider": "x"}}]}}}}):
        assert client.count(index=stream, query=query)["count"] == 1, query


def test_every_golden_event_is_stored(index: IndexSettings, client: Elasticsearch) -> None:
    normalizer = Normalizer()
    events = []
    for folder in sorted(p for p in (REPO / "tests" / "golden").iterdir() if p.is_dir()):
        for number, line in enumerate((folder / "input.jsonl").read_bytes().splitlines(), start=1):
            result = normalizer.normalize_line(line, folder.name, f"{folder.name}:{number}")
            assert not isinstance(result, Rejected), result
            events.append(result)
    result = IndexWriter(client).write([index_document(e, index) for e in events])
    assert result.rejected == [] and result.created == len(events)
    assert count(client, index) == len(events)


def test_a_replay_after_a_rollover_adds_nothing(index: IndexSettings, client: Elasticsearch) -> None:
    writer = IndexWriter(client)
    guard = rollover_guard(client, index)
    assert guard is not None
    first = [event(timestamp=f"2016-08-1{day}T12:00:00.000Z") for day in range(5)]
    assert writer.write([index_document(e, index) for e in first]).created == 5
    rolled = rollover_data_streams(client, index)
    assert list(rolled) == [f"logs-{index.prefix}.ids-default"]

    later = [event(timestamp="2016-08-20T00:00:00.000Z")]
    batch, left_out = guard.without_stored([index_document(e, index) for e in [*first, *later]])
    assert left_out == 5 and [doc.id for doc in batch] == [document_id(later[0])]
    assert writer.write(batch).created == 1
    assert count(client, index) == 6
    # Without the guard the same replay would have stored the first events a second time.
    unguarded = writer.write([index_document(e, index) for e in first])
    assert unguarded.created == 5


def test_stats_per_data_stream(index: IndexSettings, client: Elasticsearch) -> None:
    IndexWriter(client).write([index_document(e, index) for e in (
        event(timestamp="2016-08-10T21:00:00.000Z"), event(timestamp="2016-08-24T06:30:00.000Z"))])
    client.indices.refresh(index=storage_pattern(index))
    rows = storage_stats(client, index)
    assert [(r.name, r.documents, r.backing_indices, r.lifecycle) for r in rows] == [
        (f"logs-{index.prefix}.ids-default", 2, 1, policy_name(index))]
    assert rows[0].oldest is not None and rows[0].oldest.startswith("2016-08-10T21:00:00")
    assert rows[0].newest is not None and rows[0].newest.startswith("2016-08-24T06:30:00")
