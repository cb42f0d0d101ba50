"""normalize.stream: the Splunk Stream family's prepare and finish steps, and its source types.

The records here are synthetic, made up for these tests (as are those in tests/golden/stream-*).
"""

from __future__ import annotations

import csv
from typing import Any

import pytest

from pipeline.config import bundled_data
from pipeline.events import Event
from pipeline.normalize.ecs import ecs_schema
from pipeline.normalize.maps import map_names
from pipeline.normalize.sources import resolve_source_type
from pipeline.normalize.stream import (
    SOURCES,
    StreamFinish,
    finish_dns,
    finish_http,
    finish_icmp,
    finish_stream_flow,
    finish_tls,
    prepare_stream,
)

# --- the source types -------------------------------------------------------------------------------------


def test_there_is_one_source_type_per_stream_map() -> None:
    assert sorted(s.name for s in SOURCES) == [n for n in map_names() if n.startswith("stream-")]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_each_source_type_is_in_the_stream_family_with_its_splunk_spelling(source: Any) -> None:
    protocol = source.name.removeprefix("stream-")
    assert source.family == "stream"
    assert source.module == "splunk_stream"
    assert source.observer == {"vendor": "Splunk", "product": "Stream", "type": "sensor"}
    assert source.aliases == (f"stream:{protocol}",)
    assert resolve_source_type(f"Stream:{protocol.upper()}") is source


def test_every_stream_override_targets_an_ecs_field_or_the_custom_namespace() -> None:
    """A misspelt ECS target would silently move under botes.*; every row must mean what it says."""
    schema = ecs_schema()
    with bundled_data("field_overrides.csv").open(encoding="utf-8", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["source_type"].startswith("stream-")]
    assert rows
    stray = [(r["source_type"], r["original"], r["ecs"]) for r in rows
             if r["ecs"] != "@timestamp" and not r["ecs"].startswith("botes.") and not schema.is_field(r["ecs"])]
    assert not stray
    assert all(r["reason"].strip() for r in rows)


# --- prepare ----------------------------------------------------------------------------------------------


def test_arrays_take_the_splunk_multi_value_spelling() -> None:
    prepared = prepare_stream({"query": ["a.example"], "ttl{}": [60], "reply_code": "NoError"})
    assert prepared == {"query{}": ["a.example"], "ttl{}": [60], "reply_code": "NoError"}


def test_an_array_of_objects_becomes_one_array_per_member() -> None:
    prepared = prepare_stream({"varbind_list": [{"oid": "1.3.6.1", "value": "x"}, {"oid": "1.3.6.2"}]})
    assert prepared == {"varbind_list{}.oid": ["1.3.6.1", "1.3.6.2"], "varbind_list{}.value": ["x"]}


@pytest.mark.parametrize("record, kept", [
    ({"timestamp": "2016-08-10T21:00:00.123456Z", "_time": 1470862800.123, "time": "x"}, "timestamp"),
    ({"_time": 1470862800.123, "time": "2016-08-10T21:00:00Z"}, "_time"),
    ({"time": "2016-08-10T21:00:00Z"}, "time"),
    ({"timestamp": "", "_time": 1470862800}, "_time"),
])
def test_one_event_time_is_kept_the_most_precise(record: dict[str, Any], kept: str) -> None:
    prepared = prepare_stream(record)
    assert [k for k in ("timestamp", "_time", "time") if k in prepared and prepared[k] != ""] == [kept]


@pytest.mark.parametrize("value, iso", [
    ("Wed, 10 Aug 2016 21:40:05 GMT", "2016-08-10T21:40:05Z"),
    ("Wed, 10 Aug 2016 14:40:05 -0700", "2016-08-10T21:40:05Z"),
    ("Jun  4 00:00:00 2016 GMT", "2016-06-04T00:00:00Z"),
    ("2016-08-10T21:40:05Z", "2016-08-10T21:40:05Z"),  # already ISO: left for the table to convert
    ("not a date", "not a date"),
])
def test_http_and_certificate_dates_become_iso(value: str, iso: str) -> None:
    assert prepare_stream({"sc_date": value})["sc_date"] == iso
    assert prepare_stream({"ssl_validity_end": value})["ssl_validity_end"] == iso
    assert prepare_stream({"cs_date{}": [value]})["cs_date{}"] == [iso]


def test_other_fields_are_not_read_as_dates() -> None:
    assert prepare_stream({"server": "Wed, 10 Aug 2016 21:40:05 GMT"}) == {"server": "Wed, 10 Aug 2016 21:40:05 GMT"}


# --- finish: shared flow derivations ------------------------------------------------------------------------


