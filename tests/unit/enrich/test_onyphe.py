"""pipeline.enrich.onyphe: its aiohttp client against a recorded Onyphe API v2 summary body.

tests/data/providers/onyphe/summary_ip_1.1.1.1.json is a real ``/api/v2/summary/ip/1.1.1.1`` answer
(provenance in tests/data/providers/README.md); the ``provider`` fixture serves it on loopback. Expected
values below are read off that body, not off this code's output.

It holds no threat-list record, so ``THREATLIST_RECORDS`` are copied from another real Onyphe answer: the
``/api/threatlist/206.81.18.195`` body recorded in github.com/ninoseki/onyphe-rb @ 7243b216
``spec/fixtures/vcr_cassettes/Onyphe_API/_threatlist/should_return_a_response.yml`` (MIT), first and
last of its three records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from pipeline.addresses import AddressClassifier
from pipeline.config import OnypheSettings
from pipeline.enrich.chain import EnrichmentChain
from pipeline.enrich.onyphe import OnypheEnricher
from pipeline.enrich.scot import scot_enrichment
from pipeline.errors import ConfigError
from pipeline.events import Failed, Found, NotFound, Target, get_path, iter_leaves
from pipeline.normalize.ecs import ecs_schema
from tests.fakes.ports import closed_port
from tests.fakes.provider import ProviderServer, Reply
from tests.fakes.running import lookup_then_close, run_then_close

BODY = Path(__file__).resolve().parents[2] / "data" / "providers" / "onyphe" / "summary_ip_1.1.1.1.json"
KEY = "onyphe-test-key-93d2aa"  # must never show in a reason or a log line
CLOUDFLARE = "1.1.1.1"
LISTED = "206.81.18.195"
EMPTY = "203.0.114.9"

THREATLIST_RECORDS: list[dict[str, Any]] = [
    {"@category": "threatlist", "@timestamp": "2018-07-24T08:35:41.000Z", "@type": "doc", "asn": "AS14061",
     "city": "Frankfurt am Main", "country": "DE", "ipv6": "false", "location": "50.1153,8.6823",
     "organization": "DigitalOcean, LLC", "seen_date": "2018-07-24", "subnet": "206.81.18.195/32",
     "tag": ["botnet", "mirai"], "threatlist": "ONYPHE - botnet/mirai"},
    {"@category": "threatlist", "@timestamp": "2018-07-21T21:17:37.000Z", "@type": "doc", "asn": "AS14061",
     "city": "Frankfurt am Main", "country": "DE", "ipv6": "false", "location": "50.1153,8.6823",
     "organization": "DigitalOcean, LLC", "seen_date": "2018-07-21", "subnet": "206.81.18.195/32",
     "tag": ["botnet", "mirai"], "threatlist": "ONYPHE - botnet/mirai"},
]

T = TypeVar("T")


def path(ip: str) -> str:
    return f"/api/v2/summary/ip/{ip}"


def envelope(results: list[dict[str, Any]]) -> bytes:
    """The recorded envelope (error, status, page, ...) around other results."""
    body = json.loads(BODY.read_text())
    body.update(results=results, count=len(results), total=len(results))
    return json.dumps(body).encode()


def serve_summaries(server: ProviderServer) -> None:
    server.reply(path(CLOUDFLARE), Reply.file(BODY))
    server.reply(path(LISTED), Reply(200, envelope(THREATLIST_RECORDS)))
    server.reply(path(EMPTY), Reply(200, envelope([])))


def enricher(server: ProviderServer, **overrides: Any) -> OnypheEnricher:
    values: dict[str, Any] = {"url": server.url + "/api/v2", "api_key": SecretStr(KEY), "timeout": 2.0,
                              **overrides}
    return OnypheEnricher(OnypheSettings(**values), AddressClassifier())




def found(source: OnypheEnricher, value: str) -> Found:
    outcome = lookup_then_close(source, value)
    assert isinstance(outcome, Found), outcome
    return outcome


class TestRecordedSummary:
    def test_categories_summarised(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        summary = found(enricher(provider), CLOUDFLARE).data["summary"]
        assert summary["categories"] == {"ctl": 10, "datascan": 10, "geoloc": 1, "inetnum": 1, "pastries": 10,
                                         "resolver": 10, "synscan": 4, "topsite": 10}
        assert summary["total"] == 6077
        assert "one.one.one.one" in summary["hostnames"] and "udemy.com" in summary["hostnames"]
        assert len(summary["hostnames"]) == 9  # 10 resolver records, one name twice
        assert summary["ports"] == [53, 443, 64874, 64875]  # synscan and datascan
        assert summary["protocols"] == ["dns", "http"]
        assert summary["os"] == ["Linux"]  # "Undefined" left out
        assert (summary["country"], summary["asn"], summary["organization"]) == ("AU", 13335, "CLOUDFLARENET")
        assert summary["last_seen"] == "2020-03-23T23:32:37.000Z"
        assert "threatlists" not in summary

    def test_no_threat_list_no_threat_enrichment(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        source = enricher(provider)
        fragment = source.fragment(Target("destination", CLOUDFLARE), found(source, CLOUDFLARE))
        assert set(fragment) == {"botes"}
        assert get_path(fragment, "botes.destination.onyphe.asn") == 13335

    def test_request(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        found(enricher(provider, url=provider.url + "/api/v2/"), CLOUDFLARE)
        (request,) = provider.calls()
        assert (request.method, request.path, request.query) == ("GET", path(CLOUDFLARE), "")
        assert request.headers["Authorization"] == f"bearer {KEY}"

    def test_no_results_is_not_found(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        assert lookup_then_close(enricher(provider), EMPTY) == NotFound()

    def test_not_an_address_is_not_sent(self, provider: ProviderServer) -> None:
        assert lookup_then_close(enricher(provider), "../user") == Failed("not an IP address")
        assert provider.calls() == []


class TestThreatLists:
    def test_summary_names_the_lists(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        outcome = found(enricher(provider), LISTED)
        assert outcome.data["summary"]["threatlists"] == ["ONYPHE - botnet/mirai"]
        assert outcome.data["threats"] == [{"name": "ONYPHE - botnet/mirai", "tags": ["botnet", "mirai"],
                                            "first_seen": "2018-07-21T21:17:37.000Z",
                                            "last_seen": "2018-07-24T08:35:41.000Z"}]

    def test_threat_enrichment_entry(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        source = enricher(provider)
        fragment = source.fragment(Target("source", LISTED), found(source, LISTED))
        assert fragment["threat"] == {"enrichments": [{
            "indicator": {"type": "ipv4-addr", "ip": LISTED, "provider": "onyphe:ONYPHE - botnet/mirai",
                          "first_seen": "2018-07-21T21:17:37.000Z", "last_seen": "2018-07-24T08:35:41.000Z"},
            "matched": {"atomic": LISTED, "field": "source.ip", "type": "indicator_match_rule"},
        }]}
        schema = ecs_schema()
        (entry,) = fragment["threat"]["enrichments"]
        leaves = [leaf for leaf, _ in iter_leaves(entry, "threat.enrichments.")]
        assert len(leaves) == 8 and all(leaf in schema.types for leaf in leaves)

    def test_ipv6_indicator_type(self) -> None:
        source = OnypheEnricher(OnypheSettings(api_key=SecretStr(KEY)), AddressClassifier())
        data = {"summary": {"threatlists": ["x"]}, "threats": [{"name": "x", "tags": []}]}
        entry = source.fragment(Target("destination", "2001:4860::8888"), Found(data))["threat"]["enrichments"][0]
        assert entry["indicator"]["type"] == "ipv6-addr"
        assert entry["matched"]["field"] == "destination.ip"

    def test_chain_enriches_source_and_destination(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        event: dict[str, Any] = {"source": {"ip": LISTED}, "destination": {"ip": CLOUDFLARE},
                                 "threat": {"enrichments": [{"indicator": {"provider": "other"}}]}}

        async def enrich(source: OnypheEnricher) -> dict[str, Any]:
            return await EnrichmentChain([source]).enrich(event)

        enriched = run_then_close(enricher(provider), enrich)
        assert get_path(enriched, "botes.source.onyphe.threatlists") == ["ONYPHE - botnet/mirai"]
        assert get_path(enriched, "botes.destination.onyphe.country") == "AU"
        providers = [e["indicator"]["provider"] for e in enriched["threat"]["enrichments"]]
        assert providers == ["other", "onyphe:ONYPHE - botnet/mirai"]  # appended, not replaced


class TestFailures:
    def test_wrong_key(self, provider: ProviderServer, caplog: pytest.LogCaptureFixture) -> None:
        provider.reply(path(CLOUDFLARE), Reply(401, b'{"error": 1, "status": "nok", "text": "Invalid API key"}'))
        with caplog.at_level(logging.WARNING):
            outcomes = run_then_close(enricher(provider),
                           lambda e: asyncio.gather(e.lookup(CLOUDFLARE), e.lookup(CLOUDFLARE)))
        assert list(outcomes) == [Failed("unauthorized"), Failed("unauthorized")]
        assert len(caplog.records) == 1 and "API key" in caplog.text  # logged once

    def test_rate_limit_with_retry_after(self, provider: ProviderServer) -> None:
        provider.reply(path(CLOUDFLARE), Reply(429, b'{"error": 1, "status": "nok", "text": "Too many requests"}',
                                               {"Content-Type": "application/json", "Retry-After": "7"}))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed("http 429", 7.0)

    @pytest.mark.parametrize("status", [500, 502, 403, 404])
    def test_http_errors(self, provider: ProviderServer, status: int) -> None:
        provider.reply(path(CLOUDFLARE), Reply(status, b"<html>error</html>", {"Content-Type": "text/html"}))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed(f"http {status}")

    @pytest.mark.parametrize("body", [b'{"error": 0, "results": [{"@category": "geoloc"', b"[]",
                                      b'{"error": 0, "status": "ok"}', b"\xff\xfe"])
    def test_malformed_body(self, provider: ProviderServer, body: bytes) -> None:
        provider.reply(path(CLOUDFLARE), Reply(200, body))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed("malformed response")

    def test_error_code_in_body(self, provider: ProviderServer) -> None:
        provider.reply(path(CLOUDFLARE), Reply(200, b'{"error": 3, "status": "nok", "results": []}'))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed("onyphe error 3")

    def test_hang_times_out(self, provider: ProviderServer) -> None:
        provider.reply(path(CLOUDFLARE), Reply(gate=threading.Event()))  # answers only when the test ends
        started = time.monotonic()
        assert lookup_then_close(enricher(provider, timeout=0.2), CLOUDFLARE) == Failed("timeout")
        assert time.monotonic() - started >= 0.2

    def test_unreachable(self, provider: ProviderServer) -> None:
        unreachable = enricher(provider, url=f"http://127.0.0.1:{closed_port()}")
        assert lookup_then_close(unreachable, CLOUDFLARE) == Failed("unreachable")

    def test_key_never_in_reasons_or_logs(self, provider: ProviderServer,
                                          caplog: pytest.LogCaptureFixture) -> None:
        provider.reply(path("8.8.8.8"), Reply(401, b'{"error": 1}'))
        provider.reply(path("8.8.4.4"), Reply(429, b"{}", {"Retry-After": "1"}))
        provider.reply(path("9.9.9.9"), Reply(500, b"oops"))
        provider.reply(path("9.9.9.10"), Reply(200, b"{"))
        provider.reply(path("1.0.0.1"), Reply(hang=1.0))
        values = ["8.8.8.8", "8.8.4.4", "9.9.9.9", "9.9.9.10", "1.0.0.1"]
        with caplog.at_level(logging.DEBUG):
            outcomes = run_then_close(enricher(provider, timeout=0.2),
                           lambda e: asyncio.gather(*(e.lookup(v) for v in values)))
        assert all(isinstance(o, Failed) for o in outcomes)
        assert not any(KEY in repr(o) for o in outcomes)
        assert KEY not in caplog.text


def test_at_most_max_in_flight(provider: ProviderServer) -> None:
    serve_summaries(provider)
    provider.reply(path(CLOUDFLARE), Reply(200, BODY.read_bytes(), hang=0.3))
    done: dict[str, float] = {}

    async def timed(source: OnypheEnricher, value: str) -> None:
        assert isinstance(await source.lookup(value), Found)
        done[value] = time.monotonic()

    async def both(source: OnypheEnricher) -> None:
        # gather starts them in order: the slow lookup takes the only slot first.
        await asyncio.gather(timed(source, CLOUDFLARE), timed(source, LISTED))

    run_then_close(enricher(provider, max_in_flight=1), both)
    assert done[LISTED] > done[CLOUDFLARE]  # the fast lookup waited for the slow one's slot


class TestPureParts:
    def test_targets_are_public_addresses_only(self) -> None:
        source = OnypheEnricher(OnypheSettings(api_key=SecretStr(KEY)), AddressClassifier())
        event = {"source": {"ip": LISTED}, "destination": {"ip": "192.168.1.10"}, "client": {"ip": "::1"}}
        assert list(source.targets(event)) == [Target("source", LISTED)]

    def test_summary_rows_and_markdown(self, provider: ProviderServer) -> None:
        serve_summaries(provider)
        source = enricher(provider)
        outcome = found(source, CLOUDFLARE)
        rows = dict(source.summary_rows(outcome))
        assert rows["open ports"] == [53, 443, 64874, 64875]
        assert rows["country"] == "AU"
        assert rows["records"].startswith("ctl 10, datascan 10, geoloc 1")
        markdown = scot_enrichment(source, CLOUDFLARE, outcome)["data"]["markdown"]
        assert "| organisation | CLOUDFLARENET |" in markdown
        assert "threat lists" not in markdown  # empty rows are left out

    def test_no_key_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match="onyphe.api_key"):
            OnypheEnricher(OnypheSettings(), AddressClassifier())
