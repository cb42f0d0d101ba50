"""Storage against the real test index server (osmem-server, OpenSearch API; testcontainers' Elasticsearch where
Docker runs): the templates `botes setup` installs, the ECS types at work in queries, replays across a rollover,
and `botes index stats`.

On OpenSearch the pipeline writes plain indices, so everything here runs in that mode; the data-stream and ILM
side runs against a real Elasticsearch in test_elasticsearch_storage.py.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from pipeline.addresses import AddressClassifier
from pipeline.config import IndexSettings, OnypheSettings, ShodanSettings, VirusTotalSettings
from pipeline.enrich.chain import EnrichmentChain
from pipeline.enrich.onyphe import OnypheEnricher
from pipeline.enrich.shodan import ShodanEnricher
from pipeline.enrich.virustotal import VirusTotalEnricher
from pipeline.events import Event, Rejected, document_id
from pipeline.index.documents import index_document
from pipeline.index.rollover import RolloverGuard
from pipeline.index.stats import storage_stats
from pipeline.index.template import check_template, component_names, install_templates, template_name
from pipeline.index.writer import IndexDoc, IndexWriter, open_client
from pipeline.normalize import Normalizer
from tests.conftest import DATA, REPO, isolated, settings_with
from tests.fakes.provider import ProviderServer, Reply
from tests.integration.streaming_job import botes

pytestmark = pytest.mark.integration

GOLDEN = REPO / "tests" / "golden"


@pytest.fixture
def env(services: Any) -> dict[str, str]:
    """A fresh prefix (indices, templates), in plain-index mode: what the local test server supports."""
    if services.env.get("BOTES_INDEX__SERVER") != "opensearch":
        pytest.skip("the index server of this run is Elasticsearch, which has no OpenSearch types (flat_object); "
                    "test_elasticsearch_storage.py runs the same checks on its data streams")
    return {**isolated(f"st{uuid.uuid4().hex[:10]}"), "BOTES_INDEX__SERVER": "opensearch"}


@pytest.fixture
def index(env: dict[str, str]) -> IndexSettings:
    return settings_with(env).index


@pytest.fixture
def client(index: IndexSettings) -> Iterator[Elasticsearch]:
    client = open_client(index)
    install_templates(client, index)
    yield client
    client.indices.delete(index=f"{index.prefix}-*", ignore_unavailable=True)
    client.close()


def event(dataset: str = "suricata", timestamp: str = "2016-08-10T21:00:00.000Z", **fields: Any) -> Event:
    """A SYNTHETIC ECS event; its original line makes its id unique."""
    return {"@timestamp": timestamp, "event": {"dataset": dataset, "original": uuid.uuid4().hex}, **fields}


def write(client: Elasticsearch, index: IndexSettings, events: list[Event]) -> list[str]:
    result = IndexWriter(client).write([index_document(e, index) for e in events])
    assert result.rejected == [] and result.created == len(events)
    client.indices.refresh(index=f"{index.prefix}-*")
    return [document_id(e) for e in events]


def ids(client: Elasticsearch, index: IndexSettings, query: dict[str, Any]) -> set[str]:
    hits = client.search(index=f"{index.prefix}-*", query=query, size=100)["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def mapping(client: Elasticsearch, name: str, path: str) -> dict[str, Any]:
    node: dict[str, Any] = client.indices.get_mapping(index=name)[name]["mappings"]
    for part in path.split("."):
        node = node["properties"][part]
    return node


class TestSetup:
    def test_setup_installs_once_and_then_leaves_everything_alone(self, env: dict[str, str],
                                                                   index: IndexSettings) -> None:
        first = botes("setup", env=env)
        assert first.returncode == 0, first.stderr
        names = [*component_names(index), template_name(index)]
        for name in names:
            assert f"{name}: created (version 1)" in first.stderr
        assert f"events go to {index.prefix}-*" in first.stderr
        again = botes("setup", env=env)
        assert again.returncode == 0, again.stderr
        for name in names:
            assert f"{name}: unchanged (version 1)" in again.stderr

    def test_a_changed_component_is_put_as_the_next_version(self, index: IndexSettings,
                                                            client: Elasticsearch) -> None:
        settings_component = component_names(index)[2]
        # What an older release of the pipeline might have left: other settings, version 3.
        client.cluster.put_component_template(name=settings_component, version=3, meta={"content_hash": "old"},
                                              template={"settings": {"index": {"number_of_shards": 2}}})
        installed = {item.name: item for item in install_templates(client, index)}
        assert (installed[settings_component].status, installed[settings_component].version) == ("updated", 4)
        assert installed[template_name(index)].status == "unchanged"
        write(client, index, [event()])
        created = client.indices.get_settings(index=f"{index.prefix}-ids")[f"{index.prefix}-ids"]["settings"]
        assert created["index"]["number_of_shards"] == "1"
        assert created["index"]["mapping"]["total_fields"]["limit"] == "10000"

    def test_the_job_is_warned_about_an_outdated_template(self, index: IndexSettings,
                                                         client: Elasticsearch) -> None:
        assert check_template(client, index) is None
        client.indices.put_index_template(name=template_name(index), index_patterns=[f"{index.prefix}-*"],
                                          version=1, meta={"content_hash": "from-an-older-release"})
        warning = check_template(client, index)
        assert warning is not None and "run `botes setup`" in warning


class TestTypes:
    def test_every_golden_event_is_stored_with_the_template_types(self, index: IndexSettings,
                                                                   client: Elasticsearch) -> None:
        normalizer = Normalizer()
        events = []
        for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
            for number, line in enumerate((folder / "input.jsonl").read_bytes().splitlines(), start=1):
                result = normalizer.normalize_line(line, folder.name, f"{folder.name}:{number}")
                assert not isinstance(result, Rejected), result
                events.append(result)
        assert len({e["event"]["dataset"] for e in events}) == 22
        write(client, index, events)
        assert mapping(client, f"{index.prefix}-stream", "botes.dhcp.offer.ip")["type"] == "ip"
        assert mapping(client, f"{index.prefix}-web", "url.original")["type"] == "wildcard"
        assert mapping(client, f"{index.prefix}-firewall", "botes.unmapped")["type"] == "flat_object"
        assert mapping(client, f"{index.prefix}-firewall", "source.ip")["type"] == "ip"
        assert mapping(client, f"{index.prefix}-ids", "threat.enrichments")["type"] == "nested"

    def test_nested_query_needs_both_values_in_one_enrichment(self, index: IndexSettings,
                                                               client: Elasticsearch) -> None:
        def enrichment(atomic: str, provider: str) -> dict[str, Any]:
            return {"matched": {"atomic": atomic, "field": "destination.ip", "type": "indicator_match_rule"},
                    "indicator": {"type": "ipv4-addr", "provider": provider}}

        one_entry, _ = write(client, index, [
            event(threat={"enrichments": [enrichment("1.2.3.4", "feed-x")]}),
            # 1.2.3.4 and feed-x both occur, but in different entries: not a match.
            event(threat={"enrichments": [enrichment("1.2.3.4", "feed-y"), enrichment("5.6.7.8", "feed-x")]}),
        ])
        both = {"nested": {"path": "threat.enrichments", "query": {"bool": {"filter": [
            {"term": {"threat.enrichments.matched.atomic": "1.2.3.4"}},
            {"term": {"threat.enrichments.indicator.provider": "feed-x"}}]}}}}
        assert ids(client, index, both) == {one_entry}

    def test_leading_wildcard_on_url_original(self, index: IndexSettings, client: Elasticsearch) -> None:
        wanted, _ = write(client, index, [
            event(dataset="iis", url={"original": "/cgi-bin/Upload/evil.php?cmd=whoami"}),
            event(dataset="iis", url={"original": "/index.html"}),
        ])
        assert ids(client, index, {"wildcard": {"url.original": "*evil.php*"}}) == {wanted}
        assert ids(client, index, {"match": {"url.original.text": "upload"}}) == {wanted}

    def test_full_text_on_message(self, index: IndexSettings, client: Elasticsearch) -> None:
        wanted, _ = write(client, index, [
            event(message="Failed password for invalid user admin from 203.0.113.9 port 22 ssh2"),
            event(message="Accepted publickey for deploy from 198.51.100.7 port 50022 ssh2"),
        ])
        assert ids(client, index, {"match": {"message": "invalid admin"}}) == {wanted}
        assert ids(client, index, {"match_phrase": {"message": "invalid user admin"}}) == {wanted}

    def test_enrichment_dates_are_dates(self, index: IndexSettings, client: Elasticsearch,
                                        provider: ProviderServer) -> None:
        word_macro = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"
        providers = DATA / "providers"
        provider.reply("/shodan/host/1.1.1.1", Reply.file(providers / "shodan" / "1.1.1.1_shodan.json"))
        provider.reply("/api/v2/summary/ip/1.1.1.1", Reply.file(providers / "onyphe" / "summary_ip_1.1.1.1.json"))
        provider.reply(f"/api/v3/files/{word_macro}", Reply.file(providers / "virustotal" / f"{word_macro}.json"))
        key = SecretStr("test-key-not-real")
        classifier = AddressClassifier()
        chain = EnrichmentChain([
            ShodanEnricher(ShodanSettings(url=provider.url, api_key=key), classifier),
            OnypheEnricher(OnypheSettings(url=provider.url + "/api/v2", api_key=key), classifier),
            VirusTotalEnricher(VirusTotalSettings(url=provider.url, api_key=key), classifier),
        ])

        async def enrich() -> Event:
            try:
                return await chain.enrich(event(destination={"ip": "1.1.1.1"},
                                                file={"hash": {"sha256": word_macro}}))
            finally:
                for enricher in chain.enrichers:
                    await enricher.aclose()

        enriched = asyncio.run(enrich())
        assert "failures" not in enriched.get("botes", {}).get("enrichment", {}), enriched["botes"]
        write(client, index, [enriched])
        name = f"{index.prefix}-ids"
        for path in ("botes.destination.shodan.last_update", "botes.destination.onyphe.last_seen",
                     "botes.file.virustotal.first_submission_date", "threat.enrichments.indicator.first_seen"):
            assert mapping(client, name, path)["type"] == "date", path
        assert mapping(client, name, "botes.destination.shodan.ports")["type"] == "long"
        assert mapping(client, name, "botes.destination.shodan.org")["type"] == "keyword"
        last_update = enriched["botes"]["destination"]["shodan"]["last_update"]
        assert ids(client, index, {"range": {"botes.destination.shodan.last_update": {"gte": last_update}}}) == \
            {document_id(enriched)}


class TestReplayAcrossRollover:
    """The guard asks the older backing indices of a data stream. The test server has no data streams, so
    two plain indices stand in for a rolled-over stream's generations; every request the guard makes
    (refresh, @timestamp range, multi-search by id) goes to the real server."""

    def test_a_replay_adds_nothing_across_a_rollover(self, index: IndexSettings, client: Elasticsearch) -> None:
        first_generation, write_index = f"{index.prefix}-gen-000001", f"{index.prefix}-gen-000002"
        before = [event(timestamp=f"2016-08-1{day}T12:00:00.250Z") for day in range(3)]
        after = [event(timestamp="2016-08-20T08:00:00.000Z")]
        writer = IndexWriter(client)
        assert writer.write([IndexDoc(first_generation, document_id(e), e) for e in before]).created == 3
        assert writer.write([IndexDoc(write_index, document_id(e), e) for e in after]).created == 1
        guard = RolloverGuard(client, lambda streams: {s: [first_generation, write_index] for s in streams})

        new_in_the_old_range = event(timestamp="2016-08-11T00:00:00.000Z")
        replay = [*before[:-1], *after, new_in_the_old_range,
                  # The newest event of the old index, with microseconds the index truncated: still found.
                  {**before[-1], "@timestamp": "2016-08-12T12:00:00.250123Z"}]
        batch = [IndexDoc("logs-x.ids-default", document_id(e), e) for e in replay]
        stored = guard.already_stored(batch)
        # The first generation's events are found there; the write index's are left to `create` (409).
        assert stored == {("logs-x.ids-default", document_id(e)) for e in before}
        kept, left_out = guard.without_stored(batch)
        assert left_out == 3 and [d.id for d in kept] == [document_id(after[0]), document_id(new_in_the_old_range)]

    def test_events_newer_than_every_older_index_are_not_looked_up(self, index: IndexSettings,
                                                                    client: Elasticsearch) -> None:
        old, current = f"{index.prefix}-gen-000001", f"{index.prefix}-gen-000002"
        stored = event(timestamp="2016-08-10T12:00:00.000Z")
        IndexWriter(client).write([IndexDoc(old, document_id(stored), stored)])
        client.indices.create(index=current)
        guard = RolloverGuard(client, lambda streams: {s: [old, current] for s in streams})
        # The same id, stamped after everything the old index holds: outside its range, so not asked for.
        moved = {**stored, "@timestamp": "2016-09-01T00:00:00.000Z"}
        assert guard.already_stored([IndexDoc("s", document_id(moved), moved)]) == set()
        assert guard.already_stored([IndexDoc("s", document_id(stored), stored)]) == {("s", document_id(stored))}

    def test_the_write_index_is_left_to_create(self, index: IndexSettings, client: Elasticsearch) -> None:
        only = f"{index.prefix}-gen-000001"
        doc = event()
        IndexWriter(client).write([IndexDoc(only, document_id(doc), doc)])
        guard = RolloverGuard(client, lambda streams: {s: [only] for s in streams})
        assert guard.already_stored([IndexDoc("s", document_id(doc), doc)]) == set()


class TestStats:
    def test_documents_size_and_time_range_per_index(self, env: dict[str, str], index: IndexSettings,
                                                     client: Elasticsearch) -> None:
        write(client, index, [
            event(timestamp="2016-08-10T21:00:00.000Z", threat={"enrichments": [
                {"matched": {"atomic": "1.2.3.4"}}, {"matched": {"atomic": "5.6.7.8"}}]}),  # 2 nested entries
            event(timestamp="2016-08-24T06:30:00.000Z"),
            event(dataset="fgt_traffic", timestamp="2016-08-11T00:00:00.000Z"),
        ])
        rows = {row.name: row for row in storage_stats(client, index)}
        assert set(rows) == {f"{index.prefix}-ids", f"{index.prefix}-firewall"}
        ids_row = rows[f"{index.prefix}-ids"]
        assert ids_row.documents == 2  # events, not Lucene documents (nested entries would make it 4)
        assert ids_row.oldest is not None and ids_row.oldest.startswith("2016-08-10T21:00:00")
        assert ids_row.newest is not None and ids_row.newest.startswith("2016-08-24T06:30:00")
        assert ids_row.size_bytes > 0 and ids_row.backing_indices is None
        assert rows[f"{index.prefix}-firewall"].documents == 1

        printed = botes("index", "stats", "--json", env=env)
        assert printed.returncode == 0, printed.stderr
        assert {row["name"]: row["documents"] for row in json.loads(printed.stdout)} == \
            {f"{index.prefix}-ids": 2, f"{index.prefix}-firewall": 1}
        table = botes("index", "stats", env=env)
        assert table.returncode == 0 and f"{index.prefix}-ids" in table.stderr

    def test_nothing_stored_yet_says_so(self, env: dict[str, str], index: IndexSettings) -> None:
        table = botes("index", "stats", env=env)
        assert table.returncode == 0, table.stderr
        assert f"no events stored under {index.prefix}-* on {index.url} yet" in " ".join(table.stderr.split())
        printed = botes("index", "stats", "--json", env=env)
        assert printed.returncode == 0 and json.loads(printed.stdout) == []

    def test_rollover_is_for_data_streams_only(self, env: dict[str, str]) -> None:
        result = botes("index", "rollover", env=env)
        assert result.returncode == 2 and "plain indices do not roll over" in result.stderr


def test_no_document_of_another_prefix_is_counted(env: dict[str, str], index: IndexSettings,
                                                  client: Elasticsearch) -> None:
    other = settings_with({**isolated(f"ot{uuid.uuid4().hex[:10]}"), "BOTES_INDEX__SERVER": "opensearch"}).index
    install_templates(client, other)
    try:
        write(client, other, [event()])
        write(client, index, [event(), event()])
        assert [row.documents for row in storage_stats(client, index)] == [2]
    finally:
        client.indices.delete(index=f"{other.prefix}-*", ignore_unavailable=True)