@pytest.mark.parametrize("event, transport", [
    ({"network": {"transport": "UDP"}}, "udp"),
    ({"network": {"transport": "ICMPv6"}}, "ipv6-icmp"),
    ({"network": {"iana_number": "47"}}, "gre"),
    ({"botes": {"network": {"protocol_stack": "ip:tcp:http"}}}, "tcp"),
    ({"botes": {"network": {"protocol_stack": "ip:unknown"}}}, None),
])
def test_transport_is_lower_case_or_derived(event: Event, transport: str | None) -> None:
    finish_stream_flow(event)
    assert event.get("network", {}).get("transport") == transport


@pytest.mark.parametrize("event, default, protocol", [
    ({"network": {"protocol": "HTTP"}}, "dns", "http"),
    ({"botes": {"network": {"protocol_stack": "ip:tcp:dcerpc:mapi"}}}, None, "mapi"),
    ({"botes": {"network": {"protocol_stack": "ip:tcp"}}}, None, None),  # the transport is not a protocol
    ({"botes": {"network": {"protocol_stack": "ip:udp"}}}, "dns", "dns"),
    ({}, "sip", "sip"),
])
def test_protocol_comes_from_the_record_its_stack_or_the_source_type(event: Event, default: str | None,
                                                                     protocol: str | None) -> None:
    finish_stream_flow(event, default)
    assert event.get("network", {}).get("protocol") == protocol


def test_application_macs_and_network_type() -> None:
    event: Event = {"network": {"application": "SSL"},
                    "source": {"ip": "2001:db8::1", "mac": "00:0c:29:a1:b2:c3"},
                    "destination": {"mac": "not-a-mac"}}
    finish_stream_flow(event)
    assert event["network"] == {"application": "ssl", "type": "ipv6"}
    assert event["source"]["mac"] == "00-0C-29-A1-B2-C3"
    assert event["destination"]["mac"] == "not-a-mac"


def test_duration_is_converted_to_nanoseconds_and_start_taken_from_the_event_time() -> None:
    event: Event = {"@timestamp": "2016-08-10T21:00:00.000Z",
                    "event": {"end": "2016-08-10T21:00:01.000Z", "duration": 1000}}
    finish_stream_flow(event)
    assert event["event"] == {"end": "2016-08-10T21:00:01.000Z", "duration": 1_000_000,
                              "start": "2016-08-10T21:00:00.000Z"}


def test_no_start_without_an_end() -> None:
    event: Event = {"@timestamp": "2016-08-10T21:00:00.000Z", "event": {}}
    finish_stream_flow(event)
    assert "start" not in event["event"]


@pytest.mark.parametrize("zone, timezone", [("0", "+00:00"), ("-420", "-07:00"), ("330", "+05:30"),
                                            ("+60", "+01:00")])
def test_splunk_date_zone_minutes_become_an_ecs_offset(zone: str, timezone: str) -> None:
    event: Event = {"event": {"timezone": zone}}
    finish_stream_flow(event)
    assert event["event"]["timezone"] == timezone


def test_a_date_zone_that_names_no_zone_moves_under_botes() -> None:
    event: Event = {"event": {"timezone": "local"}}
    finish_stream_flow(event)
    assert event == {"event": {}, "botes": {"splunk": {"date_zone": "local"}}}


# --- finish: DNS --------------------------------------------------------------------------------------------


def test_parallel_answer_arrays_become_answer_objects() -> None:
    event: Event = {"dns": {"answers": {"name": ["a.example", "a.example"], "data": ["192.0.2.1", "2001:db8::1"],
                                        "ttl": [60, 60]}}}
    finish_dns(event)
    assert event["dns"] == {
        "answers": [{"name": "a.example", "data": "192.0.2.1", "ttl": 60, "type": "A"},
                    {"name": "a.example", "data": "2001:db8::1", "ttl": 60, "type": "AAAA"}],
        "resolved_ip": ["192.0.2.1", "2001:db8::1"],
    }


def test_a_given_record_type_is_kept() -> None:
    event: Event = {"dns": {"answers": {"data": ["192.0.2.1"], "type": ["A"]}}}
    finish_dns(event)
    assert event["dns"]["answers"] == [{"data": "192.0.2.1", "type": "A"}]


def test_arrays_of_different_lengths_stay_as_they_came() -> None:
    event: Event = {"dns": {"answers": {"name": ["b.example"], "data": ["192.0.2.7"], "ttl": [300, 60]}}}
    finish_dns(event)
    assert event == {"dns": {"resolved_ip": ["192.0.2.7"]},
                     "botes": {"dns": {"answers": {"name": ["b.example"], "data": ["192.0.2.7"], "ttl": [300, 60]}}}}


def test_answers_without_data_stay_as_they_came() -> None:
    event: Event = {"dns": {"answers": {"ttl": [86400]}}}
    finish_dns(event)
    assert event == {"botes": {"dns": {"answers": {"ttl": [86400]}}}}


