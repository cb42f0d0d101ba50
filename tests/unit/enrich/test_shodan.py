"""pipeline.enrich.shodan: the real ``shodan`` client against recorded Shodan host bodies.

The bodies in tests/data/providers/shodan/ are real ``GET /shodan/host/{ip}`` answers (provenance in
tests/data/providers/README.md); the ``provider`` fixture serves them on loopback at the path the client
builds from ``base_url``. Expected values below are read off those bodies, not off this code's output.
The not-found body is Shodan's own (``{"error": "No information available for that IP."}`` with 404).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from pipeline.addresses import AddressClassifier
from pipeline.config import ShodanSettings
from pipeline.enrich.chain import EnrichmentChain
from pipeline.enrich.scot import scot_enrichment
from pipeline.enrich.shodan import ShodanEnricher
from pipeline.errors import ConfigError
from pipeline.events import Failed, Found, NotFound, Outcome, Target, get_path
from tests.fakes.ports import closed_port
from tests.fakes.provider import ProviderServer, Reply
from tests.fakes.running import lookup_then_close, run_then_close

DATA = Path(__file__).resolve().parents[2] / "data" / "providers" / "shodan"
KEY = "shodan-test-key-4be1d0"  # must never show in a reason or a log line
CLOUDFLARE = "1.1.1.1"
GITHUB = "140.82.121.4"
UNKNOWN = "203.0.114.9"
NOT_FOUND_BODY = b'{"error": "No information available for that IP."}'

T = TypeVar("T")


def path(ip: str) -> str:
    return f"/shodan/host/{ip}"


def serve_hosts(server: ProviderServer) -> None:
    server.reply(path(CLOUDFLARE), Reply.file(DATA / "1.1.1.1_shodan.json"))
    server.reply(path(GITHUB), Reply.file(DATA / "140.82.121.4_shodan.json"))
    server.reply(path(UNKNOWN), Reply(404, NOT_FOUND_BODY))


def enricher(server: ProviderServer, **overrides: Any) -> ShodanEnricher:
    values: dict[str, Any] = {"url": server.url, "api_key": SecretStr(KEY), "timeout": 2.0, **overrides}
    return ShodanEnricher(ShodanSettings(**values), AddressClassifier())




def found(source: ShodanEnricher, value: str) -> dict[str, Any]:
    outcome = lookup_then_close(source, value)
    assert isinstance(outcome, Found), outcome
    return outcome.data


class TestRecordedHosts:
    def test_cloudflare(self, provider: ProviderServer) -> None:
        serve_hosts(provider)
        data = found(enricher(provider), CLOUDFLARE)
        assert data["ports"] == [53, 80, 161, 443, 2052, 2053, 2082, 2083, 2086, 2087, 2095, 2096, 8080, 8443,
                                 8880]
        assert data["hostnames"] == ["one.one.one.one"]
        assert data["domains"] == ["one.one"]
        assert data["isp"] == "Cloudflare, Inc."
        assert data["org"] == "APNIC and Cloudflare DNS Resolver project"
        assert data["asn"] == 13335
        assert data["last_update"] == "2023-07-15T08:31:35.019046Z"  # Shodan's zone-less UTC time
        assert "os" not in data and "vulns" not in data  # null / absent in the body

    def test_github(self, provider: ProviderServer) -> None:
        serve_hosts(provider)
        data = found(enricher(provider), GITHUB)
        assert data["ports"] == [22, 80, 443, 9418]
        assert data["hostnames"] == ["lb-140-82-121-4-fra.github.com"]
        assert data["isp"] == data["org"] == "GitHub, Inc."
        assert data["asn"] == 36459
        assert data["last_update"] == "2021-08-16T20:42:40.325940Z"

    def test_services_one_per_banner_by_port(self, provider: ProviderServer) -> None:
        serve_hosts(provider)
        github = found(enricher(provider), GITHUB)["services"]
        assert github == [{"port": 22, "transport": "tcp", "module": "ssh"},
                          {"port": 80, "transport": "tcp", "module": "http"},
                          {"port": 443, "transport": "tcp", "module": "https", "tls_subject_cn": "github.com"},
                          {"port": 9418, "transport": "tcp", "module": "git"}]
        cloudflare = {(s["port"], s["transport"]): s for s in found(enricher(provider), CLOUDFLARE)["services"]}
        assert set(cloudflare) >= {(53, "tcp"), (53, "udp"), (443, "tcp")}  # DNS answers on both transports
        assert cloudflare[(443, "tcp")] == {"port": 443, "transport": "tcp", "module": "https", "product": "CloudFlare",
                                            "http_title": "403 Forbidden", "tls_subject_cn": "cloudflare-dns.com"}

    def test_vulns_of_host_and_banners(self, provider: ProviderServer) -> None:
        # An edited copy of a recorded body: Shodan lists CVE ids at the top and keys them per banner.
        body = json.loads((DATA / "140.82.121.4_shodan.json").read_text())
        body["vulns"] = ["CVE-2021-41617", "CVE-2016-20012"]
        body["data"][0]["vulns"] = {"CVE-2021-23017": {"cvss": 7.5, "verified": False}}
        provider.reply(path(GITHUB), Reply(200, json.dumps(body).encode()))
        assert found(enricher(provider), GITHUB)["vulns"] == ["CVE-2016-20012", "CVE-2021-23017",
                                                              "CVE-2021-41617"]

    def test_request_uses_the_configured_url(self, provider: ProviderServer) -> None:
        serve_hosts(provider)
        found(enricher(provider, url=provider.url + "/"), CLOUDFLARE)
        (request,) = provider.calls()
        assert (request.method, request.path) == ("GET", path(CLOUDFLARE))
        assert request.query == f"key={KEY}"  # Shodan takes the key only as a query parameter

    def test_not_found(self, provider: ProviderServer) -> None:
        serve_hosts(provider)
        assert lookup_then_close(enricher(provider), UNKNOWN) == NotFound()

    def test_not_an_address_is_not_sent(self, provider: ProviderServer) -> None:
        assert lookup_then_close(enricher(provider), "../api-info") == Failed("not an IP address")
        assert provider.calls() == []


class TestFailures:
    def test_wrong_key(self, provider: ProviderServer, caplog: pytest.LogCaptureFixture) -> None:
        provider.reply(path(CLOUDFLARE), Reply(401, b'{"error": "Invalid API key"}'))
        source = enricher(provider)
        with caplog.at_level(logging.WARNING):
            outcomes = run_then_close(source, lambda e: asyncio.gather(e.lookup(CLOUDFLARE), e.lookup(CLOUDFLARE)))
        assert list(outcomes) == [Failed("unauthorized"), Failed("unauthorized")]
        assert len(caplog.records) == 1 and "API key" in caplog.text  # logged once

    def test_wrong_key_html_page(self, provider: ProviderServer) -> None:
        provider.reply(path(CLOUDFLARE), Reply(401, b"<html><body>401 Unauthorized</body></html>",
                                               {"Content-Type": "text/html"}))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed("unauthorized")

    def test_rate_limit_with_retry_after_seconds(self, provider: ProviderServer) -> None:
        provider.reply(path(CLOUDFLARE), Reply(429, b'{"error": "Rate limit reached"}',
                                               {"Content-Type": "application/json", "Retry-After": "7"}))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed("http 429", 7.0)

    def test_rate_limit_with_retry_after_date(self, provider: ProviderServer) -> None:
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
        provider.reply(path(CLOUDFLARE), Reply(429, b"Too Many Requests", {"Retry-After": when}))
        outcome = lookup_then_close(enricher(provider), CLOUDFLARE)
        assert isinstance(outcome, Failed) and outcome.reason == "http 429"
        assert outcome.retry_after is not None and 20 < outcome.retry_after <= 30

    @pytest.mark.parametrize(("status", "body"), [(500, b"<html>Internal Server Error</html>"),
                                                  (502, b"<html>Bad Gateway</html>"),
                                                  (503, b'{"error": "Service unavailable"}'),
                                                  (403, b"<html>Forbidden</html>")])
    def test_http_errors(self, provider: ProviderServer, status: int, body: bytes) -> None:
        provider.reply(path(CLOUDFLARE), Reply(status, body))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed(f"http {status}")

    @pytest.mark.parametrize("body", [b'{"ip_str": "1.1.1.1", "ports": [53', b"[1, 2, 3]"])
    def test_malformed_body(self, provider: ProviderServer, body: bytes) -> None:
        provider.reply(path(CLOUDFLARE), Reply(200, body))
        assert lookup_then_close(enricher(provider), CLOUDFLARE) == Failed("malformed response")

    def test_hang_times_out(self, provider: ProviderServer) -> None:
        provider.reply(path(CLOUDFLARE), Reply(gate=threading.Event()))  # answers only when the test ends
        started = time.monotonic()
        assert lookup_then_close(enricher(provider, timeout=0.2), CLOUDFLARE) == Failed("timeout")
        assert time.monotonic() - started >= 0.2

    def test_unreachable(self, provider: ProviderServer) -> None:
        source = enricher(provider, url=f"http://127.0.0.1:{closed_port()}")
        assert lookup_then_close(source, CLOUDFLARE) == Failed("unreachable")

    def test_key_never_in_reasons_or_logs(self, provider: ProviderServer,
                                          caplog: pytest.LogCaptureFixture) -> None:
        provider.reply(path("8.8.8.8"), Reply(401, b'{"error": "Invalid API key"}'))
        provider.reply(path("8.8.4.4"), Reply(429, b'{"error": "Rate limit reached"}', {"Retry-After": "1"}))
        provider.reply(path("9.9.9.9"), Reply(500, b"oops"))
        provider.reply(path("9.9.9.10"), Reply(200, b"{"))
        provider.reply(path("1.0.0.1"), Reply(hang=1.0))
        values = ["8.8.8.8", "8.8.4.4", "9.9.9.9", "9.9.9.10", "1.0.0.1"]
        caplog.set_level(logging.DEBUG, logger="pipeline")
        with caplog.at_level(logging.INFO):
            outcomes = run_then_close(enricher(provider, timeout=0.2),
                           lambda e: asyncio.gather(*(e.lookup(v) for v in values)))
        assert all(isinstance(o, Failed) for o in outcomes)
        assert not any(KEY in repr(o) for o in outcomes)
        assert KEY not in caplog.text


class TestConcurrency:
    def test_at_most_max_in_flight(self, provider: ProviderServer) -> None:
        serve_hosts(provider)
        provider.reply(path(CLOUDFLARE), Reply(200, (DATA / "1.1.1.1_shodan.json").read_bytes(), hang=0.3))
        done: dict[str, float] = {}

        async def timed(source: ShodanEnricher, value: str) -> None:
            assert isinstance(await source.lookup(value), Found)
            done[value] = time.monotonic()

        async def both(source: ShodanEnricher) -> None:
            # gather starts them in order: the slow lookup takes the only slot first.
            await asyncio.gather(timed(source, CLOUDFLARE), timed(source, GITHUB))

        run_then_close(enricher(provider, max_in_flight=1), both)
        assert done[GITHUB] > done[CLOUDFLARE]  # the fast lookup waited for the slow one's slot

    def test_slot_kept_until_the_timed_out_thread_returns(self, provider: ProviderServer) -> None:
        provider.reply(path("1.0.0.1"), Reply(gate=threading.Event()))  # never answers while the test runs
        serve_hosts(provider)

        async def use(source: ShodanEnricher) -> tuple[Outcome, bool, Outcome]:
            timed_out = await source.lookup("1.0.0.1")
            held = source._slots.locked()  # the worker thread still waits on the silent server
            await asyncio.gather(*source._running)  # requests' own timeout ends it
            return timed_out, held, await source.lookup(CLOUDFLARE)

        # The thread's own timeout is twice the lookup's: with 1 s, `held` is read a whole second before
        # the thread can give its slot back, however slow the machine is to resume the event loop.
        timed_out, held, after = run_then_close(enricher(provider, timeout=1.0, max_in_flight=1), use)
        assert timed_out == Failed("timeout")
        assert held
        assert isinstance(after, Found)


    def test_max_in_flight_calls_at_once_even_beyond_asyncios_default_thread_pool(self) -> None:
        """asyncio.to_thread's pool has at most 32 threads (6 on 2 cores): 40 calls must not wait for it."""
        calls = 40
        gate = threading.Event()

        class AllAtOnce(ProviderServer):
            """Answers only once ``calls`` requests are waiting at the same time."""

            def _record(self, request: Any) -> Reply:
                reply = super()._record(request)
                if len(self.calls()) >= calls:
                    gate.set()
                return reply

        server = AllAtOnce(default=Reply(200, (DATA / "140.82.121.4_shodan.json").read_bytes(), gate=gate)).start()
        try:
            async def all_at_once(source: ShodanEnricher) -> list[Outcome]:
                return list(await asyncio.gather(*(source.lookup(f"140.82.121.{n}") for n in range(calls))))

            outcomes = run_then_close(enricher(server, max_in_flight=calls, timeout=30.0), all_at_once)
        finally:
            server.stop()
        assert all(isinstance(outcome, Found) for outcome in outcomes), outcomes[:3]


