"""pipeline.normalize.nessus: Nessus scan results as the Splunk Add-on for Tenable writes them
(SYNTHETIC records)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.events import Rejected, get_path
from pipeline.normalize import Normalizer
from pipeline.normalize.nessus import prepare_nessus
from pipeline.normalize.normalizer import ERRORS_FIELD
from pipeline.normalize.sources import resolve_source_type


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def normalized(normalizer: Normalizer, **fields: Any) -> dict[str, Any]:
    record = {"time": "2016-08-10T22:05:12+00:00", "host-ip": "192.168.250.70", **fields}
    event = normalizer.normalize_line(json.dumps(record), "nessus:scan")
    assert not isinstance(event, Rejected), event.reason
    return event


def without_original(event: dict[str, Any]) -> dict[str, Any]:
    event["event"].pop("original")
    return event


class TestTimes:
    @pytest.mark.parametrize(("raw", "iso"), [
        ("Wed Aug 10 22:00:03 2016", "2016-08-10T22:00:03"),
        ("Wed Aug  3 9:05:01 2016", "2016-08-03T09:05:01"),
        ("Aug 10 22:00:03 2016", "2016-08-10T22:00:03"),
        ("2016-08-10T22:00:03Z", "2016-08-10T22:00:03Z"),     # not ctime: left to the date converter
        ("Wed Foo 10 22:00:03 2016", "Wed Foo 10 22:00:03 2016")])
    def test_ctime(self, raw: str, iso: str) -> None:
        assert prepare_nessus({"host_start": raw, "time": "x"})["host_start"] == iso

    def test_host_end_is_the_time_when_there_is_no_time_field(self, normalizer: Normalizer) -> None:
        line = json.dumps({"host_start": "Wed Aug 10 22:00:03 2016", "host_end": "Wed Aug 10 22:05:12 2016"})
        event = normalizer.normalize_line(line, "nessus-scan")
        assert isinstance(event, dict)
        assert event["@timestamp"] == "2016-08-10T22:05:12.000Z"
        assert (event["event"]["start"], event["event"]["end"]) == ("2016-08-10T22:00:03.000Z",
                                                                    "2016-08-10T22:05:12.000Z")
        assert get_path(event, ERRORS_FIELD) is None

    def test_time_field_wins(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, host_end="Wed Aug 10 23:00:00 2016")
        assert event["@timestamp"] == "2016-08-10T22:05:12.000Z"
        assert event["event"]["end"] == "2016-08-10T23:00:00.000Z"

    def test_ctime_is_the_scanner_local_time(self) -> None:
        line = json.dumps({"host_end": "Wed Aug 10 15:05:12 2016"})
        event = Normalizer(default_timezone="America/Denver").normalize_line(line, "nessus-scan")
        assert isinstance(event, dict)
        assert event["@timestamp"] == "2016-08-10T21:05:12.000Z"  # MDT is UTC-6

    def test_bad_host_time_is_reported(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, host_start="sometime")
        assert any("host_start -> event.start" in e for e in get_path(event, ERRORS_FIELD))


class TestPorts:
    def test_json_form_equals_splunk_form(self, normalizer: Normalizer) -> None:
        nested = normalized(normalizer, ports=[{"port": 80, "protocol": "www", "transport": "tcp"},
                                               {"port": 443, "protocol": "www", "transport": "tcp"}])
        splunk = normalized(normalizer, **{"ports{}.port": ["80", "443"], "ports{}.protocol": ["www", "www"],
                                           "ports{}.transport": ["tcp", "tcp"]})
        assert without_original(nested) == without_original(splunk)
        assert nested["destination"] == {"ip": "192.168.250.70", "port": [80, 443]}
        assert nested["network"] == {"transport": ["tcp"], "protocol": ["www"]}

    def test_single_value_is_still_an_array(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, **{"ports{}.port": "161", "ports{}.transport": "UDP"})
        assert event["destination"]["port"] == [161]
        assert event["network"] == {"transport": ["udp"]}

    def test_host_level_finding_has_no_port_or_protocol(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, **{"ports{}.port": "0", "ports{}.protocol": "general",
                                          "ports{}.transport": "tcp"})
        assert event["destination"] == {"ip": "192.168.250.70"}
        assert event["network"] == {"transport": ["tcp"]}

    def test_single_valued_port_fields(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, port="445", protocol="TCP", svc_name="cifs")
        assert event["destination"]["port"] == 445
        assert event["network"] == {"transport": "tcp", "protocol": "cifs"}


class TestVulnerability:
    def test_cves_and_scores(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, **{"cve{}": ["CVE-2008-4114", "CVE-2008-4834"], "cvss3_base_score": "8.1",
                                          "cvss_base_score": "10.0", "see_also": "https://a.test/1"})
        assert event["vulnerability"] == {
            "id": ["CVE-2008-4114", "CVE-2008-4834"], "enumeration": "CVE", "classification": "CVSS",
            "score": {"base": 8.1, "version": "3.0"}, "reference": "https://a.test/1",
            "scanner": {"vendor": "Tenable"}}
        assert event["botes"]["nessus"]["cvss"] == {"base_score": 10.0}  # the v2 score stays beside

    def test_cvss2_when_there_is_no_cvss3(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, cve="CVE-1999-0517", cvss_base_score="7.5")
        assert event["vulnerability"]["score"] == {"base": 7.5, "version": "2.0"}
        assert event["vulnerability"]["id"] == "CVE-1999-0517"
        assert "botes" not in event  # moved, and the emptied objects went with it

    def test_no_cve_no_enumeration(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, plugin_id="19506", plugin_name="Nessus Scan Information",
                           plugin_family="Settings", severity="informational", severity_id="0")
        assert event["vulnerability"] == {"category": ["Settings"], "severity": "informational",
                                          "scanner": {"vendor": "Tenable"}}
        assert event["rule"] == {"id": "19506", "name": "Nessus Scan Information"}
        assert event["event"]["severity"] == 0
        assert (event["event"]["kind"], event["event"]["category"], event["event"]["type"]) == \
            ("event", ["vulnerability"], ["info"])

    @pytest.mark.parametrize(("raw", "name", "number"), [("0", "informational", 0), ("2", "medium", 2),
                                                         ("4", "critical", 4)])
    def test_numeric_severity(self, normalizer: Normalizer, raw: str, name: str, number: int) -> None:
        event = normalized(normalizer, severity=raw)
        assert event["vulnerability"]["severity"] == name
        assert event["event"]["severity"] == number


class TestHost:
    def test_scanned_host(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, **{"hostname": "we8105desk", "netbios-name": "WE8105DESK",
                                          "operating-system": "Microsoft Windows 7 Professional",
                                          "mac-address": "00:0c:29:5f:5f:2b\n00-50-56-C0-00-08"})
        assert event["host"] == {"ip": ["192.168.250.70"], "name": "we8105desk", "hostname": "WE8105DESK",
                                 "os": {"full": "Microsoft Windows 7 Professional"},
                                 "mac": ["00-0C-29-5F-5F-2B", "00-50-56-C0-00-08"]}
        assert event["destination"] == {"ip": "192.168.250.70"}
        assert event["related"]["ip"] == ["192.168.250.70"]

    def test_unusable_mac_is_dropped(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, **{"mac-address": "unknown"})
        assert "mac" not in event["host"]

    def test_ipv6_host(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, **{"host-ip": "2001:db8:0:0:0:0:0:70"})
        assert event["host"]["ip"] == ["2001:db8::70"]


def test_source_type() -> None:
    nessus = resolve_source_type("Nessus:Scan")
    assert nessus is not None
    assert (nessus.name, nessus.family, nessus.module) == ("nessus-scan", "scanner", "nessus")
    assert nessus.observer == {"vendor": "Tenable", "product": "Nessus", "type": "scanner"}
