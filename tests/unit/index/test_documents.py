"""pipeline.index.documents: deterministic document ids and the index per event family."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from pipeline.events import document_id
from pipeline.index.documents import index_name

LINE = '{"timestamp":"2016-08-10T21:00:00.995102+0000","src_ip":"175.16.199.0","dest_ip":"192.168.250.20"}'


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


class TestIndexName:
    @pytest.mark.parametrize(("dataset", "family"), [
        ("fgt_traffic", "firewall"), ("suricata", "ids"),
        ("fgt:traffic", "firewall"), ("suricata:eve", "ids"),  # Splunk spellings
    ])
    def test_by_family(self, dataset: str, family: str) -> None:
        assert index_name(event(dataset=dataset), "botes") == f"botes-{family}"

    def test_prefix(self) -> None:
        assert index_name(event(dataset="suricata"), "lab") == "lab-ids"

    @pytest.mark.parametrize("doc", [event(dataset="no-such-type"), event(dataset=""), {},
                                     {"event": {"original": LINE}}])
    def test_unknown_family_goes_to_other(self, doc: dict[str, Any]) -> None:
        assert index_name(doc, "botes") == "botes-other"