class TestPureParts:
    def test_targets_are_public_addresses_only(self) -> None:
        source = ShodanEnricher(ShodanSettings(api_key=SecretStr(KEY)), AddressClassifier())
        event = {"source": {"ip": "10.1.2.3"}, "destination": {"ip": CLOUDFLARE},
                 "client": {"ip": "192.0.2.1"}, "server": {"ip": "2606:4700:4700::1111"}}
        assert list(source.targets(event)) == [Target("destination", CLOUDFLARE),
                                               Target("server", "2606:4700:4700::1111")]
        assert list(source.targets({"source": {"ip": "127.0.0.1"}})) == []

    def test_fragment_goes_under_the_custom_namespace(self) -> None:
        source = ShodanEnricher(ShodanSettings(api_key=SecretStr(KEY)), AddressClassifier())
        data = {"ports": [22, 443], "org": "GitHub, Inc."}
        assert source.fragment(Target("source", GITHUB), Found(data)) == {
            "botes": {"source": {"shodan": {"ports": [22, 443], "org": "GitHub, Inc."}}}}

    def test_summary_rows_and_markdown(self, provider: ProviderServer) -> None:
        serve_hosts(provider)
        source = enricher(provider)
        outcome = lookup_then_close(source, GITHUB)
        assert isinstance(outcome, Found)
        rows = dict(source.summary_rows(outcome))
        assert rows["open ports"] == [22, 80, 443, 9418]
        assert rows["organisation"] == "GitHub, Inc."
        assert rows["AS number"] == 36459
        markdown = scot_enrichment(source, GITHUB, outcome)["data"]["markdown"]
        assert "| open ports | 22, 80, 443, 9418 |" in markdown
        assert "| OS |" not in markdown  # empty rows are left out

    def test_no_key_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match="shodan.api_key"):
            ShodanEnricher(ShodanSettings(), AddressClassifier())


def test_chain_enriches_source_and_destination(provider: ProviderServer) -> None:
    serve_hosts(provider)
    provider.reply(path("8.8.8.8"), Reply(429, b'{"error": "Rate limit reached"}', {"Retry-After": "3"}))
    event: dict[str, Any] = {"source": {"ip": GITHUB}, "destination": {"ip": CLOUDFLARE},
                             "client": {"ip": "8.8.8.8"}}

    async def enrich(source: ShodanEnricher) -> dict[str, Any]:
        return await EnrichmentChain([source]).enrich(event)

    enriched = run_then_close(enricher(provider), enrich)
    assert get_path(enriched, "botes.source.shodan.ports") == [22, 80, 443, 9418]
    assert get_path(enriched, "botes.destination.shodan.hostnames") == ["one.one.one.one"]
    assert get_path(enriched, "botes.enrichment.failures") == [
        {"source": "shodan", "field": "client.ip", "reason": "http 429"}]
