"""pipeline.normalize.normalizer: BOTES JSON lines -> ECS events, or Rejected with a reason.

The expected events below were built by hand from pipeline/data/botes-maps/<type>.csv with
pipeline/data/field_overrides.csv applied on top (the override row wins), field by field.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pipeline.events import Rejected, get_path
from pipeline.normalize import ECS_VERSION, Normalizer
from pipeline.normalize.normalizer import ERRORS_FIELD
from pipeline.normalize.sources import resolve_source_type


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def normalized(normalizer: Normalizer, line: str | bytes, source_type: str) -> dict[str, Any]:
    result = normalizer.normalize_line(line, source_type)
    assert not isinstance(result, Rejected), result
    return result


def without_original(event: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    del event["event"]["original"]
    return event


# --- FortiGate traffic -------------------------------------------------------------------------------

FGT_RECORD = {
    "date": "2016-08-10", "time": "11:22:33", "tz": "-0700",
    "devname": "gotham-fw01", "devid": "FGT60D4614044725", "logid": "0000000013",
    "type": "traffic", "subtype": "forward", "level": "notice", "vd": "root",
    "srcip": "192.168.250.20", "srcport": "46611", "srcintf": "internal",
    "dstip": "8.8.8.8", "dstport": "53", "dstintf": "wan1",
    "transip": "81.2.69.160", "transport": "62000",
    "sessionid": "1000000", "proto": "17", "action": "accept", "policyid": "2", "service": "DNS",
    "trandisp": "snat", "duration": "190", "sentbyte": "74657", "rcvdbyte": "728935",
    "sentpkt": "150", "rcvdpkt": "1457", "app": "DNS", "appcat": "Network.Service", "apprisk": "elevated",
    "crscore": "30", "craction": "131072",
}
FGT_LINE = json.dumps(FGT_RECORD, separators=(",", ":"))


def expected_fgt_event(line: str) -> dict[str, Any]:
    return {
        # date + time + tz joined; 11:22:33 at UTC-7 is 18:22:33 UTC
        "@timestamp": "2016-08-10T18:22:33.000Z",
        "observer": {
            "name": "gotham-fw01",                         # devname
            "hostname": "gotham-fw01",                     # devname, copied by finish_fgt_traffic
            "serial_number": "FGT60D4614044725",           # devid (override)
            "ingress": {"interface": {"name": "internal"}},  # srcintf (override)
            "egress": {"interface": {"name": "wan1"}},     # dstintf (override)
            "vendor": "Fortinet", "product": "FortiGate", "type": "firewall",  # constant per source type
        },
        "event": {
            "code": "0000000013",                          # logid (override: event.code; leading zeros kept)
            "timezone": "-07:00",                          # tz (override), in the ECS offset form
            "action": "accept",                            # action (override)
            "duration": 190_000_000_000,                   # duration (override): 190 s in nanoseconds
            "original": line,
            "dataset": "fgt_traffic",
            "module": "fortinet",
            "kind": "event",
            "category": ["network"],
            "type": ["connection", "allowed"],             # "accept" is not a deny action, nor a start/end
        },
        "log": {"level": "notice"},                        # level
        "source": {
            "ip": "192.168.250.20",                        # srcip
            "port": 46611,                                 # srcport, Long
            "nat": {"ip": "81.2.69.160", "port": 62000},   # transip; transport is the NAT port (override)
            "bytes": 74657,                                # sentbyte
            "packets": 150,                                # sentpkt
        },
        "destination": {
            "ip": "8.8.8.8",                               # dstip
            "port": 53,                                    # dstport
            "bytes": 728935,                               # rcvdbyte
            "packets": 1457,                               # rcvdpkt
        },
        "network": {
            "iana_number": "17",                           # proto (Keyword)
            "transport": "udp",                            # derived from IANA 17
            "protocol": "dns",                             # service, lower-cased
            "application": "dns",                          # app (override), lower-cased
            "bytes": 803592,                               # 74657 + 728935
            "packets": 1607,                               # 150 + 1457
        },
        "rule": {"id": "2"},                               # policyid (override, Keyword)
        "botes": {
            "unmapped": {"vd": "root"},                    # no row in the table
            "log": {"type": "traffic", "subtype": "forward"},
            "network": {"session": {"id": "1000000"},      # sessionid
                        "nat": {"type": "snat"}},          # trandisp
            "application": {"category": "Network.Service", "risk": "elevated"},
            "client": {"reputation": {"score": 30,         # crscore (Long)
                                      "action": "131072"}},  # craction (override)
        },
        "related": {"ip": ["192.168.250.20", "81.2.69.160", "8.8.8.8"]},
        "ecs": {"version": ECS_VERSION},
    }


# --- Suricata EVE --------------------------------------------------------------------------------------

SURICATA_RECORD = {
    "timestamp": "2016-08-10T21:39:41.372589+0000", "flow_id": 600000001, "in_iface": "eth1",
    "event_type": "alert", "src_ip": "192.168.2.50", "src_port": 17040,
    "dest_ip": "81.2.69.160", "dest_port": 80, "proto": "TCP", "app_proto": "http",
    "alert": {"action": "blocked", "gid": 1, "signature_id": 2012887, "rev": 3,
              "signature": "ET POLICY Http Client Body contains pass= in cleartext",
              "category": "Potential Corporate Privacy Violation", "severity": 3},
    "http": {"hostname": "imreallynotbatman.com", "url": "/joomla/index.php?option=com_login&task=login",
             "http_method": "POST", "status": 303},
    "flow": {"pkts_toserver": 5, "bytes_toserver": 900, "pkts_toclient": 4, "bytes_toclient": 1200},
}
SURICATA_LINE = json.dumps(SURICATA_RECORD)


def expected_suricata_event(line: str) -> dict[str, Any]:
    return {
        "@timestamp": "2016-08-10T21:39:41.372Z",          # timestamp (override), ms truncated
        "botes": {
            "network": {"session": {"id": "600000001"}},   # flow_id, Keyword
            "suricata": {"eve": {                          # not ECS: under the custom namespace
                "event_type": "alert",                     # event_type (override)
                "alert": {"action": "blocked", "gid": 1, "rev": 3},  # overrides
            }},
        },
        "source": {"ip": "192.168.2.50", "port": 17040,
                   "packets": 5,                           # flow.pkts_toserver (override; map said bytes)
                   "bytes": 900},                          # flow.bytes_toserver
        "destination": {"ip": "81.2.69.160", "port": 80,
                        "packets": 4, "bytes": 1200},      # flow.*_toclient
        "network": {"transport": "tcp",                    # proto, lower-cased
                    "iana_number": "6",                    # derived from the transport name
                    "protocol": "http",                    # app_proto
                    "bytes": 2100, "packets": 9},          # source + destination
        "rule": {"id": "2012887",                          # alert.signature_id (override, Keyword)
                 "name": "ET POLICY Http Client Body contains pass= in cleartext",
                 "category": "Potential Corporate Privacy Violation"},
        "event": {
            "severity": 3,                                 # alert.severity (override, Long)
            "original": line,
            "dataset": "suricata",
            "module": "suricata",
            "kind": "alert",
            "category": ["network", "intrusion_detection"],
            "type": ["denied"],                            # alert action blocked (as Elastic's integration)
        },
        "url": {"domain": "imreallynotbatman.com",        # http.hostname
                "original": "/joomla/index.php?option=com_login&task=login",  # http.url (override)
                "path": "/joomla/index.php", "query": "option=com_login&task=login"},  # derived
        "http": {"request": {"method": "POST"}, "response": {"status_code": 303}},
        "observer": {"vendor": "OISF", "product": "Suricata", "type": "ids",
                     "ingress": {"interface": {"name": "eth1"}}},  # in_iface (override)
        "related": {"ip": ["192.168.2.50", "81.2.69.160"]},
        "ecs": {"version": ECS_VERSION},
    }


def assert_event_equal(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Exact equality; related.ip is a set in ECS terms, so its order is not compared."""
    actual, expected = copy.deepcopy(actual), copy.deepcopy(expected)
    actual_related = actual.pop("related")["ip"]
    expected_related = expected.pop("related")["ip"]
    assert len(actual_related) == len(set(actual_related)), "related.ip has duplicates"
    assert sorted(actual_related) == sorted(expected_related)
    assert actual == expected


