"""pipeline.scot.render: each source's answer as a SCOT4 enrichment that SCOT4's own schema accepts.

Answers come from the real enrichers: Shodan's client against a recorded host body served on loopback, GeoIP
from MaxMind's test database. Every body is checked with the restatement of SCOT4's EnrichmentCreate and
per-class data models in tests/fakes/scot_api.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pipeline.addresses import AddressClassifier
from pipeline.config import GeoIPSettings, ShodanSettings
from pipeline.enrich.geoip import GeoIPEnricher
from pipeline.enrich.shodan import ShodanEnricher
from pipeline.events import Failed, Found, NotFound
from pipeline.scot.entities import Entity
from pipeline.scot.render import enrichment_body
from tests.fakes.provider import ProviderServer, Reply
from tests.fakes.running import lookup_then_close
from tests.fakes.scot_api import validate_enrichment

SHODAN = Path(__file__).resolve().parents[2] / "data" / "providers" / "shodan"
GITHUB = "140.82.121.4"


def entity(value: str, entity_type: str = "ipaddr") -> Entity:
    return Entity(7, entity_type, value, "http://scot.example/api/v1")  # type: ignore[arg-type]


def shodan(url: str = "http://127.0.0.1:9") -> ShodanEnricher:
    return ShodanEnricher(ShodanSettings(url=url, api_key=SecretStr("k")), AddressClassifier())


def leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in leaves(value)]
    return [node]


class TestShodanAsTree:
    def test_recorded_host_is_a_jsontree_scot_accepts(self, provider: ProviderServer) -> None:
        provider.reply(f"/shodan/host/{GITHUB}", Reply.file(SHODAN / "140.82.121.4_shodan.json"))
        source = shodan(provider.url)
        outcome = lookup_then_close(source, GITHUB)
        assert isinstance(outcome, Found)
        body = enrichment_body(source, entity(GITHUB), outcome)
        validate_enrichment(body)
        assert body["enrichment_class"] == "jsontree"
        assert body["title"] == "Shodan host"
        assert body["description"] == f"Shodan host for {GITHUB}: 4 open port(s), 0 known vulnerability(ies)"
        data = body["data"]
        assert data["host"]["open ports"] == [22, 80, 443, 9418]
        assert data["host"]["organisation"] == "GitHub, Inc."
        assert data["services"]["443/tcp"] == {"module": "https", "tls_subject_cn": "github.com"}
        assert list(data["services"]) == ["22/tcp", "80/tcp", "443/tcp", "9418/tcp"]
        # SCOT's JsonTreePane shows strings, numbers and nulls; it drops booleans.
        assert all(isinstance(leaf, str | int | float) and not isinstance(leaf, bool) for leaf in leaves(data))

    def test_long_lists_are_trimmed(self) -> None:
        names = [f"h{i}.example" for i in range(30)]
        body = enrichment_body(shodan(), entity(GITHUB), Found({"hostnames": names, "ports": [443]}))
        assert body["data"]["host"]["hostnames"] == [*names[:20], "… (+10 more)"]

    def test_failure_and_no_record_stay_markdown(self) -> None:
        failed = enrichment_body(shodan(), entity(GITHUB), Failed("http 429", 30))
        validate_enrichment(failed)
        assert failed["enrichment_class"] == "markdown"
        assert failed["description"] == f"Shodan host could not be looked up for {GITHUB}: http 429"
        assert "Lookup failed: http 429" in failed["data"]["markdown"]
        none = enrichment_body(shodan(), entity(GITHUB), NotFound())
        validate_enrichment(none)
        assert "No record." in none["data"]["markdown"]


class TestMarkdown:
    def test_geoip_table_first(self) -> None:
        source = GeoIPEnricher(GeoIPSettings(), AddressClassifier())
        outcome = lookup_then_close(source, "81.2.69.160")
        assert isinstance(outcome, Found)
        body = enrichment_body(source, entity("81.2.69.160"), outcome)
        validate_enrichment(body)
        assert body["title"] == "GeoIP/ASN"
        markdown = body["data"]["markdown"]
        assert markdown.startswith("**GeoIP/ASN: 81.2.69.160**\n\n| field | value |\n|---|---|\n"
                                   "| country | United Kingdom |")
        assert "| city | London |" in markdown

    def test_long_cells_are_trimmed(self) -> None:
        source = GeoIPEnricher(GeoIPSettings(), AddressClassifier())
        try:
            body = enrichment_body(source, entity("81.2.69.160"),
                                   Found({"geo": {"city_name": "x" * 5000, "country_name": "|pipe|"}}))
        finally:
            lookup_then_close(source, "81.2.69.160")  # closes the readers
        markdown = body["data"]["markdown"]
        assert "| city | " + "x" * 299 + "… |" in markdown
        assert "| country | \\|pipe\\| |" in markdown  # a pipe in a value does not break the table
