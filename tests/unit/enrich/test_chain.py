"""pipeline.enrich.chain: runs enrichers on one event, merges what they find, records what failed."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Iterable
from typing import Any

import pytest

from pipeline.addresses import AddressClassifier
from pipeline.config import AssetsSettings, GeoIPSettings
from pipeline.enrich.assets import AssetsEnricher
from pipeline.enrich.chain import FAILURES_FIELD, EnrichmentChain, merge_into
from pipeline.enrich.geoip import GeoIPEnricher
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target, get_path


class TableEnricher:
    """A real enricher over a dict: value -> outcome. Counts lookups; targets every *.ip it is told to."""

    def __init__(self, name: str, answers: dict[str, Outcome],
                 fields: Iterable[str] = ("source", "destination")) -> None:
        self.name = name
        self.answers = answers
        self.fields = tuple(fields)
        self.calls: list[str] = []
        self.closed = False

    def targets(self, event: Event) -> Iterable[Target]:
        for field in self.fields:
            value = get_path(event, f"{field}.ip")
            if isinstance(value, str):
                yield Target(field, value, f"{field}.ip")

    async def lookup(self, value: str) -> Outcome:
        self.calls.append(value)
        return self.answers.get(value, NotFound())

    def fragment(self, target: Target, found: Found) -> Event:
        return {target.field: {self.name: found.data}}

    async def aclose(self) -> None:
        self.closed = True


class RaisingEnricher(TableEnricher):
    """A source with a bug: every lookup raises."""

    async def lookup(self, value: str) -> Outcome:
        self.calls.append(value)
        raise KeyError(value)


def enrich(chain: EnrichmentChain, event: Event) -> Event:
    return asyncio.run(chain.enrich(event))


def event_with(source: str | None = None, destination: str | None = None) -> Event:
    event: Event = {"@timestamp": "2016-08-10T21:00:00.000Z"}
    if source:
        event["source"] = {"ip": source, "port": 1234}
    if destination:
        event["destination"] = {"ip": destination, "port": 53}
    return event


class TestOutcomes:
    def test_found_is_merged(self) -> None:
        fake = TableEnricher("fake", {"8.8.8.8": Found({"label": "dns"})})
        event = enrich(EnrichmentChain([fake]), event_with("10.0.0.1", "8.8.8.8"))
        assert event["destination"] == {"ip": "8.8.8.8", "port": 53, "fake": {"label": "dns"}}
        assert event["source"] == {"ip": "10.0.0.1", "port": 1234}
        assert get_path(event, FAILURES_FIELD) is None

    def test_not_found_adds_nothing(self) -> None:
        before = event_with("10.0.0.1", "8.8.8.8")
        fake = TableEnricher("fake", {})
        after = enrich(EnrichmentChain([fake]), copy.deepcopy(before))
        assert after == before
        assert fake.calls == ["10.0.0.1", "8.8.8.8"]

    def test_failed_is_recorded_with_source_field_and_reason(self) -> None:
        fake = TableEnricher("fake", {"8.8.8.8": Failed("timeout"), "10.0.0.1": Found({"x": 1})})
        event = enrich(EnrichmentChain([fake]), event_with("10.0.0.1", "8.8.8.8"))
        assert get_path(event, FAILURES_FIELD) == [
            {"source": "fake", "field": "destination.ip", "reason": "timeout"}]
        assert event["source"]["fake"] == {"x": 1}
        assert "fake" not in event["destination"]

    def test_exception_becomes_failed_and_the_event_goes_on(self, caplog: pytest.LogCaptureFixture) -> None:
        broken = RaisingEnricher("broken", {})
        after = TableEnricher("after", {"8.8.8.8": Found({"ok": True})})
        chain = EnrichmentChain([broken, after])
        with caplog.at_level(logging.ERROR, logger="pipeline.enrich.chain"):
            event = enrich(chain, event_with(destination="8.8.8.8"))
            enrich(chain, event_with(destination="8.8.4.4"))
        assert get_path(event, FAILURES_FIELD) == [
            {"source": "broken", "field": "destination.ip", "reason": "error: KeyError"}]
        assert event["destination"]["after"] == {"ok": True}  # later enrichers still ran
        # Logged once per enricher, not once per lookup.
        assert len([r for r in caplog.records if "broken" in r.getMessage()]) == 1

    def test_failures_from_several_enrichers_accumulate(self) -> None:
        one = TableEnricher("one", {"8.8.8.8": Failed("rate limited", retry_after=30.0)})
        two = TableEnricher("two", {"10.0.0.1": Failed("timeout")})
        event = enrich(EnrichmentChain([one, two]), event_with("10.0.0.1", "8.8.8.8"))
        assert get_path(event, FAILURES_FIELD) == [
            {"source": "one", "field": "destination.ip", "reason": "rate limited"},
            {"source": "two", "field": "source.ip", "reason": "timeout"},
        ]


class TestLookups:
    def test_duplicate_values_are_looked_up_once(self) -> None:
        fake = TableEnricher("fake", {"10.0.0.1": Found({"n": 1})})
        event = enrich(EnrichmentChain([fake]), event_with("10.0.0.1", "10.0.0.1"))
        assert fake.calls == ["10.0.0.1"]
        assert event["source"]["fake"] == {"n": 1}
        assert event["destination"]["fake"] == {"n": 1}

    def test_duplicate_failed_value_is_recorded_for_each_field(self) -> None:
        fake = TableEnricher("fake", {"10.0.0.1": Failed("timeout")})
        event = enrich(EnrichmentChain([fake]), event_with("10.0.0.1", "10.0.0.1"))
        assert fake.calls == ["10.0.0.1"]
        assert [f["field"] for f in get_path(event, FAILURES_FIELD)] == ["source.ip", "destination.ip"]

    def test_no_targets_no_lookup(self) -> None:
        fake = TableEnricher("fake", {})
        event = enrich(EnrichmentChain([fake]), {"message": "no addresses"})
        assert fake.calls == []
        assert event == {"message": "no addresses"}

    def test_enrichers_run_in_order_and_see_earlier_results(self) -> None:
        class ServerFinder(TableEnricher):
            """Writes server.ip, which the next enricher targets: it only has work if it runs after."""

            def fragment(self, target: Target, found: Found) -> Event:
                return {"server": {"ip": found.data["server_ip"]}}

        first = ServerFinder("first", {"8.8.8.8": Found({"server_ip": "9.9.9.9"})}, fields=["destination"])
        second = TableEnricher("second", {"9.9.9.9": Found({"seen": True})}, fields=["server"])
        event = enrich(EnrichmentChain([first, second]), event_with(destination="8.8.8.8"))
        assert second.calls == ["9.9.9.9"]
        assert event["server"] == {"ip": "9.9.9.9", "second": {"seen": True}}

        # The other way round, "second" runs before server.ip exists and finds nothing to look up.
        second.calls.clear()
        enrich(EnrichmentChain([second, first]), event_with(destination="8.8.8.8"))
        assert second.calls == []

    def test_empty_chain_returns_the_event(self) -> None:
        event = event_with("10.0.0.1")
        assert enrich(EnrichmentChain([]), event) is event

    def test_aclose_closes_every_enricher(self) -> None:
        a, b = TableEnricher("a", {}), TableEnricher("b", {})
        asyncio.run(EnrichmentChain([a, b]).aclose())
        assert a.closed and b.closed


class TestMergeInto:
    def test_deep_merge(self) -> None:
        event: dict[str, Any] = {"source": {"ip": "1.2.3.4", "geo": {"city_name": "X"}}, "keep": 1}
        merge_into(event, {"source": {"geo": {"country_iso_code": "GB"}, "as": {"number": 1}}})
        assert event == {"source": {"ip": "1.2.3.4", "geo": {"city_name": "X", "country_iso_code": "GB"},
                                    "as": {"number": 1}}, "keep": 1}

    def test_fragment_wins_on_scalar_conflict(self) -> None:
        event: dict[str, Any] = {"source": {"geo": {"city_name": "old"}}}
        merge_into(event, {"source": {"geo": {"city_name": "new"}}})
        assert event == {"source": {"geo": {"city_name": "new"}}}

    def test_lists_add_up_without_repeats(self) -> None:
        first = {"indicator": {"provider": "list-a"}}
        second = {"indicator": {"provider": "virustotal"}}
        event: dict[str, Any] = {"threat": {"enrichments": [first]}}
        merge_into(event, {"threat": {"enrichments": [second, first]}})
        assert event == {"threat": {"enrichments": [first, second]}}

    def test_object_replaces_scalar(self) -> None:
        event: dict[str, Any] = {"source": "1.2.3.4"}
        merge_into(event, {"source": {"ip": "1.2.3.4"}})
        assert event == {"source": {"ip": "1.2.3.4"}}


class TestWithRealEnrichers:
    def test_assets_for_internal_and_geoip_for_public(self) -> None:
        classifier = AddressClassifier()
        geoip = GeoIPEnricher(GeoIPSettings(), classifier)
        chain = EnrichmentChain([AssetsEnricher(AssetsSettings(), classifier), geoip])
        try:
            event = enrich(chain, event_with("192.168.250.70", "89.160.20.112"))
        finally:
            asyncio.run(chain.aclose())
        assert event["botes"]["source"]["asset"]["hostname"] == "imreallynotbatman.com"
        assert "destination" not in event["botes"]        # public: no asset lookup
        assert "geo" not in event["source"]               # internal: no GeoIP
        assert event["destination"]["geo"]["city_name"] == "Linköping"
        assert event["destination"]["as"] == {"number": 29518, "organization": {"name": "Bredband2 AB"}}
        assert event["destination"]["port"] == 53         # merged, not replaced
        assert get_path(event, FAILURES_FIELD) is None