class TestFortiGate:
    def test_exact_event(self, normalizer: Normalizer) -> None:
        assert_event_equal(normalized(normalizer, FGT_LINE, "fgt_traffic"), expected_fgt_event(FGT_LINE))

    def test_ecs_version_constant(self) -> None:
        assert ECS_VERSION == "9.4.0"

    def test_date_and_time_without_tz_use_the_default_timezone(self, normalizer: Normalizer) -> None:
        line = json.dumps({"date": "2016-08-10", "time": "11:22:33", "srcip": "10.0.0.1"})
        event = normalized(normalizer, line, "fgt_traffic")
        assert event["@timestamp"] == "2016-08-10T11:22:33.000Z"
        assert get_path(event, ERRORS_FIELD) is None
        assert "date" not in event.get("botes", {}).get("unmapped", {})

    def test_default_timezone_setting(self) -> None:
        line = json.dumps({"date": "2016-08-10", "time": "11:22:33"})
        event = Normalizer(default_timezone="America/Los_Angeles").normalize_line(line, "fgt_traffic")
        assert isinstance(event, dict)
        assert event["@timestamp"] == "2016-08-10T18:22:33.000Z"  # PDT is UTC-7

    def test_tz_field_wins_over_the_default_timezone(self) -> None:
        line = json.dumps({"date": "2016-08-10", "time": "11:22:33", "tz": "+0200"})
        event = Normalizer(default_timezone="America/Los_Angeles").normalize_line(line, "fgt_traffic")
        assert isinstance(event, dict)
        assert event["@timestamp"] == "2016-08-10T09:22:33.000Z"

    def test_nanosecond_eventtime(self, normalizer: Normalizer) -> None:
        # 1470864581 s = 2016-08-10T21:29:41Z (17023 days * 86400 s + 77381 s, i.e. 21:29:41)
        line = json.dumps({"eventtime": "1470864581372589000", "srcip": "10.0.0.1"})
        assert normalized(normalizer, line, "fgt_traffic")["@timestamp"] == "2016-08-10T21:29:41.372Z"

    def test_single_digit_hour(self, normalizer: Normalizer) -> None:
        line = json.dumps({"date": "2016-08-10", "time": "9:05:00"})
        assert normalized(normalizer, line, "fgt_traffic")["@timestamp"] == "2016-08-10T09:05:00.000Z"

    @pytest.mark.parametrize(("proto", "transport"), [("6", "tcp"), ("17", "udp"), ("1", "icmp"),
                                                      ("58", "ipv6-icmp")])
    def test_transport_from_iana_number(self, normalizer: Normalizer, proto: str, transport: str) -> None:
        event = normalized(normalizer, json.dumps({"proto": proto}), "fgt_traffic")
        assert event["network"] == {"iana_number": proto, "transport": transport}

    def test_unknown_iana_number_gives_no_transport(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, json.dumps({"proto": "253"}), "fgt_traffic")
        assert event["network"] == {"iana_number": "253"}

    @pytest.mark.parametrize(("action", "types"), [
        ("deny", ["connection", "denied"]), ("Blocked", ["connection", "denied"]),
        ("close", ["connection", "end", "allowed"]), ("start", ["connection", "start", "allowed"]),
        ("accept", ["connection", "allowed"])])
    def test_event_type_follows_action(self, normalizer: Normalizer, action: str, types: list[str]) -> None:
        event = normalized(normalizer, json.dumps({"action": action}), "fgt_traffic")
        assert event["event"]["action"] == action
        assert event["event"]["type"] == types

    def test_syslog_key_value_line_gives_the_same_event_as_json(self, normalizer: Normalizer) -> None:
        line = " ".join(f'{key}="{value}"' for key, value in FGT_RECORD.items())
        event = normalized(normalizer, f"<189>{line}", "fgt_traffic")
        assert without_original(event) == without_original(normalized(normalizer, FGT_LINE, "fgt_traffic"))

    def test_splunk_alias(self, normalizer: Normalizer) -> None:
        for alias in ("fgt:traffic", "FGT:Traffic", " fgt_traffic "):
            event = normalized(normalizer, FGT_LINE, alias)
            assert event["event"]["dataset"] == "fgt_traffic"
            assert_event_equal(event, expected_fgt_event(FGT_LINE))


