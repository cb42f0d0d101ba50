"""pipeline.enrich.chain: runs enrichers on one event, merges what they find, records what failed."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Iterable
from typing import Any

import pytest

from pipeline.addresses import AddressClassifier
from pipeline.config import AssetsSettings, GeoIPSettings
from pipeline.enrich.assets import AssetsEnricher
from pipeline.enrich.chain import FAILURES_FIELD, EnrichmentChain, Progress, mark_chain_error, merge_into
from pipeline.enrich.geoip import GeoIPEnricher
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target, encode_event, get_path


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


class InMemoryEnricher(TableEnricher):
    """A local source: answers in memory (``answer_now``); ``lookup`` would work too but is not needed."""

    def __init__(self, name: str, answers: dict[str, Outcome], fields: Iterable[str] = ("source", "destination"),
                 knows: Iterable[str] | None = None) -> None:
        super().__init__(name, answers, fields)
        self.knows = set(knows) if knows is not None else None  # values it can answer without I/O
        self.answered: list[str] = []

    def answer_now(self, values: list[str]) -> dict[str, Outcome] | None:
        if self.knows is not None and not set(values) <= self.knows:
            return None
        self.answered.extend(values)
        return {value: self.answers.get(value, NotFound()) for value in values}


class GatedEnricher(TableEnricher):
    """A source with I/O whose lookups all wait at one barrier: they finish only if they run at the same time."""

    def __init__(self, name: str, answers: dict[str, Outcome], barrier: asyncio.Barrier,
                 fields: Iterable[str] = ("destination",)) -> None:
        super().__init__(name, answers, fields)
        self.barrier = barrier

    async def lookup(self, value: str) -> Outcome:
        self.calls.append(value)
        await self.barrier.wait()
        return self.answers.get(value, NotFound())


class TestInMemoryPath:
    def test_a_warm_event_is_enriched_without_the_event_loop(self) -> None:
        local = InMemoryEnricher("local", {"8.8.8.8": Found({"n": 1}), "10.0.0.1": Failed("broken list")})
        chain = EnrichmentChain([local])
        progress = chain.enrich_now(event_with("10.0.0.1", "8.8.8.8"))  # no asyncio.run: nothing awaited
        event = chain.done(progress)
        assert event is not None
        assert event["destination"]["local"] == {"n": 1}
        assert get_path(event, FAILURES_FIELD) == [{"source": "local", "field": "source.ip", "reason": "broken list"}]
        assert local.calls == []  # lookup never called

    def test_stops_at_the_first_source_that_needs_io_and_finish_does_the_rest(self) -> None:
        first = InMemoryEnricher("first", {"8.8.8.8": Found({"a": 1})})
        second = InMemoryEnricher("second", {"8.8.8.8": Found({"b": 2})}, knows=[])
        third = InMemoryEnricher("third", {"8.8.8.8": Found({"c": 3})})
        chain = EnrichmentChain([first, second, third])
        progress = chain.enrich_now(event_with(destination="8.8.8.8"))
        assert progress.position == 1 and chain.done(progress) is None
        event = asyncio.run(chain.finish(progress))
        assert event["destination"] == {"ip": "8.8.8.8", "port": 53, "first": {"a": 1}, "second": {"b": 2},
                                        "third": {"c": 3}}
        assert (first.calls, second.calls) == ([], ["8.8.8.8"])

    def test_same_result_as_one_source_after_the_other(self) -> None:
        answers = {"8.8.8.8": Found({"x": [1]}), "10.0.0.1": Failed("timeout"), "9.9.9.9": Found({"y": 2})}
        event = event_with("10.0.0.1", "8.8.8.8")
        slow = enrich(EnrichmentChain([TableEnricher("a", answers), TableEnricher("b", answers)]),
                      copy.deepcopy(event))
        fast = enrich(EnrichmentChain([InMemoryEnricher("a", answers), InMemoryEnricher("b", answers)]),
                      copy.deepcopy(event))
        assert fast == slow

    def test_sources_that_need_io_are_looked_up_concurrently(self) -> None:
        async def run() -> Event:
            barrier = asyncio.Barrier(2)  # passed only when both lookups are waiting at once
            chain = EnrichmentChain([GatedEnricher("one", {"8.8.8.8": Found({"a": 1})}, barrier),
                                     GatedEnricher("two", {"8.8.8.8": Found({"b": 2})}, barrier)])
            return await asyncio.wait_for(chain.enrich(event_with(destination="8.8.8.8")), timeout=30)

        event = asyncio.run(run())
        assert event["destination"]["one"] == {"a": 1} and event["destination"]["two"] == {"b": 2}

    def test_a_bug_in_the_in_memory_path_falls_back_to_lookups(self, caplog: pytest.LogCaptureFixture) -> None:
        class Broken(InMemoryEnricher):
            def answer_now(self, values: list[str]) -> dict[str, Outcome] | None:
                raise RuntimeError("bug")

        broken = Broken("broken", {"8.8.8.8": Found({"ok": True})})
        with caplog.at_level(logging.ERROR, logger="pipeline.enrich.chain"):
            event = enrich(EnrichmentChain([broken]), event_with(destination="8.8.8.8"))
        assert event["destination"]["broken"] == {"ok": True}
        assert broken.calls == ["8.8.8.8"]
        assert any("broken" in r.getMessage() for r in caplog.records)

    def test_a_shared_answer_is_never_changed_through_an_event(self) -> None:
        shared = Found({"tags": ["a"], "geo": {"city": "X"}})
        local = InMemoryEnricher("local", {"8.8.8.8": shared})
        chain = EnrichmentChain([local])
        first = enrich(chain, event_with(destination="8.8.8.8"))
        first["destination"]["local"]["tags"].append("changed")
        first["destination"]["local"]["geo"]["city"] = "Y"
        second = enrich(chain, event_with(destination="8.8.8.8"))
        assert shared.data == {"tags": ["a"], "geo": {"city": "X"}}
        assert second["destination"]["local"] == {"tags": ["a"], "geo": {"city": "X"}}


class TestHandedOn:
    """An event part way through the chain crosses to another operator as JSON (embedded mode's NEEDS_IO)."""

    def test_a_progress_record_finishes_as_the_event_enriched_in_one_go(self) -> None:
        answers: dict[str, Outcome] = {"8.8.8.8": Found({"b": 2}), "10.0.0.1": Failed("timeout")}

        def chain() -> EnrichmentChain:
            return EnrichmentChain([InMemoryEnricher("first", {"10.0.0.1": Failed("broken list")}),
                                    InMemoryEnricher("second", answers, knows=[])])

        event = event_with("10.0.0.1", "8.8.8.8")
        event["big"] = 2**70  # beyond 64 bits: must come back exact
        progress = chain().enrich_now(copy.deepcopy(event))
        assert progress.position == 1 and progress.failures  # the first source's failure travels with it
        handed_on = Progress.from_record(json.loads(encode_event(progress.as_record())))
        finished = asyncio.run(chain().finish(handed_on))
        assert finished == enrich(chain(), copy.deepcopy(event))
        assert [(f["source"], f["field"]) for f in get_path(finished, FAILURES_FIELD)] == [
            ("first", "source.ip"), ("second", "source.ip")]
        assert finished["big"] == 2**70 and finished["destination"]["second"] == {"b": 2}

    def test_an_event_the_chain_broke_on_keeps_its_failures_and_gets_a_marker(self) -> None:
        event = event_with(destination="8.8.8.8")
        event["botes"] = {"enrichment": {"failures": [{"source": "geoip", "field": "x", "reason": "timeout"}]}}
        marked = mark_chain_error(event, TypeError("hostile"))
        assert get_path(marked, FAILURES_FIELD) == [
            {"source": "geoip", "field": "x", "reason": "timeout"},
            {"source": "enrichment", "field": "", "reason": "error: TypeError"}]
