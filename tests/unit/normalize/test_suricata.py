"""pipeline.normalize.suricata: EVE JSON as Suricata writes it, and in BOTES form.

The real EVE lines come from permissively licensed public repositories (tests/data/suricata/README.md
says which file came from where); every expected value below was worked out by hand from the line,
the map, pipeline/data/field_overrides.csv and ECS 9.4.0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.events import Rejected, get_path
from pipeline.normalize import Normalizer
from pipeline.normalize.normalizer import ERRORS_FIELD
from pipeline.normalize.records import flatten
from pipeline.normalize.suricata import prepare_suricata

DATA = Path(__file__).resolve().parents[2] / "data" / "suricata"


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def real_line(file: str, number: int) -> str:
    """Line ``number`` (1-based) of a real sample, exactly as stored."""
    return (DATA / file).read_text(encoding="utf-8").splitlines()[number - 1]


def normalized(normalizer: Normalizer, line: str) -> dict[str, Any]:
    event = normalizer.normalize_line(line, "suricata")
    assert not isinstance(event, Rejected), event.reason
    return event


def eve(**fields: Any) -> str:
    return json.dumps({"timestamp": "2016-08-10T21:00:00.000000+0000", **fields})


# --- real EVE lines ---------------------------------------------------------------------------------------

class TestRealAlerts:
    def test_alert_with_community_id(self, normalizer: Normalizer) -> None:
        # suricata-ipc line 1: an HTTP alert, local time -0700, community_id, flow counters
        event = normalized(normalizer, real_line("suricata-ipc.eve.json", 1))
        assert event["@timestamp"] == "2017-12-18T17:48:14.627Z"          # 10:48:14.627130-0700
        assert event["source"] == {"ip": "10.151.223.136", "port": 26475, "packets": 4, "bytes": 582}
        assert event["destination"] == {"ip": "203.0.113.99", "port": 80, "packets": 3, "bytes": 302}
        assert event["network"] == {"transport": "tcp", "iana_number": "6", "protocol": "http",
                                    "community_id": "1:3ZcLCpqiJpUyBlL6cvSAzm4Cn94=",
                                    "bytes": 884, "packets": 7}
        assert event["rule"] == {"id": "600074", "name": "ProtectWise Canary Test 1.3 - Not Malicious"}
        assert event["event"]["severity"] == 3
        assert event["event"]["start"] == "2017-12-18T17:48:14.622Z"       # flow.start
        assert (event["event"]["kind"], event["event"]["category"], event["event"]["type"]) == \
            ("alert", ["network", "intrusion_detection"], ["allowed"])
        assert event["botes"]["suricata"]["eve"]["alert"] == {"action": "allowed", "gid": 4113433437, "rev": 1}
        assert "domain" not in event["destination"]  # an alert's direction is the packet's, not the request's

    def test_irc_alert_with_payload(self, normalizer: Normalizer) -> None:
        # tenzir line 1: ET rule on IRC, +0200, payload fields left for botes.unmapped
        event = normalized(normalizer, real_line("tenzir.eve.json", 1))
        assert event["@timestamp"] == "2011-08-12T12:52:57.716Z"
        assert event["source"] == {"ip": "147.32.84.165", "port": 1181, "packets": 27, "bytes": 2302}
        assert event["destination"] == {"ip": "78.40.125.4", "port": 6667, "packets": 35, "bytes": 4520}
        assert event["network"] == {"transport": "tcp", "iana_number": "6", "bytes": 6822, "packets": 62}
        assert event["rule"] == {
            "id": "2017318", "category": "Potentially Bad Traffic",
            "name": "ET CURRENT_EVENTS SUSPICIOUS IRC - PRIVMSG *.(exe|tar|tgz|zip)  download command"}
        assert event["event"]["severity"] == 2
        assert event["botes"]["unmapped"]["payload_printable"] == "PRIVMSG #zarasa48 : smss.exe (368)\r\n"

    def test_alert_with_rule_source_and_target(self, normalizer: Normalizer) -> None:
        # telegraf alert.json: the rule's source/target view stays under botes.suricata.eve.alert
        event = normalized(normalizer, real_line("telegraf.eve.json", 1))
        assert event["@timestamp"] == "2021-05-30T18:07:13.208Z"
        assert event["source"] == {"ip": "10.0.0.5", "port": 18715, "packets": 1, "bytes": 174}
        assert event["destination"] == {"ip": "179.60.192.3", "port": 80, "packets": 0, "bytes": 0}
        assert event["rule"] == {"id": "6", "name": "Corrupted HTTP body", "category": "Misc activity"}
        assert event["observer"]["ingress"] == {"interface": {"name": "s1-suricata"}}
        assert event["botes"]["suricata"]["eve"]["alert"] == {
            "action": "allowed", "gid": 1, "rev": 0,
            "source": {"ip": "10.0.0.5", "port": 18715}, "target": {"ip": "179.60.192.3", "port": 80}}


class TestRealHttp:
    def test_http_with_user_agent(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("telegraf.eve.json", 2))
        assert event["@timestamp"] == "2023-04-06T16:27:50.220Z"          # 00:27:50.220224+0800
        assert event["source"] == {"ip": "192.168.0.120", "port": 33950}
        assert event["destination"] == {"ip": "203.205.239.179", "port": 80,
                                        "domain": "hkminorshort.weixin.qq.com"}
        assert event["url"] == {"domain": "hkminorshort.weixin.qq.com", "original": "/mmtls/2d6d45f1",
                                "path": "/mmtls/2d6d45f1"}
        assert event["http"] == {"request": {"method": "POST"}, "version": "1.1",
                                 "response": {"status_code": 200, "mime_type": "application/octet-stream",
                                              "body": {"bytes": 245}}}
        assert event["user_agent"] == {"original": "MicroMessenger Client"}
        assert event["network"] == {"transport": "tcp", "iana_number": "6", "protocol": "http"}
        assert (event["event"]["category"], event["event"]["type"], event["event"]["outcome"]) == \
            (["network", "web"], ["access", "protocol"], "success")

    def test_http_url_with_encoded_characters(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("fever.eve.json", 1))
        assert event["url"] == {"domain": "evader.example.com",
                                "original": "/compressed/eicar.txt/ce%3Agzip,gzip;gzip;gzip",
                                "path": "/compressed/eicar.txt/ce%3Agzip,gzip;gzip;gzip"}
        assert event["source"] == {"ip": "1.1.1.1", "port": 10305}
        assert event["destination"] == {"ip": "8.8.8.8", "port": 80, "domain": "evader.example.com"}
        assert event["botes"]["suricata"]["eve"]["pcap_cnt"] == 7

    def test_http_headers_and_ip_host(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("suricata-ipc.eve.json", 4))
        assert event["url"] == {"domain": "22.0.0.3", "original": "/3384", "path": "/3384"}
        assert "domain" not in event["destination"]  # the Host header is an address, not a domain
        assert event["network"]["community_id"] == "1:p1ceBUuGcR8ILP4a2kUZp97NUQM="
        headers = event["botes"]["suricata"]["eve"]["http"]["response_headers"]
        assert headers[0] == {"name": "Server", "value": "Microsoft-IIS/6.0"}


class TestRealDns:
    def test_query(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("tenzir.eve.json", 2))
        assert event["dns"] == {"type": "query", "id": "553",
                                "question": {"name": "irc.freenode.net", "type": "A"}}
        assert event["source"] == {"ip": "147.32.84.165", "port": 1141}
        assert event["destination"] == {"ip": "147.32.80.9", "port": 53}
        assert event["network"] == {"transport": "udp", "iana_number": "17", "protocol": "dns"}
        assert event["related"]["hosts"] == ["irc.freenode.net"]

    def test_v2_answer_with_cnames(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("fever.eve.json", 2))
        assert event["dns"] == {
            "type": "answer", "id": "25783", "response_code": "NOERROR",
            "question": {"name": "static.programme-tv.net", "type": "AAAA"},
            "answers": [
                {"name": "static.programme-tv.net", "type": "CNAME", "ttl": 630,
                 "data": "programme-tv.net.edgesuite.net"},
                {"name": "programme-tv.net.edgesuite.net", "type": "CNAME", "ttl": 20432,
                 "data": "a1859.g.akamai.net"}],
            "header_flags": ["RD", "RA"]}                      # rd and ra true; qr is not a header flag
        assert "resolved_ip" not in event["dns"]               # CNAMEs only
        raw = event["botes"]["suricata"]["eve"]["dns"]
        assert raw["grouped"] == {"CNAME": ["programme-tv.net.edgesuite.net", "a1859.g.akamai.net"]}
        assert raw["authorities"] == [{"rrname": "g.akamai.net", "rrtype": "SOA", "ttl": 1000}]
        assert raw["flags"] == "8180" and raw["version"] == 2


class TestRealTls:
    def test_tls_over_ipv6(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("fever.eve.json", 3))
        assert event["source"] == {"ip": "2a03:b0c0:2:d0::bd3:4001", "port": 48106}
        assert event["destination"] == {"ip": "2606:2800:220:1:248:1893:25c8:1946", "port": 443,
                                        "domain": "example.com"}
        assert event["network"] == {"transport": "tcp", "iana_number": "6", "protocol": "tls"}
        assert event["tls"] == {
            "version": "1.2", "version_protocol": "tls",                       # "TLS 1.2"
            "client": {"server_name": "example.com", "ja3": "1fe4c7a3544eb27afec2adfb3a3dbf60"},
            "server": {
                "subject": "C=US, ST=California, L=Los Angeles, O=Internet Corporation for Assigned Names "
                           "and Numbers, OU=Technology, CN=www.example.org",
                "issuer": "C=US, O=DigiCert Inc, CN=DigiCert SHA2 Secure Server CA",
                "hash": {"sha1": "7BB698386970363D2919CC5772846984FFD4A889"},
                "not_before": "2018-11-28T00:00:00.000Z", "not_after": "2020-12-02T12:00:00.000Z",
                "ja3s": "5d79edf64e03689ff559a54e9d9487bc",
                "x509": {
                    "serial_number": "0FD078DD48F1A2BD4D0F2BA96B6038FE",
                    "not_before": "2018-11-28T00:00:00.000Z", "not_after": "2020-12-02T12:00:00.000Z",
                    "subject": {"country": ["US"], "state_or_province": ["California"],
                                "locality": ["Los Angeles"],
                                "organization": ["Internet Corporation for Assigned Names and Numbers"],
                                "organizational_unit": ["Technology"], "common_name": ["www.example.org"]},
                    "issuer": {"country": ["US"], "organization": ["DigiCert Inc"],
                               "common_name": ["DigiCert SHA2 Secure Server CA"]}}}}
        assert event["related"]["hash"] == ["7BB698386970363D2919CC5772846984FFD4A889",  # certificate sha1
                                            "5d79edf64e03689ff559a54e9d9487bc",  # ja3s
                                            "1fe4c7a3544eb27afec2adfb3a3dbf60"]  # ja3
        assert event["botes"]["suricata"]["eve"]["tls"]["ja3s"] == {"string": "771,49199,65281-0-11-16-23"}


class TestRealFiles:
    def test_fileinfo_with_hashes(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("tenzir.eve.json", 3))
        assert event["file"] == {"path": "/", "size": 301, "hash": {
            "md5": "70041821acf87389e40ddcb092004184",
            "sha1": "10395ab3566395ca050232d2c1a0dbad69eb5fd2",
            "sha256": "2e4c462b3424afcc04f43429d5f001e4ef9a28143bfeefb9af2254b4df3a7c1a"}}
        assert event["source"] == {"ip": "74.207.254.18", "port": 80}        # the server's answer
        assert event["destination"] == {"ip": "147.32.84.165", "port": 1046}  # so no destination.domain
        assert event["url"] == {"domain": "www.nmap.org", "original": "/", "path": "/"}
        assert event["related"]["hash"] == ["70041821acf87389e40ddcb092004184",
                                            "10395ab3566395ca050232d2c1a0dbad69eb5fd2",
                                            "2e4c462b3424afcc04f43429d5f001e4ef9a28143bfeefb9af2254b4df3a7c1a"]
        assert (event["event"]["category"], event["event"]["type"]) == (["network", "file"], ["info"])
        assert "outcome" not in event["event"]  # only http events get one from the status

    def test_fileinfo_over_smb(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("suricata-ipc.eve.json", 3))
        assert event["file"] == {"path": "file69.txt", "name": "file69.txt", "size": 3109}
        assert event["network"] == {"transport": "tcp", "iana_number": "6", "protocol": "smb"}
        assert event["botes"]["suricata"]["eve"]["fileinfo"] == {"gaps": False, "state": "CLOSED",
                                                                 "stored": False, "tx_id": 26}


class TestRealFlows:
    def test_icmpv6_flow(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("suricata-ipc.eve.json", 2))
        assert event["source"] == {"ip": "fe80::7836:ddff:fe67:941f", "packets": 3, "bytes": 210}
        assert event["destination"] == {"ip": "ff02::2", "packets": 0, "bytes": 0}
        assert event["network"] == {"transport": "ipv6-icmp", "iana_number": "58",   # "IPV6-ICMP"
                                    "community_id": "1:ZJ+Tb/l5rNs6uZNnjO05XBTBCYE=",
                                    "bytes": 210, "packets": 3}
        assert event["event"]["start"] == "2016-06-16T21:06:53.839Z"   # 15:06:53.839093-0600
        assert event["event"]["end"] == "2016-06-16T21:07:01.859Z"
        assert event["event"]["duration"] == 8_020_000_000            # from the millisecond times
        assert event["event"]["type"] == ["connection", "start"]      # flow.state new
        assert event["botes"]["suricata"]["eve"]["icmp_type"] == 133

    def test_new_tcp_flow(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("telegraf.eve.json", 3))
        assert event["source"] == {"ip": "192.168.0.121", "port": 50212}
        assert event["destination"] == {"ip": "142.251.130.3", "port": 443}
        assert event["network"] == {"transport": "tcp", "iana_number": "6"}
        assert event["botes"]["network"]["session"] == {"id": "911610881873910", "duration": 0, "state": "new"}

    def test_drop(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("telegraf.eve.json", 5))
        assert (event["event"]["kind"], event["event"]["category"], event["event"]["type"]) == \
            ("event", ["network"], ["denied"])
        assert "protocol" not in event["network"]
        assert event["botes"]["unmapped"]["drop"]["reason"] == "stream error"


class TestRealDnsLayouts:
    """The three EVE DNS layouts, from Suricata's own test suite (suricata-verify; see the data README).
    Whatever the layout, a response carries dns.question.name, so a search on it finds every answer."""

    def test_v1_one_answer_per_record(self, normalizer: Normalizer) -> None:
        events = [normalized(normalizer, real_line("suricata-verify-v1.eve.json", n)) for n in (1, 2, 3)]
        assert [e["dns"] for e in events] == [
            {"type": "answer", "id": "39339", "response_code": "NOERROR",
             "question": {"name": "client-cf.dropbox.com"},
             "answers": [{"name": "client-cf.dropbox.com", "type": "A", "ttl": 47, "data": "52.85.112.21"}],
             "resolved_ip": ["52.85.112.21"]},
            {"type": "answer", "id": "3407", "response_code": "NOERROR",
             "question": {"name": "block.dropbox.com"},  # no type: the record is a CNAME, the query was for A
             "answers": [{"name": "block.dropbox.com", "type": "CNAME", "ttl": 9, "data": "block.g1.dropbox.com"}]},
            {"type": "answer", "id": "3407", "response_code": "NOERROR",
             "question": {"name": "block.g1.dropbox.com"},  # the same reply's second record: the name it answers
             "answers": [{"name": "block.g1.dropbox.com", "type": "A", "ttl": 8, "data": "45.58.70.33"}],
             "resolved_ip": ["45.58.70.33"]}]
        assert events[0]["related"]["hosts"] == ["client-cf.dropbox.com"]
        assert sorted(events[2]["related"]["ip"]) == ["10.16.1.1", "10.16.1.11", "45.58.70.33"]
        assert all(get_path(e, "botes.suricata.eve.dns") is None for e in events)  # nothing left over

    ANSWERS = [{"name": "www.suricata-ids.org", "type": "CNAME", "ttl": 3544, "data": "suricata-ids.org"},
               {"name": "suricata-ids.org", "type": "A", "ttl": 244, "data": "192.0.78.24"},
               {"name": "suricata-ids.org", "type": "A", "ttl": 244, "data": "192.0.78.25"}]

    def test_v2_answers_and_grouped(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, real_line("suricata-verify-checks.eve.json", 1))
        assert event["dns"] == {"type": "answer", "id": "36146", "response_code": "NOERROR",
                                "question": {"name": "www.suricata-ids.org", "type": "A"},
                                "answers": self.ANSWERS, "resolved_ip": ["192.0.78.24", "192.0.78.25"],
                                "header_flags": ["RD", "RA"]}
        assert event["botes"]["suricata"]["eve"]["dns"]["grouped"] == {
            "A": ["192.0.78.24", "192.0.78.25"], "CNAME": ["suricata-ids.org"]}

    def test_v2_grouped_only(self, normalizer: Normalizer) -> None:
        # The same record as Suricata writes it with `formats: [grouped]`: no answers array.
        record = json.loads(real_line("suricata-verify-checks.eve.json", 1))
        del record["dns"]["answers"]
        event = normalized(normalizer, json.dumps(record))
        assert event["dns"]["question"] == {"name": "www.suricata-ids.org", "type": "A"}
        assert event["dns"]["answers"] == [{"type": "A", "data": "192.0.78.24"}, {"type": "A", "data": "192.0.78.25"},
                                           {"type": "CNAME", "data": "suricata-ids.org"}]
        assert event["dns"]["resolved_ip"] == ["192.0.78.24", "192.0.78.25"]

    def test_v3_request_and_response(self, normalizer: Normalizer) -> None:
        request = normalized(normalizer, real_line("suricata-verify-checks.eve.json", 2))
        response = normalized(normalizer, real_line("suricata-verify-checks.eve.json", 3))
        assert request["dns"] == {"type": "query", "id": "36146",
                                  "question": {"name": "www.suricata-ids.org", "type": "A"}}
        assert response["dns"] == {"type": "answer", "id": "36146", "response_code": "NOERROR",
                                   "question": {"name": "www.suricata-ids.org", "type": "A"},
                                   "answers": self.ANSWERS, "resolved_ip": ["192.0.78.24", "192.0.78.25"],
                                   "header_flags": ["RD", "RA"]}
        assert response["source"] == {"ip": "10.16.1.1", "port": 53}  # v3: the responder is the source
        assert "queries" not in response["botes"]["suricata"]["eve"]["dns"]

    def test_v3_alerts_on_a_request_and_a_response(self, normalizer: Normalizer) -> None:
        request = normalized(normalizer, real_line("suricata-verify-checks.eve.json", 4))
        response = normalized(normalizer, real_line("suricata-verify-checks.eve.json", 5))
        assert request["event"]["kind"] == response["event"]["kind"] == "alert"
        assert request["rule"] == {"id": "1", "name": "DNS suricata query.name"}
        assert request["dns"] == {"type": "query", "id": "0", "question": {"name": "suricata.io", "type": "A"}}
        # This check names the answer but not the queries: the question comes from the answer.
        assert response["dns"] == {"type": "answer", "id": "0", "response_code": "NOERROR",
                                   "question": {"name": "suricata.io"},
                                   "answers": [{"name": "suricata.io", "type": "A"}], "header_flags": ["RD", "RA"]}
        assert request["related"]["hosts"] == response["related"]["hosts"] == ["suricata.io"]


REAL_FILES = ("fever.eve.json", "suricata-ipc.eve.json", "telegraf.eve.json", "tenzir.eve.json",
              "suricata-verify-v1.eve.json")
REAL_LINES = [(f, n) for f in REAL_FILES
              for n in range(1, len((DATA / f).read_text(encoding="utf-8").splitlines()) + 1)]


@pytest.mark.parametrize(("file", "number"), REAL_LINES)
def test_real_lines_normalise_without_errors(normalizer: Normalizer, file: str, number: int) -> None:
    event = normalized(normalizer, real_line(file, number))
    assert get_path(event, ERRORS_FIELD) is None
    assert event["event"]["original"] == real_line(file, number)


@pytest.mark.parametrize(("file", "number"), REAL_LINES)
def test_botes_dotted_form_gives_the_same_event(normalizer: Normalizer, file: str, number: int) -> None:
    """BOTES exports carry dotted keys ("alert.signature_id"); EVE nests them. Same event either way."""
    line = real_line(file, number)
    dotted = json.dumps(flatten(json.loads(line)))
    nested_event, dotted_event = normalized(normalizer, line), normalized(normalizer, dotted)
    nested_event["event"].pop("original")
    dotted_event["event"].pop("original")
    assert dotted_event == nested_event


# --- derivations ---------------------------------------------------------------------------------------------

class TestTls:
    @pytest.mark.parametrize(("raw", "version", "protocol"), [
        ("TLS 1.3", "1.3", "tls"), ("TLS 1.0", "1.0", "tls"), ("SSLv3", "3.0", "ssl"), ("SSLv2", "2.0", "ssl"),
        ("DTLS 1.2", "1.2", "dtls")])
    def test_version(self, normalizer: Normalizer, raw: str, version: str, protocol: str) -> None:
        event = normalized(normalizer, eve(event_type="tls", tls={"version": raw}))
        assert event["tls"] == {"version": version, "version_protocol": protocol}

    def test_undetermined_version_is_kept_outside_ecs(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="tls", tls={"version": "UNDETERMINED", "sni": "a.test"}))
        assert event["tls"] == {"client": {"server_name": "a.test"}}
        assert event["botes"]["suricata"]["eve"]["tls"] == {"version": "UNDETERMINED"}

    def test_sni_trailing_dot(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="tls", tls={"sni": "www.example.org."}))
        assert event["tls"]["client"]["server_name"] == "www.example.org"
        assert event["destination"]["domain"] == "www.example.org"

    def test_distinguished_name_with_repeated_and_comma_values(self, normalizer: Normalizer) -> None:
        dn = "CN=shop.example.com, OU=Web, OU=Payments, O=Example, Inc., C=DE"
        event = normalized(normalizer, eve(event_type="tls", tls={"subject": dn}))
        assert event["tls"]["server"]["x509"]["subject"] == {
            "common_name": ["shop.example.com"], "organizational_unit": ["Web", "Payments"],
            "organization": ["Example, Inc."], "country": ["DE"]}

    def test_certificate_times_are_utc_whatever_the_default_timezone(self) -> None:
        line = eve(event_type="tls", tls={"notbefore": "2018-11-28T00:00:00", "notafter": "2020-12-02T12:00:00"})
        event = Normalizer(default_timezone="America/Los_Angeles").normalize_line(line, "suricata")
        assert isinstance(event, dict)
        assert event["tls"]["server"]["not_before"] == "2018-11-28T00:00:00.000Z"
        assert event["tls"]["server"]["x509"]["not_after"] == "2020-12-02T12:00:00.000Z"

    def test_ja4_and_resumed(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="tls", tls={"session_resumed": True,
                                                                  "ja4": "t13d1516h2_8daaf6152771_b186095e22b6"}))
        assert event["tls"] == {"resumed": True}
        assert event["botes"]["suricata"]["eve"]["tls"] == {"ja4": "t13d1516h2_8daaf6152771_b186095e22b6"}


class TestDns:
    def test_v1_answer_becomes_an_answers_array(self, normalizer: Normalizer) -> None:
        line = eve(event_type="dns", dns={"type": "answer", "id": 16000, "rcode": "NOERROR",
                                          "rrname": "www.example.org", "rrtype": "A", "ttl": 300,
                                          "rdata": "192.0.2.10"})
        event = normalized(normalizer, line)
        assert event["dns"] == {"type": "answer", "id": "16000", "response_code": "NOERROR",
                                "answers": [{"name": "www.example.org", "type": "A", "ttl": 300,
                                             "data": "192.0.2.10"}],
                                "resolved_ip": ["192.0.2.10"],
                                "question": {"name": "www.example.org"}}  # from the answer's rrname
        assert event["related"]["ip"] == ["192.0.2.10"]
        assert get_path(event, "botes.suricata.eve.dns") is None  # rdata/ttl moved into the answer

    def test_v2_answer_resolves_a_and_aaaa(self, normalizer: Normalizer) -> None:
        line = eve(event_type="dns", dns={
            "version": 2, "type": "answer", "id": 1, "rrname": "example.org", "rrtype": "AAAA",
            "answers": [{"rrname": "example.org", "rrtype": "AAAA", "ttl": 60, "rdata": "2001:0db8::0001"},
                        {"rrname": "example.org", "rrtype": "TXT", "ttl": 60, "rdata": "v=spf1 -all"}]})
        event = normalized(normalizer, line)
        assert event["dns"]["resolved_ip"] == ["2001:db8::1"]
        assert event["dns"]["question"] == {"name": "example.org", "type": "AAAA"}

    def test_v3_request_and_response(self, normalizer: Normalizer) -> None:
        request = eve(event_type="dns", dns={"version": 3, "type": "request", "id": 7,
                                             "queries": [{"rrname": "example.net", "rrtype": "MX"}]})
        response = eve(event_type="dns", dns={"version": 3, "type": "response", "id": 7, "rcode": "NXDOMAIN",
                                              "queries": [{"rrname": "example.net", "rrtype": "MX"}]})
        for line, dns_type in ((request, "query"), (response, "answer")):
            event = normalized(normalizer, line)
            assert event["dns"]["type"] == dns_type
            assert event["dns"]["question"] == {"name": "example.net", "type": "MX"}
            assert "queries" not in event["botes"]["suricata"]["eve"]["dns"]

    def test_several_v3_queries_are_kept(self) -> None:
        flat = {"dns.queries": [{"rrname": "a.test", "rrtype": "A"}, {"rrname": "b.test", "rrtype": "A"}]}
        prepared = prepare_suricata(flat)
        assert prepared["dns.rrname"] == "a.test"
        assert prepared["dns.queries"] == flat["dns.queries"]

    def test_header_flags(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="dns", dns={"type": "answer", "version": 2, "aa": True,
                                                                  "tc": False, "rd": True, "ra": False}))
        assert event["dns"]["header_flags"] == ["AA", "RD"]


class TestNetwork:
    @pytest.mark.parametrize(("proto", "network"), [
        ("TCP", {"transport": "tcp", "iana_number": "6"}), ("UDP", {"transport": "udp", "iana_number": "17"}),
        ("ICMP", {"transport": "icmp", "iana_number": "1"}),
        ("IPv6-ICMP", {"transport": "ipv6-icmp", "iana_number": "58"}),
        ("SCTP", {"transport": "sctp", "iana_number": "132"}),
        ("047", {"transport": "gre", "iana_number": "47"}),   # Suricata writes numbers it has no name for
        ("253", {"iana_number": "253"})])
    def test_transport(self, normalizer: Normalizer, proto: str, network: dict[str, str]) -> None:
        event = normalized(normalizer, eve(event_type="flow", proto=proto))
        assert event["network"] == network

    @pytest.mark.parametrize(("app_proto", "event_type", "protocol"), [
        ("failed", "flow", None), ("ftp-data", "fileinfo", "ftp"), ("HTTP2", "http2", "http"),
        (None, "ssh", "ssh"), (None, "smb", "smb"), (None, "anomaly", None)])
    def test_protocol(self, normalizer: Normalizer, app_proto: str | None, event_type: str,
                      protocol: str | None) -> None:
        fields: dict[str, Any] = {"event_type": event_type, "proto": "TCP"}
        if app_proto:
            fields["app_proto"] = app_proto
        event = normalized(normalizer, eve(**fields))
        assert event["network"].get("protocol") == protocol

    def test_closed_flow_has_end_type_and_duration(self, normalizer: Normalizer) -> None:
        line = eve(event_type="flow", proto="TCP", flow={"state": "closed", "start": "2016-08-10T21:00:00.000000+0000",
                                                         "end": "2016-08-10T21:01:30.250000+0000"})
        event = normalized(normalizer, line)
        assert event["event"]["type"] == ["connection", "end"]
        assert event["event"]["duration"] == 90_250_000_000

    def test_end_before_start_gives_no_duration(self, normalizer: Normalizer) -> None:
        line = eve(event_type="flow", flow={"start": "2016-08-10T21:01:00+0000", "end": "2016-08-10T21:00:00+0000"})
        assert "duration" not in normalized(normalizer, line)["event"]

    def test_mac_addresses(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="flow", ether={"src_mac": "00:0c:29:5f:5f:2b",
                                                                     "dest_mac": "00-50-56-C0-00-08"}))
        assert event["source"] == {"mac": "00-0C-29-5F-5F-2B"}
        assert event["destination"] == {"mac": "00-50-56-C0-00-08"}


class TestHttpAndAlerts:
    def test_failed_request(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="http", http={"hostname": "a.test", "status": 404,
                                                                    "url": "/x?y=1#top", "protocol": "HTTP/2"}))
        assert event["event"]["outcome"] == "failure"
        assert event["url"] == {"domain": "a.test", "original": "/x?y=1#top", "path": "/x", "query": "y=1",
                                "fragment": "top"}
        assert event["http"]["version"] == "2"

    def test_alert_without_action(self, normalizer: Normalizer) -> None:
        assert normalized(normalizer, eve(event_type="alert"))["event"]["type"] == ["info"]

    def test_rule_metadata_is_kept_whole(self, normalizer: Normalizer) -> None:
        metadata = {"signature_severity": ["Major"], "created_at": ["2016_08_10"], "attack_target": ["Client"]}
        event = normalized(normalizer, eve(event_type="alert", alert={"signature_id": 1, "metadata": metadata}))
        assert event["botes"]["suricata"]["eve"]["alert"]["metadata"] == metadata
        assert "unmapped" not in event["botes"]

    def test_stats_are_metrics(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="stats", stats={"uptime": 8}))
        assert event["event"]["kind"] == "metric"
        assert event["botes"]["suricata"]["eve"]["stats"] == {"uptime": 8}

    def test_event_type_is_case_insensitive(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, eve(event_type="ALERT", alert={"action": "blocked"}))
        assert (event["event"]["kind"], event["event"]["type"]) == ("alert", ["denied"])