class TestSuricata:
    def test_exact_event(self, normalizer: Normalizer) -> None:
        assert_event_equal(normalized(normalizer, SURICATA_LINE, "suricata"),
                           expected_suricata_event(SURICATA_LINE))

    def test_nested_and_dotted_keys_give_the_same_event(self, normalizer: Normalizer) -> None:
        dotted = {k: v for k, v in SURICATA_RECORD.items() if not isinstance(v, dict)}
        for section in ("alert", "http", "flow"):
            for key, value in SURICATA_RECORD[section].items():  # type: ignore[attr-defined]
                dotted[f"{section}.{key}"] = value
        nested_event = normalized(normalizer, SURICATA_LINE, "suricata")
        dotted_event = normalized(normalizer, json.dumps(dotted), "suricata")
        assert without_original(dotted_event) == without_original(nested_event)
        assert dotted_event["rule"]["id"] == "2012887"  # not vacuous: the nested fields were mapped

    def test_splunk_alias(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, SURICATA_LINE, "suricata:eve")
        assert_event_equal(event, expected_suricata_event(SURICATA_LINE))

    def test_dns_query(self, normalizer: Normalizer) -> None:
        line = json.dumps({"timestamp": "2016-08-10T21:00:22.233433+0000", "event_type": "dns",
                           "src_ip": "192.168.250.20", "src_port": 55163, "dest_ip": "1.128.0.0",
                           "dest_port": 53, "proto": "UDP",
                           "dns": {"type": "query", "id": 15334, "rrname": "imreallynotbatman.com",
                                   "rrtype": "A"}})
        event = normalized(normalizer, line, "suricata")
        assert event["dns"] == {"type": "query", "id": "15334",
                                "question": {"name": "imreallynotbatman.com", "type": "A"}}
        assert event["network"] == {"transport": "udp", "iana_number": "17", "protocol": "dns"}
        assert event["event"]["kind"] == "event"
        assert event["event"]["category"] == ["network"]
        assert event["event"]["type"] == ["protocol"]

    def test_alert_allowed(self, normalizer: Normalizer) -> None:
        line = json.dumps({"event_type": "alert", "alert": {"action": "allowed"}})
        assert normalized(normalizer, line, "suricata")["event"]["type"] == ["allowed"]

    def test_url_without_query(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, json.dumps({"http": {"url": "/index.php"}}), "suricata")
        assert event["url"] == {"original": "/index.php", "path": "/index.php"}

    def test_url_that_urlsplit_rejects_does_not_raise(self, normalizer: Normalizer) -> None:
        line = json.dumps({"timestamp": "2016-08-10T21:00:00+0000", "event_type": "http",
                           "http": {"url": "//[x/y"}})
        event = normalized(normalizer, line, "suricata")
        assert event["url"]["original"] == "//[x/y"


