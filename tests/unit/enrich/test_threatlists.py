"""pipeline.enrich.threatlists: local IP/CIDR, domain and hash lists matched into ECS threat.enrichments.

The feed files are SYNTHETIC, written by each test in the layouts public feeds publish (Spamhaus DROP's
``;`` comments, FireHOL netsets, abuse.ch text and CSV exports with a commented header, hosts files,
URL lists), using documentation addresses and example domains.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.addresses import AddressClassifier
from pipeline.config import ThreatListFeed, ThreatListsSettings, bundled_data
from pipeline.enrich.chain import EnrichmentChain
from pipeline.enrich.reloading import RELOAD_INTERVAL
from pipeline.enrich.scot import scot_enrichment
from pipeline.enrich.threatlists import Indicators, ThreatListsEnricher, load_feed, normalize_domain
from pipeline.errors import ConfigError, DependencyError
from pipeline.events import Event, Found, NotFound, Outcome, Target, iter_leaves

MD5 = "44d88612fea8a8f36de82e1278abb02f"  # the EICAR test file
SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def build(*feeds: ThreatListFeed, clock: Clock | None = None) -> ThreatListsEnricher:
    settings = ThreatListsSettings(lists=list(feeds))
    if clock is None:
        return ThreatListsEnricher(settings, AddressClassifier())
    return ThreatListsEnricher(settings, AddressClassifier(), clock=clock)


def lookup(enricher: ThreatListsEnricher, value: str) -> Outcome:
    return asyncio.run(enricher.lookup(value))


def indicators(enricher: ThreatListsEnricher, value: str) -> list[dict[str, Any]]:
    outcome = lookup(enricher, value)
    assert isinstance(outcome, Found), f"{value}: {outcome}"
    found: list[dict[str, Any]] = outcome.data["indicators"]
    return found


def ecs_fields() -> set[str]:
    with bundled_data("ecs/fields.csv").open(encoding="utf-8", newline="") as f:
        return {row["Field"] for row in csv.DictReader(f)}


@pytest.fixture
def ip_feed(tmp_path: Path) -> ThreatListFeed:
    path = write(tmp_path, "drop.txt", (
        "; Spamhaus DROP List 2024/05/01 - (c) 2024 The Spamhaus Project\n"
        "; Last-Modified: Wed, 01 May 2024 00:00:00 GMT\n"
        "203.0.113.0/24 ; SBL000001\n"
        "198.51.100.0/22 ; SBL000002\n"
        "198.51.100.128/25 ; SBL000003\n"
        "\n"
        "192.0.2.7\n"
        "10.66.0.1    # an internal host the list names\n"
        "2001:db8:bad::/48\n"
        "2001:db8::7\n"))
    return ThreatListFeed(path=path, kind="ip", name="drop")


@pytest.fixture
def domain_feed(tmp_path: Path) -> ThreatListFeed:
    path = write(tmp_path, "domains.txt", (
        "# abuse.ch-style domain list\n"
        "evil.example\n"
        "Phish.Example.COM.\n"
        "*.wild.example\n"))
    return ThreatListFeed(path=path, kind="domain", name="bad-domains")


@pytest.fixture
def hash_feed(tmp_path: Path) -> ThreatListFeed:
    path = write(tmp_path, "hashes.txt", f"# sha256, sha1 and md5 of known samples\n{SHA256}\n{SHA1.upper()}\n{MD5}\n")
    return ThreatListFeed(path=path, kind="hash", name="samples")


@pytest.fixture
def enricher(ip_feed: ThreatListFeed, domain_feed: ThreatListFeed,
             hash_feed: ThreatListFeed) -> Iterator[ThreatListsEnricher]:
    built = build(ip_feed, domain_feed, hash_feed)
    yield built
    asyncio.run(built.aclose())


class TestTextFeeds:
    def test_spamhaus_drop_and_comments(self, ip_feed: ThreatListFeed) -> None:
        found = load_feed(ip_feed, "threatlists.lists[0]")
        assert found.addresses[4] == {0xC0000207, 0x0A420001}
        assert found.networks[(4, 24)] == {0xCB007100}
        assert set(found.networks) == {(4, 24), (4, 22), (4, 25), (6, 48)}
        assert len(found.addresses[6]) == 1
        assert len(found) == 7

    def test_firehol_netset_and_host_bits(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "level1.netset", (
            "#\n# firehol_level1\n#\n# Maintainer      : FireHOL\n#\n"
            "192.0.2.77/24\n198.51.100.9/32\n")), kind="ip")
        found = load_feed(feed, "threatlists.lists[0]")
        assert found.networks == {(4, 24): {0xC0000200}}
        assert found.addresses[4] == {0xC6336409}  # a /32 is an address

    def test_ip_port_entries(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "c2.txt", "192.0.2.1:443\n"), kind="ip")
        assert load_feed(feed, "threatlists.lists[0]").addresses[4] == {0xC0000201}

    def test_hosts_file(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "hosts", (
            "# hosts-file blocklist\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n"
            "0.0.0.0 0.0.0.0\n0.0.0.0 ads.example\n127.0.0.1\ttracker.example # inline\n")), kind="domain")
        found = load_feed(feed, "threatlists.lists[0]")
        assert found.domains == {"ads.example", "tracker.example"}
        assert found.addresses == {4: set(), 6: set()}

    def test_url_list_gives_hosts(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "urls.txt", (
            "# URLhaus-style URL list\nhttp://Bad.Example:8080/bin.sh\nhttps://198.51.100.9/x.exe\n"
            "http://[2001:db8::9]/a\n")), kind="domain")
        found = load_feed(feed, "threatlists.lists[0]")
        assert found.domains == {"bad.example"}
        assert found.addresses[4] == {0xC6336409}
        assert len(found.addresses[6]) == 1

    def test_hashes_are_lower_cased(self, hash_feed: ThreatListFeed) -> None:
        assert load_feed(hash_feed, "threatlists.lists[0]").hashes == {SHA256, SHA1, MD5}

    def test_malformed_lines_are_skipped_and_counted_in_one_log_line(
            self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        path = tmp_path / "mixed.txt"
        path.write_bytes(b"# header\n192.0.2.1\n999.1.1.1\n192.0.2.0/33\nnot-an-ip\n\xff\xfe\n198.51.100.1\n")
        with caplog.at_level(logging.INFO, logger="pipeline.enrich.threatlists"):
            found = load_feed(ThreatListFeed(path=path, kind="ip"), "threatlists.lists[3]")
        assert found.addresses[4] == {0xC0000201, 0xC6336401}
        assert len(caplog.records) == 1
        message = caplog.records[0].getMessage()
        assert caplog.records[0].levelno == logging.WARNING
        assert "threatlists.lists[3]" in message and str(path) in message
        assert "2 indicators" in message and "4 malformed lines" in message and "line 3" in message

    @pytest.mark.parametrize(("kind", "bad"), [
        ("hash", "abc123"), ("hash", "g" * 32), ("hash", "a" * 33), ("domain", "-bad.example"),
        ("domain", "a..b"), ("domain", "x" * 64 + ".example"), ("ip", "1.2.3"), ("ip", "01.2.3.4"),
    ])
    def test_malformed_values(self, tmp_path: Path, kind: str, bad: str) -> None:
        feed = ThreatListFeed.model_validate({"path": write(tmp_path, "list.txt", f"{bad}\n"), "kind": kind})
        assert len(load_feed(feed, "threatlists.lists[0]")) == 0

    def test_clean_file_logs_its_count(self, ip_feed: ThreatListFeed, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.INFO, logger="pipeline.enrich.threatlists"):
            load_feed(ip_feed, "threatlists.lists[0]")
        assert [r.levelno for r in caplog.records] == [logging.INFO]
        assert "7 indicators" in caplog.records[0].getMessage()


class TestCsvFeeds:
    def test_abuse_ch_csv_with_commented_header(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "ipblocklist.csv", (
            "################################################################\n"
            "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)         #\n"
            "################################################################\n"
            "#\n"
            '# "first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"\n'
            '"2024-01-17 07:44:46","192.0.2.44","443","online","2024-05-01","QakBot"\n'
            '"2024-01-18 07:44:46","198.51.100.45","8080","offline","2024-04-01","Emotet"\n'
            "# Number of entries: 2\n")), kind="ip", format="csv", column="dst_ip")
        assert load_feed(feed, "threatlists.lists[0]").addresses[4] == {0xC000022C, 0xC633642D}

    def test_csv_with_spaces_after_commas(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "full_sha256.csv", (
            "# MalwareBazaar-style export\n"
            '# "first_seen_utc", "sha256_hash", "md5_hash"\n'
            f'"2024-05-01 00:00:00", "{SHA256}", "{MD5}"\n')), kind="hash", format="csv", column="md5_hash")
        assert load_feed(feed, "threatlists.lists[0]").hashes == {MD5}

    def test_plain_header_and_short_rows(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "domains.csv", (
            "\ufeffid,Domain,reason\n1,evil.example,phishing\n2\n3,,empty\n4,c2.example,c2\n")),
            kind="domain", format="csv", column="domain")
        with caplog.at_level(logging.WARNING, logger="pipeline.enrich.threatlists"):
            found = load_feed(feed, "threatlists.lists[0]")
        assert found.domains == {"evil.example", "c2.example"}
        assert "2 malformed lines" in caplog.text and "line 3" in caplog.text

    def test_missing_column_names_the_setting(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "x.csv", "ip,port\n192.0.2.1,80\n"), kind="ip", format="csv",
                              column="dst_ip")
        with pytest.raises(ConfigError, match=r"threatlists\.lists\[2\]\.column.*dst_ip"):
            build(ThreatListFeed(path=feed.path, kind="ip"), ThreatListFeed(path=feed.path, kind="ip"), feed)

    def test_csv_without_column_setting(self, tmp_path: Path) -> None:
        feed = ThreatListFeed(path=write(tmp_path, "x.csv", "ip\n192.0.2.1\n"), kind="ip", format="csv")
        with pytest.raises(ConfigError, match=r"threatlists\.lists\[0\]\.column"):
            build(feed)


class TestStartup:
    def test_missing_file_names_the_setting(self, ip_feed: ThreatListFeed, tmp_path: Path) -> None:
        missing = ThreatListFeed(path=tmp_path / "missing.txt", kind="domain")
        with pytest.raises(DependencyError, match=r"threatlists\.lists\[1\]\.path") as excinfo:
            build(ip_feed, missing)
        assert "missing.txt" in str(excinfo.value)

    def test_no_lists_finds_nothing(self) -> None:
        enricher = build()
        assert lookup(enricher, "192.0.2.7") == NotFound()
        assert lookup(enricher, "evil.example") == NotFound()

    def test_list_name_defaults_to_the_file_name(self, tmp_path: Path) -> None:
        enricher = build(ThreatListFeed(path=write(tmp_path, "feodo-ipblocklist.txt", "192.0.2.7\n"), kind="ip"))
        assert indicators(enricher, "192.0.2.7")[0]["provider"] == "feodo-ipblocklist"


class TestLookup:
    def test_exact_address(self, enricher: ThreatListsEnricher) -> None:
        assert indicators(enricher, "192.0.2.7") == [
            {"type": "ipv4-addr", "ip": "192.0.2.7", "name": "192.0.2.7", "provider": "drop"}]

    def test_internal_address(self, enricher: ThreatListsEnricher) -> None:
        assert indicators(enricher, "10.66.0.1")[0]["name"] == "10.66.0.1"

    def test_network_most_specific_wins(self, enricher: ThreatListsEnricher) -> None:
        assert indicators(enricher, "198.51.100.200") == [
            {"type": "ipv4-addr", "ip": "198.51.100.200", "name": "198.51.100.128/25", "provider": "drop"}]
        assert indicators(enricher, "198.51.101.1")[0]["name"] == "198.51.100.0/22"
        assert indicators(enricher, "203.0.113.99")[0]["name"] == "203.0.113.0/24"

    def test_ipv6(self, enricher: ThreatListsEnricher) -> None:
        assert indicators(enricher, "2001:DB8::7") == [
            {"type": "ipv6-addr", "ip": "2001:db8::7", "name": "2001:db8::7", "provider": "drop"}]
        assert indicators(enricher, "2001:db8:bad:1::5")[0]["name"] == "2001:db8:bad::/48"

    def test_ipv4_mapped_address(self, enricher: ThreatListsEnricher) -> None:
        assert indicators(enricher, "::ffff:192.0.2.7")[0]["ip"] == "192.0.2.7"

    def test_ipv4_network_does_not_match_ipv6_with_same_bits(self, enricher: ThreatListsEnricher) -> None:
        assert lookup(enricher, "::cb00:7101") == NotFound()  # low bits of 203.0.113.1

    @pytest.mark.parametrize("value", ["192.0.2.8", "198.51.104.1", "2001:db8::8", "10.66.0.2", "8.8.8.8"])
    def test_address_not_listed(self, enricher: ThreatListsEnricher, value: str) -> None:
        assert lookup(enricher, value) == NotFound()

    def test_domain_exact_and_parents(self, enricher: ThreatListsEnricher) -> None:
        expected = [{"type": "domain-name", "url": {"domain": "evil.example"}, "name": "evil.example",
                     "provider": "bad-domains"}]
        assert indicators(enricher, "evil.example") == expected
        assert indicators(enricher, "a.b.Evil.Example.") == expected
        assert indicators(enricher, "www.phish.example.com")[0]["name"] == "phish.example.com"
        assert indicators(enricher, "x.wild.example")[0]["name"] == "wild.example"

    @pytest.mark.parametrize("value", ["notevil.example", "example", "evil.example.org", "com", "", "-", "a..b"])
    def test_domain_not_listed(self, enricher: ThreatListsEnricher, value: str) -> None:
        assert lookup(enricher, value) == NotFound()

    @pytest.mark.parametrize(("value", "name"), [(SHA256, "sha256"), (SHA1, "sha1"), (MD5.upper(), "md5")])
    def test_hashes(self, enricher: ThreatListsEnricher, value: str, name: str) -> None:
        assert indicators(enricher, value) == [
            {"type": "file", "file": {"hash": {name: value.lower()}}, "name": value.lower(), "provider": "samples"}]

    def test_every_list_that_names_the_value(self, tmp_path: Path, ip_feed: ThreatListFeed) -> None:
        other = ThreatListFeed(path=write(tmp_path, "other.txt", "192.0.2.0/24\n"), kind="ip", name="other")
        enricher = build(ip_feed, other)
        assert [(i["provider"], i["name"]) for i in indicators(enricher, "192.0.2.7")] == [
            ("drop", "192.0.2.7"), ("other", "192.0.2.0/24")]

    def test_address_named_by_a_domain_list(self, tmp_path: Path) -> None:
        urls = ThreatListFeed(path=write(tmp_path, "urls.txt", "http://198.51.100.9/x.exe\n"), kind="domain",
                              name="urls")
        assert indicators(build(urls), "198.51.100.9")[0]["type"] == "ipv4-addr"


class TestTargets:
    def test_every_address_public_and_internal(self, enricher: ThreatListsEnricher) -> None:
        event = {"source": {"ip": "10.66.0.1"}, "destination": {"ip": "203.0.113.9"},
                 "client": {"ip": "fd00::1"}, "server": {"ip": "127.0.0.1"}, "related": {"ip": ["192.0.2.7"]}}
        assert list(enricher.targets(event)) == [
            Target("source", "10.66.0.1"), Target("destination", "203.0.113.9"), Target("client", "fd00::1"),
            Target("server", "127.0.0.1")]
        assert [t.path for t in enricher.targets(event)] == ["source.ip", "destination.ip", "client.ip", "server.ip"]

    def test_domains_and_hashes(self, enricher: ThreatListsEnricher) -> None:
        event = {"url": {"domain": "a.evil.example"}, "dns": {"question": {"name": "evil.example. "}},
                 "destination": {"domain": "c2.example"}, "source": {"domain": "ws1.corp.example"},
                 "tls": {"client": {"server_name": "phish.example.com"}},
                 "file": {"hash": {"sha256": SHA256.upper()}}, "process": {"hash": {"md5": MD5}}}
        assert list(enricher.targets(event)) == [
            Target("url.domain", "a.evil.example"), Target("dns.question.name", "evil.example."),
            Target("destination.domain", "c2.example"), Target("source.domain", "ws1.corp.example"),
            Target("tls.client.server_name", "phish.example.com"), Target("file.hash.sha256", SHA256),
            Target("process.hash.md5", MD5)]

    def test_non_strings_blanks_and_garbage_ip(self, enricher: ThreatListsEnricher) -> None:
        event = {"source": {"ip": ["192.0.2.7"], "domain": " "}, "destination": {"ip": "garbage"},
                 "url": {"domain": 42}, "client": {"ip": None}}
        assert list(enricher.targets(event)) == []


    def test_answers_in_memory_as_lookup_does(self, enricher: ThreatListsEnricher) -> None:
        values = ["192.0.2.7", "a.evil.example", SHA256, "198.51.100.1"]
        assert enricher.answer_now(values) == {value: lookup(enricher, value) for value in values}


class TestFragment:
    def test_ip_shape(self, enricher: ThreatListsEnricher) -> None:
        target = Target("destination", "198.51.100.200")
        outcome = lookup(enricher, target.value)
        assert isinstance(outcome, Found)
        assert enricher.fragment(target, outcome) == {"threat": {"enrichments": [{
            "indicator": {"type": "ipv4-addr", "ip": "198.51.100.200", "name": "198.51.100.128/25",
                          "provider": "drop"},
            "matched": {"atomic": "198.51.100.200", "field": "destination.ip", "type": "indicator_match_rule"},
        }]}}

    def test_domain_and_hash_fields_are_their_paths(self, enricher: ThreatListsEnricher) -> None:
        for target in (Target("dns.question.name", "x.evil.example"), Target("file.hash.sha1", SHA1)):
            outcome = lookup(enricher, target.value)
            assert isinstance(outcome, Found)
            [entry] = enricher.fragment(target, outcome)["threat"]["enrichments"]
            assert entry["matched"] == {"atomic": target.value, "field": target.field,
                                        "type": "indicator_match_rule"}

    def test_every_field_is_ecs(self, enricher: ThreatListsEnricher) -> None:
        fields = ecs_fields()
        for target in (Target("source", "192.0.2.7"), Target("server", "2001:db8::7"),
                       Target("url.domain", "evil.example"), Target("file.hash.md5", MD5),
                       Target("file.hash.sha1", SHA1), Target("file.hash.sha256", SHA256)):
            outcome = lookup(enricher, target.value)
            assert isinstance(outcome, Found)
            for entry in enricher.fragment(target, outcome)["threat"]["enrichments"]:
                for path, _ in iter_leaves(entry, "threat.enrichments."):
                    assert path in fields, path

    def test_fragment_does_not_share_the_found_data(self, enricher: ThreatListsEnricher) -> None:
        outcome = lookup(enricher, "evil.example")
        assert isinstance(outcome, Found)
        fragment = enricher.fragment(Target("url.domain", "evil.example"), outcome)
        fragment["threat"]["enrichments"][0]["indicator"]["url"]["domain"] = "changed"
        assert outcome.data["indicators"][0]["url"]["domain"] == "evil.example"

    def test_chain_appends_one_entry_per_field_and_list(self, tmp_path: Path, ip_feed: ThreatListFeed,
                                                        domain_feed: ThreatListFeed) -> None:
        other = ThreatListFeed(path=write(tmp_path, "other.txt", "192.0.2.0/24\n"), kind="ip", name="other")
        enricher = build(ip_feed, other, domain_feed)
        event: Event = {"source": {"ip": "192.0.2.7"}, "destination": {"ip": "192.0.2.7"},
                        "dns": {"question": {"name": "www.evil.example"}},
                        "threat": {"enrichments": [{"indicator": {"provider": "earlier"}}]}}
        asyncio.run(EnrichmentChain([enricher]).enrich(event))
        entries = event["threat"]["enrichments"]
        assert [(e["matched"]["field"], e["indicator"]["provider"]) for e in entries[1:]] == [
            ("source.ip", "drop"), ("source.ip", "other"), ("destination.ip", "drop"),
            ("destination.ip", "other"), ("dns.question.name", "bad-domains")]
        assert entries[0] == {"indicator": {"provider": "earlier"}}
        assert "botes" not in event


class TestSummary:
    def test_rows_and_scot_markdown(self, enricher: ThreatListsEnricher, tmp_path: Path) -> None:
        outcome = lookup(enricher, "198.51.100.200")
        assert isinstance(outcome, Found)
        assert enricher.summary_rows(outcome) == [("indicator type", "ipv4-addr"),
                                                  ("list drop", "198.51.100.128/25")]
        markdown = scot_enrichment(enricher, "198.51.100.200", outcome)["data"]["markdown"]
        assert "**Threat lists: 198.51.100.200**" in markdown
        assert "| list drop | 198.51.100.128/25 |" in markdown

    def test_not_found_markdown(self, enricher: ThreatListsEnricher) -> None:
        enrichment = scot_enrichment(enricher, "192.0.2.8", lookup(enricher, "192.0.2.8"))
        assert enrichment["description"] == "Threat lists has no record of 192.0.2.8"


class TestMillionIndicators:
    def test_a_million_line_list_is_sets_and_dicts(self, tmp_path: Path) -> None:
        # 900,000 addresses from 11.0.0.0 on and 100,000 /24 networks from 100.0.0.0 on; no timing is
        # asserted: the shape of the structures is what keeps a lookup O(1).
        path = tmp_path / "million.txt"
        with path.open("w", encoding="utf-8") as f:
            f.write("# generated\n")
            for i in range(1_000_000):
                if i % 10 == 0:
                    n = 0x64000000 + (i // 10 << 8)
                    f.write(f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.0/24\n")
                else:
                    n = 0x0B000000 + i
                    f.write(f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}\n")
        enricher = build(ThreatListFeed(path=path, kind="ip", name="million"))
        table: Indicators = enricher._lists[0].indicators.get()
        assert len(table) == 1_000_000
        assert type(table.addresses[4]) is set and len(table.addresses[4]) == 900_000
        assert list(table.networks) == [(4, 24)]
        assert type(table.networks[(4, 24)]) is set and len(table.networks[(4, 24)]) == 100_000
        assert indicators(enricher, "11.15.66.63")[0]["name"] == "11.15.66.63"  # the last address
        assert indicators(enricher, "101.134.159.7")[0]["name"] == "101.134.159.0/24"  # the last network
        assert lookup(enricher, "11.15.66.64") == NotFound()


class TestReload:
    def test_list_replaced_while_lookups_run(self, tmp_path: Path) -> None:
        """Lookups keep running (asyncio tasks) while the list is replaced by a larger one: every answer
        is the old one or the new one, none fails, and once the new one appears the old never comes back."""
        path = write(tmp_path, "list.txt", "192.0.2.7\n")
        clock = Clock()
        enricher = build(ThreatListFeed(path=path, kind="ip", name="c2"), clock=clock)
        old = Found({"indicators": [{"type": "ipv4-addr", "ip": "192.0.2.7", "name": "192.0.2.7",
                                     "provider": "c2"}]})
        new = Found({"indicators": [{"type": "ipv4-addr", "ip": "192.0.2.7", "name": "192.0.2.0/24",
                                     "provider": "c2"}]})
        answers = asyncio.run(_lookups_during_replace(enricher, clock, path, "192.0.2.7", new, (
            "".join(f"198.18.{i >> 8}.{i & 255}\n" for i in range(50_000)) + "192.0.2.0/24\n")))
        assert all(answer in (old, new) for answer in answers), [a for a in answers if a not in (old, new)]
        first_new = answers.index(new)
        assert old in answers[:first_new]
        assert all(answer == new for answer in answers[first_new:])

    def test_bad_csv_on_reload_keeps_the_old_list(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        path = write(tmp_path, "list.csv", "ip,note\n192.0.2.7,c2\n")
        clock = Clock()
        enricher = build(ThreatListFeed(path=path, kind="ip", format="csv", column="ip"), clock=clock)
        replacement = write(tmp_path, "list.new", "address,note\n198.51.100.1,c2\n")
        os.replace(replacement, path)
        with caplog.at_level(logging.WARNING):
            clock.now += RELOAD_INTERVAL
            assert isinstance(lookup(enricher, "192.0.2.7"), Found)
            assert enricher._lists[0].indicators.wait(timeout=10)
            assert isinstance(lookup(enricher, "192.0.2.7"), Found)
        assert lookup(enricher, "198.51.100.1") == NotFound()
        assert "threatlists.lists[0].column" in caplog.text and "keeping" in caplog.text


async def _lookups_during_replace(enricher: ThreatListsEnricher, clock: Clock, path: Path, value: str,
                                  new: Outcome, text: str) -> list[Outcome]:
    """Four tasks look ``value`` up in turn while ``path`` is replaced by ``text`` and the clock moves past
    the reload interval; returns every answer in the order they were given, once ``new`` has appeared."""
    answers: list[Outcome] = []
    stop = asyncio.Event()

    async def keep_looking() -> None:
        while not stop.is_set():
            answers.append(await enricher.lookup(value))
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(keep_looking()) for _ in range(4)]
    await asyncio.sleep(0)
    replacement = path.with_name(path.name + ".new")
    replacement.write_text(text, encoding="utf-8")
    os.replace(replacement, path)
    clock.now += RELOAD_INTERVAL
    deadline = time.monotonic() + 30  # a bound for a broken reload, not a measurement
    while new not in answers[-4:] and time.monotonic() < deadline:
        await asyncio.sleep(0)
    for _ in range(100):
        await asyncio.sleep(0)
    stop.set()
    await asyncio.gather(*tasks)
    return answers


def test_normalize_domain() -> None:
    assert normalize_domain(" WWW.Example.COM. ") == "www.example.com"
    assert normalize_domain("bücher.example") == "xn--bcher-kva.example"
    assert normalize_domain("https://user@Host.Example:8443/path") == "host.example"
    assert normalize_domain("not a domain") is None