def test_a_repeated_question_is_one_value_and_different_questions_stay_a_list() -> None:
    event: Event = {"dns": {"question": {"name": ["a.example", "a.example"], "type": ["A", "AAAA"]}}}
    finish_dns(event)
    assert event["dns"]["question"] == {"name": "a.example", "type": ["A", "AAAA"]}


@pytest.mark.parametrize("message_type, dns_type", [
    (["QUERY", "RESPONSE"], "answer"), (["RESPONSE"], "answer"), ("QUERY", "query"), (["query"], "query"),
])
def test_message_type_becomes_ecs_dns_type(message_type: Any, dns_type: str) -> None:
    event: Event = {"dns": {"type": message_type}}
    finish_dns(event)
    assert event["dns"]["type"] == dns_type


@pytest.mark.parametrize("reply, code, outcome", [("NoError", "NOERROR", "success"),
                                                  ("NXDomain", "NXDOMAIN", "failure"),
                                                  ("ServFail", "SERVFAIL", "failure")])
def test_response_code_and_outcome(reply: str, code: str, outcome: str) -> None:
    event: Event = {"dns": {"response_code": reply}}
    finish_dns(event)
    assert event == {"dns": {"response_code": code}, "event": {"outcome": outcome}}


# --- finish: HTTP -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("site, domain, port", [
    ("www.example.com", "www.example.com", None),
    ("www.example.com:8080", "www.example.com", 8080),
    ("[2001:db8::80]:8443", "2001:db8::80", 8443),
    ("192.0.2.10:80", "192.0.2.10", 80),
    ("www.example.com:notaport", "www.example.com:notaport", None),
])
def test_site_is_split_into_domain_and_port(site: str, domain: str, port: int | None) -> None:
    event: Event = {"url": {"domain": site}}
    finish_http(event)
    assert event["url"].get("domain") == domain
    assert event["url"].get("port") == port


def test_sites_of_a_pipelined_flow_keep_their_order_and_one_shared_port() -> None:
    event: Event = {"url": {"domain": ["a.example:81", "b.example:81"]}}
    finish_http(event)
    assert event["url"] == {"domain": ["a.example", "b.example"], "port": 81}


def test_version_path_query_and_outcome() -> None:
    event: Event = {"http": {"version": ["HTTP/1.1", "HTTP/1.0"], "response": {"status_code": [200, 302]}},
                    "url": {"original": "/a/b.php?x=1"}}
    finish_http(event)
    assert event["http"]["version"] == ["1.1", "1.0"]
    assert event["url"] == {"original": "/a/b.php?x=1", "path": "/a/b.php", "query": "x=1"}
    assert event["event"] == {"outcome": "success"}


def test_a_given_path_is_not_overwritten_and_an_error_status_is_a_failure() -> None:
    event: Event = {"http": {"response": {"status_code": 500}}, "url": {"original": "/x?y", "path": "/X"}}
    finish_http(event)
    assert event["url"] == {"original": "/x?y", "path": "/X", "query": "y"}
    assert event["event"]["outcome"] == "failure"


# --- finish: TLS and ICMP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, version, protocol", [("TLSv1.2", "1.2", "tls"), ("TLSv1", "1.0", "tls"),
                                                    ("SSLv3", "3.0", "ssl"), ("tls 1.3", "1.3", "tls")])
def test_tls_version_is_split(raw: str, version: str, protocol: str) -> None:
    event: Event = {"tls": {"version": raw}}
    finish_tls(event)
    assert event["tls"] == {"version": version, "version_protocol": protocol}


def test_an_unknown_tls_version_is_left_alone() -> None:
    event: Event = {"tls": {"version": "0x0303"}}
    finish_tls(event)
    assert event["tls"] == {"version": "0x0303"}


@pytest.mark.parametrize("network, transport", [({"type": "ipv4"}, "icmp"), ({"type": "ipv6"}, "ipv6-icmp"),
                                                ({"transport": "icmp", "type": "ipv6"}, "icmp")])
def test_icmp_records_are_icmp(network: dict[str, str], transport: str) -> None:
    event: Event = {"network": dict(network)}
    finish_icmp(event)
    assert event["network"]["transport"] == transport


def test_stream_finish_categorises_after_the_protocol_steps() -> None:
    seen: list[Event] = []
    finish = StreamFinish(("network", "web"), ("connection", "protocol"), "http", (seen.append,))
    event: Event = {}
    finish(event)
    assert seen == [event]
    assert event["event"] == {"kind": "event", "category": ["network", "web"], "type": ["connection", "protocol"]}
    assert event["network"] == {"protocol": "http"}