class TestCommonFields:
    @pytest.mark.parametrize(("source_type", "line"), [("fgt_traffic", FGT_LINE),
                                                       ("suricata", SURICATA_LINE)])
    def test_original_dataset_and_ecs_version(self, normalizer: Normalizer, source_type: str, line: str
                                              ) -> None:
        event = normalized(normalizer, line, source_type)
        assert event["event"]["original"] == line
        assert event["event"]["dataset"] == source_type
        assert event["ecs"]["version"] == ECS_VERSION

    def test_original_drops_the_newline_only(self, normalizer: Normalizer) -> None:
        line = SURICATA_LINE + "\r\n"
        assert normalized(normalizer, line, "suricata")["event"]["original"] == SURICATA_LINE
        assert normalized(normalizer, line.encode(), "suricata")["event"]["original"] == SURICATA_LINE

    def test_bytes_and_str_give_the_same_event(self, normalizer: Normalizer) -> None:
        assert normalized(normalizer, FGT_LINE.encode(), "fgt_traffic") == \
            normalized(normalizer, FGT_LINE, "fgt_traffic")

    def test_ports_become_ints(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, json.dumps({"srcport": "46611", "dstport": " 53"}), "fgt_traffic")
        assert event["source"]["port"] == 46611 and type(event["source"]["port"]) is int
        assert event["destination"]["port"] == 53 and type(event["destination"]["port"]) is int

    def test_related_ip_is_deduplicated(self, normalizer: Normalizer) -> None:
        line = json.dumps({"src_ip": "10.0.0.1", "dest_ip": "::ffff:10.0.0.1"})
        event = normalized(normalizer, line, "suricata")
        assert event["destination"]["ip"] == "10.0.0.1"
        assert event["related"]["ip"] == ["10.0.0.1"]

    def test_no_related_ip_without_addresses(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, json.dumps({"event_type": "stats"}), "suricata")
        assert "related" not in event

    def test_empty_values_are_dropped(self, normalizer: Normalizer) -> None:
        line = json.dumps({"timestamp": "2016-08-10T21:00:00+0000", "src_ip": "", "dest_ip": None,
                           "in_iface": [], "unknown_field": ""})
        event = normalized(normalizer, line, "suricata")
        assert "source" not in event and "destination" not in event
        assert "botes" not in event

    def test_unmapped_fields_are_kept_under_botes_unmapped(self, normalizer: Normalizer) -> None:
        line = json.dumps({"timestamp": "2016-08-10T21:00:00+0000",
                           "tx_id": 0, "metadata": {"flowbits": ["a", "b"]}})
        event = normalized(normalizer, line, "suricata")
        assert event["botes"]["unmapped"] == {"tx_id": 0, "metadata": {"flowbits": ["a", "b"]}}

    def test_missing_event_time(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, json.dumps({"src_ip": "10.0.0.1"}), "suricata")
        assert event["@timestamp"].endswith("Z")
        assert any("no event time" in e for e in get_path(event, ERRORS_FIELD))

    def test_large_line(self, normalizer: Normalizer) -> None:
        payload = "A" * (5 * 1024 * 1024)
        line = json.dumps({"timestamp": "2016-08-10T21:00:00+0000", "src_ip": "10.0.0.1",
                           "payload_printable": payload})
        assert len(line) > 5 * 1024 * 1024
        event = normalized(normalizer, line, "suricata")
        assert event["botes"]["unmapped"]["payload_printable"] == payload
        assert event["event"]["original"] == line
        assert event["source"]["ip"] == "10.0.0.1"


