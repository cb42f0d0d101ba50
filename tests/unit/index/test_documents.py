"""pipeline.index.documents: deterministic ids, and where each event is stored on each kind of server."""

from __future__ import annotations

import copy
import re
from fnmatch import fnmatch
from typing import Any

import pytest

from pipeline.config import IndexSettings
from pipeline.events import document_id
from pipeline.index.documents import index_document, index_name, storage_pattern, template_pattern

LINE = '{"timestamp":"2016-08-10T21:00:00.995102+0000","src_ip":"175.16.199.0","dest_ip":"192.168.250.20"}'
ELASTICSEARCH = IndexSettings()
OPENSEARCH = IndexSettings(server="opensearch")


def event(dataset: str = "suricata", original: str = LINE) -> dict[str, Any]:
    return {"@timestamp": "2016-08-10T21:00:00.995Z", "event": {"dataset": dataset, "original": original},
            "source": {"ip": "175.16.199.0"}}


class TestDocumentId:
    def test_deterministic(self) -> None:
        assert document_id(event()) == document_id(event())

    def test_is_a_short_hex_string(self) -> None:
        assert re.fullmatch(r"[0-9a-f]{32}", document_id(event()))

    def test_differs_by_dataset(self) -> None:
        assert document_id(event(dataset="suricata")) != document_id(event(dataset="fgt_traffic"))

    def test_differs_by_original(self) -> None:
        assert document_id(event(original=LINE)) != document_id(event(original=LINE + " "))

    def test_enrichment_does_not_change_the_id(self) -> None:
        plain = event()
        enriched = copy.deepcopy(plain)
        enriched["source"]["geo"] = {"country_iso_code": "CN", "city_name": "Changchun"}
        enriched["botes"] = {"enrichment": {"failures": [{"source": "geoip"}]}}
        enriched["@timestamp"] = "2030-01-01T00:00:00.000Z"
        assert document_id(enriched) == document_id(plain)

    def test_event_without_event_fields_still_gets_an_id(self) -> None:
        assert re.fullmatch(r"[0-9a-f]{32}", document_id({}))
        assert document_id({}) != document_id(event())


class TestElasticsearchDataStreams:
    @pytest.mark.parametrize(("dataset", "family"), [
        ("fgt_traffic", "firewall"), ("suricata", "ids"),
        ("fgt:traffic", "firewall"), ("suricata:eve", "ids"),  # Splunk spellings
    ])
    def test_by_family(self, dataset: str, family: str) -> None:
        assert index_name(event(dataset=dataset), ELASTICSEARCH) == f"logs-botes.{family}-default"

    def test_prefix_and_namespace(self) -> None:
        assert index_name(event(), IndexSettings(prefix="lab", namespace="prod")) == "logs-lab.ids-prod"

    def test_every_document_names_its_data_stream(self) -> None:
        doc = index_document(event(), IndexSettings(namespace="prod"))
        assert doc.index == "logs-botes.ids-prod"
        assert doc.source["data_stream"] == {"type": "logs", "dataset": "botes.ids", "namespace": "prod"}
        assert doc.id == document_id(event())

    def test_the_event_itself_is_not_changed(self) -> None:
        original = event()
        index_document(original, ELASTICSEARCH)
        assert "data_stream" not in original

    def test_a_routed_family_with_a_dash_keeps_the_naming_scheme(self) -> None:
        # logs-<dataset>-<namespace>: a '-' inside the dataset would make the name ambiguous.
        doc = index_document(event(dataset="iis"), ELASTICSEARCH, routing={"iis": "web-front"})
        assert doc.index == "logs-botes.web_front-default"
        assert doc.source["data_stream"]["dataset"] == "botes.web_front"

    @pytest.mark.parametrize("doc", [event(dataset="no-such-type"), event(dataset=""), {}])
    def test_unknown_family_goes_to_other(self, doc: dict[str, Any]) -> None:
        assert index_name(doc, ELASTICSEARCH) == "logs-botes.other-default"


class TestOpenSearchIndices:
    def test_by_family(self) -> None:
        assert index_name(event(dataset="fgt_traffic"), OPENSEARCH) == "botes-firewall"
        assert index_name(event(), IndexSettings(server="opensearch", prefix="lab")) == "lab-ids"

    def test_documents_are_stored_as_they_are(self) -> None:
        doc = index_document(event(), OPENSEARCH)
        assert doc.index == "botes-ids" and doc.source == event() and doc.id == document_id(event())

    def test_routing_moves_a_source_type(self) -> None:
        assert index_name(event(dataset="iis"), OPENSEARCH, routing={"iis": "firewall"}) == "botes-firewall"

    @pytest.mark.parametrize("doc", [event(dataset="no-such-type"), {}, {"event": {"original": LINE}}])
    def test_unknown_family_goes_to_other(self, doc: dict[str, Any]) -> None:
        assert index_name(doc, OPENSEARCH) == "botes-other"


@pytest.mark.parametrize("settings", [ELASTICSEARCH, OPENSEARCH, IndexSettings(namespace="prod")])
def test_the_template_and_search_patterns_cover_every_family(settings: IndexSettings) -> None:
    for dataset in ("fgt_traffic", "suricata", "iis", "nessus-scan", "unknown"):
        name = index_name(event(dataset=dataset), settings)
        assert fnmatch(name, template_pattern(settings)), name
        assert fnmatch(name, storage_pattern(settings)), name


def test_the_template_pattern_does_not_reach_other_prefixes() -> None:
    assert not fnmatch(index_name(event(), IndexSettings(prefix="lab")), template_pattern(ELASTICSEARCH))
    assert not fnmatch(index_name(event(), IndexSettings(server="opensearch", prefix="lab")),
                       template_pattern(OPENSEARCH))


def test_the_search_pattern_is_one_namespace() -> None:
    assert not fnmatch(index_name(event(), IndexSettings(namespace="prod")), storage_pattern(ELASTICSEARCH))
