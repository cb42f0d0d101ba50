"""pipeline.normalize.fortigate and fortigate_kv: FortiGate key=value lines, time, and ECS derivations.

The real lines come from tests/data/fortigate/ (see its README for provenance: BSD-3-Clause samples of
the fortios-syslog project, Apache-2.0 samples of Cribl's FortiGate pack); synthetic.log there and every other
record here is SYNTHETIC, written for these tests.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tldextract

from pipeline.events import Event, Rejected, get_path, iter_leaves
from pipeline.normalize import Normalizer, domains
from pipeline.normalize.domains import DomainParts, domain_parts
from pipeline.normalize.ecs import ecs_schema
from pipeline.normalize.fortigate import parse_fortigate_syslog, prepare_fortigate, zone_offset
from pipeline.normalize.fortigate_kv import parse_fortigate_kv
from pipeline.normalize.network import ecs_mac
from pipeline.normalize.normalizer import ERRORS_FIELD
from pipeline.normalize.sources import SOURCE_TYPES, resolve_source_type

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "fortigate"


def sample_lines(name: str) -> list[str]:
    return (SAMPLES / name).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def from_kv(normalizer: Normalizer, line: str, source_type: str) -> Event:
    """The brief's end-to-end path: parse the key=value line, then the normaliser's record step."""
    return normalizer.normalize_record(parse_fortigate_kv(line), SOURCE_TYPES[source_type], line)


def from_line(normalizer: Normalizer, line: str, source_type: str) -> Event:
    """A raw syslog line as the normaliser reads it (the RFC 5424 header included)."""
    result = normalizer.normalize_line(line, source_type)
    assert not isinstance(result, Rejected), result
    return result


def from_json(normalizer: Normalizer, record: dict[str, Any], source_type: str) -> Event:
    result = normalizer.normalize_line(json.dumps(record), source_type)
    assert not isinstance(result, Rejected), result
    return result


# --- parse_fortigate_kv ---------------------------------------------------------------------------------

class TestParseFortigateKv:
    def test_bare_and_quoted_values(self) -> None:
        line = 'date=2016-08-10 devname="gotham fw01" srcip=10.0.0.1 msg="a b  c"'
        assert parse_fortigate_kv(line) == {"date": "2016-08-10", "devname": "gotham fw01",
                                            "srcip": "10.0.0.1", "msg": "a b  c"}

    def test_syslog_priority_is_not_part_of_the_first_key(self) -> None:
        assert parse_fortigate_kv("<189>date=2016-08-10 type=traffic") == {"date": "2016-08-10", "type": "traffic"}

    def test_syslog_header_before_the_pairs_is_skipped(self) -> None:
        line = "<189>Aug 10 21:29:41 192.168.250.1 date=2016-08-10 time=21:29:41 devname=fw"
        assert parse_fortigate_kv(line) == {"date": "2016-08-10", "time": "21:29:41", "devname": "fw"}

    def test_escaped_quotes_and_backslashes_inside_a_quoted_value(self) -> None:
        line = r'reason="Server replied \"non-existing domain\"" path="C:\\temp" next=1'
        assert parse_fortigate_kv(line) == {"reason": 'Server replied "non-existing domain"',
                                            "path": "C:\\temp", "next": "1"}

    def test_equals_signs_and_spaces_inside_values(self) -> None:
        line = 'url="/a.php?x=1&y=2" msg="k=v in text" ref=http://h/?q=1'
        assert parse_fortigate_kv(line) == {"url": "/a.php?x=1&y=2", "msg": "k=v in text",
                                            "ref": "http://h/?q=1"}

    def test_empty_values(self) -> None:
        assert parse_fortigate_kv('user="" group= srcip=10.0.0.1') == {"user": "", "group": "",
                                                                        "srcip": "10.0.0.1"}

    def test_a_repeated_key_keeps_its_last_value(self) -> None:
        assert parse_fortigate_kv('tz="UTC-5" devname=fw tz="-0500"') == {"tz": "-0500", "devname": "fw"}

    def test_trailing_newline(self) -> None:
        assert parse_fortigate_kv("type=utm subtype=virus\r\n") == {"type": "utm", "subtype": "virus"}

    @pytest.mark.parametrize("line", ["", "this is not a FortiGate log", '{"srcip": "10.0.0.1"', "[1, 2]"])
    def test_no_pairs(self, line: str) -> None:
        assert parse_fortigate_kv(line) == {}

    def test_real_line_with_every_quirk(self) -> None:
        line = sample_lines("traffic.log")[4]  # traffic_forward_G: <189>, logver, two tz, names with spaces
        record = parse_fortigate_kv(line)
        assert record["logver"] == "64"
        assert record["tz"] == "-0500"
        assert record["srcintf"] == "The Src Intf"
        assert record["applist"] == "Gaming - Restrictions"
        assert record["dstip"] == "192.0.2.207"
        assert len(record) == 55

    def test_real_line_with_escaped_quotes(self) -> None:
        record = parse_fortigate_kv(sample_lines("event.log")[2])  # event_wireless_A
        assert record["reason"] == 'Server 192.0.2.105 replied "non-existing domain"'
        assert record["msg"] == ('DNS lookup of example.com from client ab:cd:ef:00:11:ef failed with '
                                 '"non-existing domain"')
        assert record["remotewtptime"] == "98.594337"


# --- real lines end to end ------------------------------------------------------------------------------

# (file, line index, source.ip, source.port, destination.ip, destination.port, network.transport, rule.id,
#  event.action, @timestamp) -- read off each line by hand; @timestamp from eventtime when the line has
# one (epoch, UTC), else date+time (+tz; no tz means the default UTC).
REAL_SESSIONS = [
    ("traffic.log", 0, "2001:db8::1:2", 5353, "2001:db8::3:4", 5353, "udp", "0", "deny",
     "2019-11-29T01:13:00.832Z"),  # eventtime 1574989980832601873 (date/time say 19:13 at -07:00)
    ("traffic.log", 1, "192.0.2.55", 54400, "192.0.2.56", 80, "tcp", "6", "close", "2019-11-08T09:50:39.000Z"),
    ("traffic.log", 2, "192.0.2.103", 55397, "192.0.2.97", 443, "tcp", "22", "close",
     "2019-11-15T08:24:34.000Z"),
    ("traffic.log", 3, "192.0.2.201", 18570, "192.0.2.205", 4791, "tcp", "10357", "close",
     "2021-02-11T18:15:01.159Z"),
    ("traffic.log", 4, "192.0.2.11", 57925, "192.0.2.207", 56773, "tcp", "240", "accept",
     "2021-07-16T18:21:44.210Z"),
    ("traffic.log", 5, "192.0.2.211", 62285, "192.0.2.254", 8888, "udp", "61", "accept",
     "2021-08-13T12:35:59.000Z"),  # eventtime in seconds; date/time 07:35:59 at UTC-5 agree
    ("utm.log", 0, "192.0.2.31", 53746, "192.0.2.51", 80, "tcp", "6", "passthrough", "2019-11-15T08:24:33.000Z"),
    ("utm.log", 1, "192.0.2.67", 58737, "192.0.2.100", 53, "udp", "5", "blocked", "2019-11-18T14:11:36.000Z"),
    ("utm.log", 2, "192.0.2.3", 52992, "192.0.2.54", 80, "tcp", "6", "passthrough", "2019-11-18T14:11:35.000Z"),
    ("utm.log", 3, "192.0.2.16", 3490, "192.0.2.43", 38881, "tcp", "100", "pass", "2026-02-05T18:52:35.386Z"),
]
_TYPE_OF_FILE = {"traffic.log": "fgt_traffic", "utm.log": "fgt_utm", "event.log": "fgt_event", "admin.log": "fgt_event"}
# synthetic.log, line by line (see tests/data/fortigate/README.md)
SYNTHETIC_TYPES = ["fgt_utm", "fgt_utm", "fgt_utm", "fgt_utm", "fgt_event", "fgt_event", "fgt_traffic"]


class TestRealLines:
    @pytest.mark.parametrize(("file", "index", "src_ip", "src_port", "dst_ip", "dst_port", "transport", "rule_id",
                              "action", "timestamp"), REAL_SESSIONS)
    def test_session_fields(self, normalizer: Normalizer, file: str, index: int, src_ip: str, src_port: int,
                            dst_ip: str, dst_port: int, transport: str, rule_id: str, action: str,
                            timestamp: str) -> None:
        event = from_kv(normalizer, sample_lines(file)[index], _TYPE_OF_FILE[file])
        assert event["source"]["ip"] == src_ip and event["source"]["port"] == src_port
        assert event["destination"]["ip"] == dst_ip and event["destination"]["port"] == dst_port
        assert event["network"]["transport"] == transport
        assert event["rule"]["id"] == rule_id
        assert event["event"]["action"] == action
        assert event["@timestamp"] == timestamp

    @pytest.mark.parametrize("file", sorted(_TYPE_OF_FILE))
    def test_every_real_line_is_clean_ecs(self, normalizer: Normalizer, file: str) -> None:
        schema = ecs_schema()
        for line in sample_lines(file):
            event = from_kv(normalizer, line, _TYPE_OF_FILE[file])
            assert get_path(event, ERRORS_FIELD) is None, (line, get_path(event, ERRORS_FIELD))
            stray = [path for path, _ in iter_leaves(event) if not schema.is_allowed(path)]
            assert not stray, stray
            for field in ("kind", "category", "type", "outcome"):
                values = event["event"].get(field)
                for value in values if isinstance(values, list) else [values] if values else []:
                    assert value in schema.allowed_values[f"event.{field}"], (field, value)

    @pytest.mark.parametrize("file", sorted(_TYPE_OF_FILE))
    def test_normalize_line_reads_the_key_value_format_itself(self, normalizer: Normalizer, file: str) -> None:
        for line in sample_lines(file):
            event = normalizer.normalize_line(line + "\n", _TYPE_OF_FILE[file])
            assert not isinstance(event, Rejected), event
            assert event == from_kv(normalizer, line, _TYPE_OF_FILE[file])

    def test_dnat_and_snat(self, normalizer: Normalizer) -> None:
        lines = sample_lines("traffic.log")
        snat, dnat = from_kv(normalizer, lines[1], "fgt_traffic"), from_kv(normalizer, lines[2], "fgt_traffic")
        assert snat["source"]["nat"] == {"ip": "192.0.2.3", "port": 54400}            # transip, transport
        assert dnat["destination"]["nat"] == {"ip": "192.0.2.200", "port": 443}       # tranip, tranport
        assert snat["botes"]["network"]["nat"]["type"] == "snat"

    def test_traffic_details(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("traffic.log")[4], "fgt_traffic")  # traffic_forward_G
        assert event["observer"]["ingress"] == {"interface": {"name": "The Src Intf"}, "zone": "lan"}
        assert event["observer"]["egress"] == {"interface": {"name": "My VLAN"}, "zone": "lan"}
        assert event["observer"]["serial_number"] == "FG5H1B5718009842"
        assert event["source"]["mac"] == "F1-85-44-32-20-FC"
        assert event["destination"]["mac"] == "09-31-40-AF-BA-35"
        assert event["destination"]["user"] == {"name": "administrator"}
        assert event["event"]["timezone"] == "-05:00"
        assert event["event"]["duration"] == 719_000_000_000
        assert event["event"]["type"] == ["connection", "allowed"]
        assert event["rule"] == {"id": "240", "ruleset": "policy", "uuid": "debfa4b4-0f92-54e4-39a7-060b8e7dc6bf",
                                 "name": "My SQL Policy"}
        assert event["network"]["application"] == "mssql"
        assert event["network"]["protocol"] == "the service"
        assert event["network"]["bytes"] == 4572 + 4559
        assert "geo" not in event["source"]  # srccountry="Reserved"

    def test_port_only_service_and_app_stay_out_of_network(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("traffic.log")[0], "fgt_traffic")  # service/app "udp/5353"
        assert "protocol" not in event["network"] and "application" not in event["network"]
        assert event["botes"]["network"]["service"] == "udp/5353"
        assert event["botes"]["application"]["name"] == "udp/5353"
        assert event["observer"]["egress"] == {"interface": {"name": "unknown0"}}  # role "undefined" dropped

    def test_unauthenticated_user(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("traffic.log")[5], "fgt_traffic")  # traffic_forward_H
        assert event["source"]["user"] == {"name": "MYUSER$"}
        assert event["source"]["domain"] == "MY-SRC"
        assert event["related"]["user"] == ["MYUSER$"]
        assert event["event"]["timezone"] == "-05:00"  # tz="UTC-5"

    def test_webfilter_blocked_is_an_alert(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("utm.log")[1], "fgt_utm")  # utm_webfilter_B
        assert event["event"]["kind"] == "alert"
        assert event["event"]["category"] == ["network", "web"]
        assert event["event"]["type"] == ["info", "denied"]
        assert event["error"] == {"message": "DNS query timeout"}
        assert event["url"] == {"domain": "example.com"}
        assert event["log"]["level"] == "error"

    def test_webfilter_allowed_with_referrer(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("utm.log")[2], "fgt_utm")  # utm_webfilter_C
        assert event["event"]["kind"] == "event"
        assert event["event"]["type"] == ["info", "allowed"]
        assert event["url"] == {"domain": "www.example.com", "original": "/the/path.php?name=yes",
                                "path": "/the/path.php", "query": "name=yes"}
        assert event["http"]["request"]["referrer"] == "http://www.example.org/get/started"
        assert event["network"]["direction"] == "outbound"
        assert event["message"] == "URL belongs to an allowed category in policy"
        assert event["event"]["code"] == "0317013312"

    def test_app_control(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("utm.log")[3], "fgt_utm")  # utm_signature_B (quoted IPs)
        assert event["network"]["application"] == "ssl"
        assert event["botes"]["application"] == {"id": "15895", "category": "Network.Service", "risk": "elevated"}
        # applist names the application control sensor, the profile of app-ctrl logs; policytype is not a ruleset
        assert event["rule"] == {"id": "100", "uuid": "6b144aca-5e1e-51ed-493d-116a876ba80d", "ruleset": "Foo_AP"}
        assert event["botes"]["rule"] == {"policy_type": "policy"}
        assert event["event"]["kind"] == "event"
        assert "geo" not in event["source"] and "geo" not in event["destination"]

    def test_dhcp_event(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("event.log")[0], "fgt_event")  # event_system_A
        assert event["@timestamp"] == "2019-11-18T14:44:07.000Z"
        assert event["event"]["code"] == "0100026001"
        assert (event["event"]["category"], event["event"]["type"]) == (["network"], ["info"])
        assert event["botes"]["dhcp"] == {"message": "Ack", "source": {"mac": "D1:1F:B1:41:FB:1F", "ip": "192.0.2.97"},
                                          "client": {"lease": 3600, "hostname": "SomeHost"}}

    def test_user_logout_event(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("event.log")[1], "fgt_event")  # event_user_A
        assert event["@timestamp"] == "2025-03-16T04:27:41.387Z"
        assert event["source"] == {"ip": "192.0.2.254", "user": {"name": "host/foo.example.com"}}
        assert event["event"]["action"] == "auth-logout"
        assert (event["event"]["category"], event["event"]["type"]) == (["authentication"], ["end"])
        assert event["event"]["outcome"] == "success"

    def test_wireless_event(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("event.log")[2], "fgt_event")  # event_wireless_A
        assert event["@timestamp"] == "2021-09-08T13:01:47.482Z"
        assert event["event"]["reason"] == 'Server 192.0.2.105 replied "non-existing domain"'
        assert event["event"]["action"] == "DNS-no-domain"
        assert event["botes"]["log"]["sn"] == "FP220FTF50814936"
        assert "outcome" not in event["event"]


# --- observer, users, outcome (issue 17) ----------------------------------------------------------------

def synthetic(index: int) -> Event:
    line = sample_lines("synthetic.log")[index]
    return from_line(Normalizer(), line, SYNTHETIC_TYPES[index])


class TestObserverNames:
    def test_devname_is_the_observer_name_and_host_name(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("traffic.log")[4], "fgt_traffic")  # traffic_forward_G
        assert (event["observer"]["name"], event["observer"]["hostname"]) == ("fgt_ny_0", "fgt_ny_0")

    def test_a_botes_record_with_devname(self, normalizer: Normalizer) -> None:
        for source_type in ("fgt_traffic", "fgt_utm", "fgt_event"):
            event = from_json(normalizer, {"devname": "gotham-fw01"}, source_type)
            assert (event["observer"]["name"], event["observer"]["hostname"]) == ("gotham-fw01", "gotham-fw01")

    def test_the_rfc5424_header_host_when_there_is_no_devname(self) -> None:
        event = synthetic(6)  # FortiOS "rfc5424" format: no devname, no date/time in the message
        assert (event["observer"]["name"], event["observer"]["hostname"], event["@timestamp"]) == (
            "FGT-BRANCH-07", "FGT-BRANCH-07", "2024-03-12T09:31:40.512Z")  # the time is still eventtime's
        assert event["log"]["syslog"] == {"hostname": "FGT-BRANCH-07"}
        assert "FGT-BRANCH-07" in event["related"]["hosts"]

    def test_devname_wins_over_the_header_host(self, normalizer: Normalizer) -> None:
        line = '<134>1 2024-03-12T09:40:11Z faz.example.com - - - - devname="FGT-A" logid="0100032001" type="event"'
        event = from_line(normalizer, line, "fgt_event")
        assert (event["observer"]["name"], event["observer"]["hostname"]) == ("FGT-A", "FGT-A")
        assert event["log"]["syslog"]["hostname"] == "faz.example.com"


class TestRfc5424Header:
    def test_host_name_and_message(self) -> None:
        line = '<189>1 2024-03-12T09:31:40Z FGT-1 - - - - eventtime=1 logid="0000000013" type="traffic"'
        assert parse_fortigate_syslog(line) == {"eventtime": "1", "logid": "0000000013", "type": "traffic",
                                                "syslog_hostname": "FGT-1"}

    def test_structured_data_is_not_taken_for_fortigate_fields(self) -> None:
        line = ('<134>1 2024-03-12T09:40:11.003+01:00 fmg.example.com fmgd 812 ID47 '
                '[origin ip="192.0.2.9" software="x\\]y"][meta sequenceId="7"] device_id=FMG-1 log_id=0031040026')
        assert parse_fortigate_syslog(line) == {"device_id": "FMG-1", "log_id": "0031040026",
                                                "syslog_hostname": "fmg.example.com"}

    def test_nil_host_name_and_structured_data(self) -> None:
        assert parse_fortigate_syslog('<134>1 - - - - - [x a="1"] devname=fw') == {"devname": "fw"}


class TestEventUsersAndOutcome:
    def test_real_admin_login(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("admin.log")[0], "fgt_event")  # Cribl pack, login over SSH
        authentication = (event["event"]["category"], event["event"]["type"], event["event"]["outcome"])
        assert (event["user"], event["source"], authentication, event["related"]["user"]) == (
            {"name": "admin"}, {"ip": "192.168.56.254", "user": {"name": "admin"}},
            (["authentication"], ["start"], "success"), ["admin"])

    def test_failed_admin_login_over_ssh(self) -> None:
        event = synthetic(4)
        assert (event["user"], event["event"]["outcome"], event["source"]["ip"]) == (
            {"name": "admin"}, "failure", "203.0.113.77")

    def test_a_masked_address_in_ui_is_not_an_address(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("admin.log")[1], "fgt_event")  # ui=ssh(x.x.x.x), no srcip
        assert (event["user"], event["source"]) == ({"name": "fortiguard-it"}, {"user": {"name": "fortiguard-it"}})

    def test_src_user_fills_user_name(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"subtype": "user", "src_user": "bob.smith"}, "fgt_event")
        assert (event["user"], event["source"]["user"]) == ({"name": "bob.smith"}, {"name": "bob.smith"})

    @pytest.mark.parametrize(("record", "outcome"), [
        ({"subtype": "vpn", "action": "ssl-login-fail"}, "failure"),
        ({"subtype": "system", "action": "ssh-login-failed", "user": "root"}, "failure"),
        ({"subtype": "user", "action": "authentication", "authmsg": "Authentication failed: bad password"}, "failure"),
        ({"subtype": "user", "action": "authentication", "authmsg": "Authentication successful"}, "success"),
    ])
    def test_outcome_from_action_and_authmsg(self, normalizer: Normalizer, record: dict[str, str],
                                             outcome: str) -> None:
        assert from_json(normalizer, {"type": "event", **record}, "fgt_event")["event"]["outcome"] == outcome

    def test_forwarded_fortimanager_login(self) -> None:
        event = synthetic(5)  # RFC 5424 header, FortiManager field spellings, no devname
        assert event["observer"] == {"serial_number": "FMG-VM0000000001", "name": "fmg-hq.example.com",
                                     "hostname": "fmg-hq.example.com", "vendor": "Fortinet", "product": "FortiGate",
                                     "type": "firewall"}
        assert event["event"]["code"] == "0031040026"
        assert event["source"] == {"ip": "192.0.2.45", "port": 52311, "user": {"name": "jdoe"}}
        assert event["user"] == {"name": "jdoe"}
        assert event["log"] == {"level": "information", "syslog": {"hostname": "fmg-hq.example.com"}}
        assert event["botes"]["source"]["user"]["interface"] == "GUI(192.0.2.45)"
        assert "unmapped" not in event["botes"]
        assert event["related"] == {"hosts": ["fmg-hq.example.com"], "user": ["jdoe"], "ip": ["192.0.2.45"]}

    def test_userfrom_address_without_remote_ip(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"user": "api-admin", "userfrom": "JSON(2001:db8::7)"}, "fgt_event")
        assert event["source"] == {"ip": "2001:db8::7", "user": {"name": "api-admin"}}


# --- UTM: profile, DNS, VoIP (issue 17) -----------------------------------------------------------------

class TestUtmProfileDnsVoip:
    def test_the_profile_is_the_ruleset(self, normalizer: Normalizer) -> None:
        event = from_kv(normalizer, sample_lines("utm.log")[0], "fgt_utm")  # utm_webfilter_A, profile="my-profile"
        assert event["rule"] == {"id": "6", "ruleset": "my-profile"}
        assert "profile" not in event["botes"]["threat"]

    def test_ips_ruleset_is_the_sensor_not_the_policy_type(self) -> None:
        event = synthetic(3)
        assert event["rule"]["ruleset"] == "ips-dmz"
        assert event["botes"]["rule"] == {"policy_type": "policy"}

    def test_dns_answer(self) -> None:
        event = synthetic(0)
        assert event["dns"] == {"id": "40123", "resolved_ip": ["203.0.113.10", "203.0.113.11"],
                                "question": {"name": "www.east.example.co.uk", "type": "A", "class": "IN",
                                             "registered_domain": "example.co.uk", "top_level_domain": "co.uk",
                                             "subdomain": "www.east"}}
        assert event["botes"]["dns"] == {"question": {"type_value": 1}}
        assert event["rule"]["ruleset"] == "dns-corp"
        assert event["related"]["hosts"] == ["FGT-EDGE-01", "www.east.example.co.uk"]
        assert event["related"]["ip"][-2:] == ["203.0.113.10", "203.0.113.11"]
        assert event["botes"]["unmapped"] == {"vd": "root"}  # qname, qtype, xid, ipaddr all have a home

    def test_blocked_dns_name(self) -> None:
        event = synthetic(1)  # one answer address; .example is no public suffix
        assert event["dns"]["resolved_ip"] == ["2001:db8::5"]
        assert event["dns"]["question"] == {"name": "update.malware-c2.example", "type": "AAAA", "class": "IN"}
        assert (event["event"]["kind"], event["event"]["type"]) == ("alert", ["info", "denied"])

    def test_voip_call(self) -> None:
        event = synthetic(2)
        assert (event["source"], event["destination"]) == ({"ip": "192.0.2.40", "port": 5060},
                                                           {"ip": "198.51.100.60", "port": 5060})
        assert event["rule"] == {"id": "9", "ruleset": "voip-default"}
        assert event["observer"]["ingress"] == {"interface": {"name": "port12"}}
        assert event["observer"]["egress"] == {"interface": {"name": "port11"}}
        assert event["network"]["protocol"] == "sip"
        assert event["botes"]["network"]["session"]["id"] == "18975"
        assert event["event"]["type"] == ["info", "allowed"]  # action="permit"

    def test_every_synthetic_line_is_clean_ecs(self) -> None:
        schema = ecs_schema()
        for index in range(len(SYNTHETIC_TYPES)):
            event = synthetic(index)
            assert get_path(event, ERRORS_FIELD) is None, (index, get_path(event, ERRORS_FIELD))
            assert not [path for path, _ in iter_leaves(event) if not schema.is_allowed(path)]
            assert event["observer"]["name"] == event["observer"]["hostname"]


# --- DNS name parts (tldextract, offline) ---------------------------------------------------------------

class TestDomainParts:
    @pytest.mark.parametrize(("name", "parts"), [
        ("www.example.com", DomainParts("example.com", "com", "www")),
        ("WWW.East.Example.co.uk.", DomainParts("example.co.uk", "co.uk", "www.east")),
        ("example.com", DomainParts("example.com", "com", "")),
        ("_ldap._tcp.dc._msdcs.example.org", DomainParts("example.org", "org", "_ldap._tcp.dc._msdcs")),
    ])
    def test_parts(self, name: str, parts: DomainParts) -> None:
        assert domain_parts(name) == parts

    @pytest.mark.parametrize("name", ["localhost", "fileserver.corp", "192.0.2.1", "2001:db8::1", "", "com",
                                      "4.3.2.1.in-addr.arpa"])
    def test_no_registered_domain(self, name: str) -> None:
        assert domain_parts(name) is None


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every name lookup or connection the code under test tries, refused (so nothing leaves the machine)."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network closed by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield attempts


def test_dns_name_parts_need_no_network_and_write_no_cache(network_attempts: list[object], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "tldextract"))
    domains._offline_extractor.cache_clear()  # build the extractor afresh, under the test's guard
    assert domain_parts("www.example.co.uk") == DomainParts("example.co.uk", "co.uk", "www")
    assert network_attempts == []
    assert list(tmp_path.rglob("*")) == []


def test_the_no_network_check_catches_a_fetching_extractor(network_attempts: list[object], tmp_path: Path) -> None:
    # the check above fails for tldextract's default configuration, which fetches the live list first
    tldextract.TLDExtract(cache_dir=str(tmp_path))("www.example.co.uk")
    assert network_attempts != []


# --- time -----------------------------------------------------------------------------------------------

class TestTime:
    @pytest.mark.parametrize(("zone", "offset"), [
        ("-0700", "-07:00"), ("+0200", "+02:00"), ("-07:00", "-07:00"), ("UTC-5", "-05:00"), ("GMT+5:30", "+05:30"),
        ("+0545", "+05:45"), (" -0500 ", "-05:00")])
    def test_zone_offsets(self, zone: str, offset: str) -> None:
        assert zone_offset(zone) == offset

    @pytest.mark.parametrize("zone", ["", "PDT", "America/Los_Angeles", "+2500", "-0790", "UTC"])
    def test_not_offsets(self, zone: str) -> None:
        assert zone_offset(zone) is None

    def test_date_and_time_are_joined_with_the_offset(self) -> None:
        flat = prepare_fortigate({"date": "2016-08-10", "time": "9:05:00", "tz": "UTC-7", "srcip": "10.0.0.1"})
        assert flat == {"tz": "-07:00", "srcip": "10.0.0.1", "time": "2016-08-10T09:05:00-07:00"}

    def test_an_unknown_zone_is_kept_but_not_applied(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"date": "2016-08-10", "time": "11:22:33", "tz": "PDT"}, "fgt_event")
        assert event["@timestamp"] == "2016-08-10T11:22:33.000Z"
        assert event["event"]["timezone"] == "PDT"

    def test_eventtime_wins_over_date_and_time_and_splunk_time(self, normalizer: Normalizer) -> None:
        # SYNTHETIC: eventtime 1470864581 s is 2016-08-10T21:29:41Z; the other two disagree on purpose
        record = {"eventtime": "1470864581000000000", "date": "2016-08-10", "time": "10:00:00", "tz": "-0700",
                  "_time": "2016-08-10T00:00:00+00:00"}
        for source_type in ("fgt_traffic", "fgt_utm", "fgt_event"):
            assert from_json(normalizer, record, source_type)["@timestamp"] == "2016-08-10T21:29:41.000Z"

    def test_date_and_time_win_over_splunk_time(self, normalizer: Normalizer) -> None:
        record = {"date": "2016-08-10", "time": "10:00:00", "tz": "-0700", "_time": "2016-08-10T00:00:00+00:00"}
        assert from_json(normalizer, record, "fgt_utm")["@timestamp"] == "2016-08-10T17:00:00.000Z"

    def test_splunk_time_alone(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"_time": "2016-08-10T21:29:41.000+00:00", "srcip": "10.0.0.1"}, "fgt_event")
        assert event["@timestamp"] == "2016-08-10T21:29:41.000Z"
        assert get_path(event, ERRORS_FIELD) is None

    def test_a_bad_eventtime_leaves_date_and_time(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"date": "2016-08-10", "time": "10:00:00", "eventtime": "soon"}, "fgt_traffic")
        assert event["@timestamp"] == "2016-08-10T10:00:00.000Z"
        assert any("eventtime -> @timestamp" in e for e in get_path(event, ERRORS_FIELD))


# --- prepare and small helpers --------------------------------------------------------------------------

class TestPrepare:
    def test_placeholders_are_dropped(self) -> None:
        assert prepare_fortigate({"user": "N/A", "srcip": "10.0.0.1", "tags": ["N/A"]}) == {
            "srcip": "10.0.0.1", "tags": ["N/A"]}

    def test_vendor_action_wins_over_splunk_action(self, normalizer: Normalizer) -> None:
        for record in ({"vendor_action": "deny", "action": "blocked"}, {"action": "blocked", "vendor_action": "deny"}):
            assert from_json(normalizer, record, "fgt_traffic")["event"]["action"] == "deny"

    def test_fortios_5_status_is_the_session_action(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"status": "deny", "proto": "6"}, "fgt_traffic")
        assert event["event"]["action"] == "deny"
        assert event["event"]["type"] == ["connection", "denied"]

    def test_the_input_record_is_not_changed(self) -> None:
        flat = {"date": "2016-08-10", "time": "10:00:00", "tz": "-0700", "user": "N/A"}
        prepare_fortigate(flat)
        assert flat == {"date": "2016-08-10", "time": "10:00:00", "tz": "-0700", "user": "N/A"}


class TestMac:
    @pytest.mark.parametrize(("value", "ecs"), [
        ("be:ef:de:ad:02:03", "BE-EF-DE-AD-02-03"), ("BE-EF-DE-AD-02-03", "BE-EF-DE-AD-02-03"),
        ("beefdead0203", "BE-EF-DE-AD-02-03"), ("not a mac", "not a mac"), ("be:ef:de:ad:02", "be:ef:de:ad:02"),
        ("be:ef-de:ad:02:03", "be:ef-de:ad:02:03")])
    def test_ecs_mac(self, value: str, ecs: str) -> None:
        assert ecs_mac(value) == ecs


# --- categorisation (SYNTHETIC records) -----------------------------------------------------------------

class TestUtmCategorisation:
    @pytest.mark.parametrize(("record", "kind", "categories", "types"), [
        ({"subtype": "virus", "virus": "EICAR_TEST_FILE", "action": "monitored"},
         "alert", ["malware", "network"], ["info", "allowed"]),
        ({"subtype": "virus", "eventtype": "scanerror", "action": "passthrough"},
         "event", ["malware", "network"], ["info", "allowed"]),
        ({"subtype": "ips", "attack": "Eicar.Virus.Test.File", "attackid": "29844", "action": "detected"},
         "alert", ["intrusion_detection", "network"], ["info", "allowed"]),
        ({"subtype": "anomaly", "attack": "tcp_syn_flood", "action": "clear_session"},
         "alert", ["intrusion_detection", "network"], ["info", "denied"]),
        ({"subtype": "dlp", "action": "log-only"}, "alert", ["network"], ["info", "allowed"]),
        ({"subtype": "dns", "action": "pass"}, "event", ["network"], ["info", "allowed"]),
        ({"subtype": "emailfilter", "action": "blocked"}, "alert", ["email"], ["info", "denied"]),
        ({"subtype": "waf", "action": "weird"}, "event", ["intrusion_detection", "web"], ["info"]),
    ])
    def test_kind_category_type(self, normalizer: Normalizer, record: dict[str, str], kind: str,
                                categories: list[str], types: list[str]) -> None:
        event = from_json(normalizer, {"type": "utm", **record}, "fgt_utm")
        assert (event["event"]["kind"], event["event"]["category"], event["event"]["type"]) == (kind, categories, types)

    def test_ips_signature_fields(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"subtype": "ips", "attack": "Eicar.Virus.Test.File", "attackid": "29844",
                                       "severity": "medium", "ref": "http://www.fortinet.com/ids/VID29844",
                                       "level": "alert"}, "fgt_utm")
        assert event["vulnerability"] == {"description": "Eicar.Virus.Test.File", "id": "29844", "severity": "medium"}
        assert event["event"]["reference"] == "http://www.fortinet.com/ids/VID29844"
        assert event["log"]["level"] == "alert"

    def test_absolute_url(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"url": "https://www.example.com:8443/a/b?c=d", "hostname": "www.example.com"},
                          "fgt_utm")
        assert event["url"] == {"original": "https://www.example.com:8443/a/b?c=d", "domain": "www.example.com",
                                "full": "https://www.example.com:8443/a/b?c=d", "scheme": "https", "path": "/a/b",
                                "query": "c=d"}

    def test_unparseable_url_is_kept_as_it_is(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"url": "http://[x/y"}, "fgt_utm")
        assert event["url"] == {"original": "http://[x/y"}

    @pytest.mark.parametrize(("direction", "ecs"), [("outgoing", "outbound"), ("incoming", "inbound"),
                                                    ("Inbound", "inbound"), ("sideways", "unknown")])
    def test_direction(self, normalizer: Normalizer, direction: str, ecs: str) -> None:
        assert from_json(normalizer, {"direction": direction}, "fgt_utm")["network"]["direction"] == ecs

    def test_file_fields(self, normalizer: Normalizer) -> None:
        sha256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"  # of the EICAR test file
        event = from_json(normalizer, {"filename": "eicar.com", "filesize": "68", "filetype": "com",
                                       "analyticscksum": sha256}, "fgt_utm")
        assert event["file"] == {"name": "eicar.com", "size": 68, "extension": "com", "hash": {"sha256": sha256}}
        assert event["related"]["hash"] == [sha256]


class TestEventCategorisation:
    @pytest.mark.parametrize(("record", "categories", "types", "outcome"), [
        ({"subtype": "system", "action": "login", "status": "success"}, ["authentication"], ["start"], "success"),
        ({"subtype": "system", "action": "login", "status": "failed"}, ["authentication"], ["start"], "failure"),
        ({"subtype": "system", "action": "logout"}, ["authentication"], ["end"], None),
        ({"subtype": "user", "action": "FSSO-logon"}, ["authentication"], ["start"], None),
        ({"subtype": "user", "action": "FSSO-logoff"}, ["authentication"], ["end"], None),
        ({"subtype": "vpn", "action": "ssl-login-fail", "status": "failure"}, ["authentication"], ["start"], "failure"),
        ({"subtype": "vpn", "action": "tunnel-down"}, ["network"], ["connection", "end"], None),
        ({"subtype": "vpn", "action": "negotiate", "status": "negotiate_error"}, ["network"], ["connection"],
         "failure"),
        ({"subtype": "vpn", "action": "negotiate", "result": "OK"}, ["network"], ["connection"], "success"),
        ({"subtype": "system", "action": "Add", "cfgpath": "user.local"}, ["configuration"], ["creation"], None),
        ({"subtype": "system", "action": "Delete"}, ["configuration"], ["deletion"], None),
        ({"subtype": "system", "cfgpath": "system.interface"}, ["configuration"], ["change"], None),
        ({"subtype": "system", "action": "perf-stats"}, ["host"], ["info"], None),
        ({"subtype": "ha", "status": "up"}, ["host"], ["info"], None),
        ({"subtype": "router"}, ["network"], ["info"], None),
    ])
    def test_category_type_outcome(self, normalizer: Normalizer, record: dict[str, str], categories: list[str],
                                   types: list[str], outcome: str | None) -> None:
        event = from_json(normalizer, {"type": "event", **record}, "fgt_event")
        assert event["event"]["kind"] == "event"
        assert (event["event"]["category"], event["event"]["type"]) == (categories, types)
        assert event["event"].get("outcome") == outcome

    def test_vpn_peers(self, normalizer: Normalizer) -> None:
        event = from_json(normalizer, {"subtype": "vpn", "remip": "2001:db8::2", "remport": "4500",
                                       "locip": "2001:db8::1", "locport": "4500", "xauthuser": "N/A"}, "fgt_event")
        assert event["source"] == {"ip": "2001:db8::2", "port": 4500}
        assert event["destination"] == {"ip": "2001:db8::1", "port": 4500}
        assert "unmapped" not in event.get("botes", {})


# --- source types ---------------------------------------------------------------------------------------

def test_splunk_spellings_resolve() -> None:
    for name in ("fgt_traffic", "fgt_utm", "fgt_event"):
        for spelling in (name, name.replace("_", ":"), name.upper().replace("_", ":")):
            source = resolve_source_type(spelling)
            assert source is not None and source.name == name
            assert source.family == "firewall" and source.module == "fortinet"
            assert source.observer == {"vendor": "Fortinet", "product": "FortiGate", "type": "firewall"}


def test_a_line_that_is_neither_json_nor_key_value_is_rejected(normalizer: Normalizer) -> None:
    result = normalizer.normalize_line("this is not a FortiGate log", "fgt:utm", "x.log:1")
    assert isinstance(result, Rejected)
    assert result.reason.startswith("not JSON") and result.source_type == "fgt_utm"


def test_a_group_name_is_not_a_related_user(normalizer: Normalizer) -> None:
    event = from_json(normalizer, {"user": "bob.smith", "group": "Finance"}, "fgt_traffic")
    assert event["source"]["user"] == {"name": "bob.smith", "group": {"name": "Finance"}}
    assert event["related"]["user"] == ["bob.smith"]