class TestBadValues:
    def test_garbage_ip_keeps_the_event_without_the_field(self, normalizer: Normalizer) -> None:
        line = json.dumps({"timestamp": "2016-08-10T21:00:00+0000", "src_ip": "not-an-ip",
                           "src_port": 1234, "dest_ip": "8.8.8.8"})
        event = normalized(normalizer, line, "suricata")
        assert event["source"] == {"port": 1234}
        assert event["related"]["ip"] == ["8.8.8.8"]
        errors = get_path(event, ERRORS_FIELD)
        assert len(errors) == 1
        assert "src_ip" in errors[0] and "source.ip" in errors[0] and "not-an-ip" in errors[0]
        assert event["event"]["original"] == line  # the raw value is still in the record

    def test_bad_port_is_reported(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, json.dumps({"srcport": "http", "srcip": "10.0.0.1"}), "fgt_traffic")
        assert event["source"] == {"ip": "10.0.0.1"}
        assert any("srcport -> source.port" in e for e in get_path(event, ERRORS_FIELD))

    def test_good_event_has_no_errors(self, normalizer: Normalizer) -> None:
        assert get_path(normalized(normalizer, FGT_LINE, "fgt_traffic"), ERRORS_FIELD) is None

    @pytest.mark.parametrize("value", ["NaN", "-99999999999", "1" + "0" * 400])
    def test_out_of_range_timestamp_is_a_field_error(self, normalizer: Normalizer, value: str) -> None:
        # (1e400, the infinite loop, is covered in test_convert.py under a time guard.)
        line = '{"timestamp": ' + value + ', "src_ip": "10.0.0.1"}'
        event = normalized(normalizer, line, "suricata")
        assert event["source"]["ip"] == "10.0.0.1"
        assert any("timestamp -> @timestamp" in e for e in get_path(event, ERRORS_FIELD))


class TestRejected:
    def test_unknown_source_type(self, normalizer: Normalizer) -> None:
        result = normalizer.normalize_line(FGT_LINE, "no_such_type", "f.json:3")
        assert isinstance(result, Rejected)
        assert "unknown source type 'no_such_type'" in result.reason
        assert "fgt_traffic" in result.reason and "suricata" in result.reason  # lists the known ones
        assert result.raw == FGT_LINE
        assert result.source_type == "no_such_type"
        assert result.location == "f.json:3"

    def test_unknown_source_type_with_undecodable_bytes(self, normalizer: Normalizer) -> None:
        result = normalizer.normalize_line(b"\xff{}", "nope")
        assert isinstance(result, Rejected)
        assert result.raw == "\ufffd{}"

    @pytest.mark.parametrize(("line", "reason_start"), [
        ("this is not json", "not JSON"),
        ('{"srcip": "10.0.0.1"', "not JSON"),
        ("[1, 2, 3]", "not a JSON object but a list"),
        (b'{"user": "\xff"}', "not UTF-8"),
    ])
    def test_bad_lines(self, normalizer: Normalizer, line: str | bytes, reason_start: str) -> None:
        result = normalizer.normalize_line(line, "fgt:traffic", "botesv1.fgt_traffic.json:7")
        assert isinstance(result, Rejected)
        assert result.reason.startswith(reason_start)
        assert result.source_type == "fgt_traffic"  # the resolved name, not the alias
        assert result.location == "botesv1.fgt_traffic.json:7"
        expected_raw = line if isinstance(line, str) else line.decode("utf-8", "replace")
        assert result.raw == expected_raw

    @pytest.mark.parametrize(("line", "reason"), [
        ('{"msg": "from srcip=10.0.0.1 dstip=8.8.8.8", "deep": ' + "[" * 999 + "]" * 999 + "}",
         "nested deeper than 100 levels"),
        ('["devname=fw01 srcip=10.0.0.1"]', "not a JSON object but a list"),
    ])
    def test_json_lines_are_not_read_as_key_value_text(self, normalizer: Normalizer, line: str, reason: str
                                                       ) -> None:
        # FortiGate types fall back to key=value parsing only for lines that are not JSON at all: a JSON
        # line rejected for another reason must not become an event made of the key=value text inside it.
        result = normalizer.normalize_line(line, "fgt_traffic", "f.json:2")
        assert isinstance(result, Rejected)
        assert result.reason == reason

    def test_dead_letter_record(self, normalizer: Normalizer) -> None:
        result = normalizer.normalize_line("[]", "suricata", "x.json:1")
        assert isinstance(result, Rejected)
        assert result.as_record("normalize") == {
            "stage": "normalize", "reason": "not a JSON object but a list", "raw": "[]",
            "source_type": "suricata", "location": "x.json:1"}


def test_resolve_source_type() -> None:
    fgt = resolve_source_type("fgt:traffic")
    assert fgt is not None and fgt.name == "fgt_traffic" and fgt.family == "firewall"
    suricata = resolve_source_type("SURICATA")
    assert suricata is not None and suricata.family == "ids"
    assert resolve_source_type("no_such_type") is None
    assert resolve_source_type("") is None


def test_bundled_sample_normalises_without_rejects_or_errors(normalizer: Normalizer) -> None:
    from pipeline.config import bundled_data
    from pipeline.normalize import find_botes_files, read_lines

    count = 0
    for botes_file in find_botes_files([bundled_data("sample")]):
        for number, line in read_lines(botes_file.path):
            event = normalizer.normalize_line(line, botes_file.source_type, f"{botes_file.path}:{number}")
            assert isinstance(event, dict), event
            assert get_path(event, ERRORS_FIELD) is None, (number, get_path(event, ERRORS_FIELD))
            count += 1
    assert count == 300  # 150 fgt_traffic + 150 suricata (pipeline/data/sample/README.md)
