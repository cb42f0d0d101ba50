"""Suricata EVE specifics, following what Elastic's Suricata integration (the Filebeat module's successor)
produces for ECS.

Raw EVE fields without an ECS home stay under ``botes.suricata.eve.*`` (override rows whose target is
``suricata.eve.*``). ``prepare_suricata`` reshapes the few EVE structures a flat field table cannot
express; ``finish_suricata`` derives categorisation and the ECS fields that need more than a rename.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pipeline.addresses import parse_ip
from pipeline.events import Event, get_path, set_path
from pipeline.normalize.sourcetype import SourceType
from pipeline.normalize.urls import split_url_original

__all__ = ["SOURCES", "prepare_suricata", "finish_suricata", "IANA_NUMBERS"]

EVE = "botes.suricata.eve"

# EVE objects whose keys are data (rule metadata keys, DNS record types): kept whole, not key by key.
_OPEN_OBJECTS = ("alert.metadata", "dns.grouped")
_NAIVE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")
_CERT_TIMES = ("tls.notbefore", "tls.notafter")

IANA_NUMBERS = {"icmp": "1", "igmp": "2", "tcp": "6", "udp": "17", "gre": "47", "esp": "50", "ah": "51",
                "ipv6-icmp": "58", "sctp": "132"}
_TRANSPORTS = {number: name for name, number in IANA_NUMBERS.items()}

_CATEGORIES = {"alert": ["network", "intrusion_detection"], "http": ["network", "web"],
               "http2": ["network", "web"], "fileinfo": ["network", "file"]}
_TYPES = {"flow": ["connection"], "netflow": ["connection"], "http": ["access", "protocol"],
          "http2": ["access", "protocol"], "fileinfo": ["info"]}
# Event types that are not an application protocol (all others are named after theirs, as in Filebeat).
_NOT_PROTOCOLS = {"alert", "anomaly", "drop", "fileinfo", "flow", "netflow", "stats", "frame", "pkthdr"}
_PROTOCOL_NAMES = {"http2": "http", "ftp_data": "ftp", "ftp-data": "ftp"}
_NO_PROTOCOL = {"failed", "template", "template-rust", "unknown"}
_DNS_TYPES = {"request": "query", "response": "answer"}  # EVE DNS v3 words for ECS query/answer
_DNS_FLAGS = ("aa", "tc", "rd", "ra", "ad", "cd")
_ANSWER_KEYS = {"rrname": "name", "rrtype": "type", "rdata": "data", "ttl": "ttl"}
_DN_PART = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9.]*=)")
_DN_FIELDS = {"CN": "common_name", "C": "country", "L": "locality", "O": "organization",
              "OU": "organizational_unit", "ST": "state_or_province"}
_TLS_VERSION = re.compile(r"^(TLS|SSL|DTLS)\s*v?\s*(\d+)(?:\.(\d+))?$", re.IGNORECASE)


# --- before the field table ---------------------------------------------------------------------------

def prepare_suricata(flat: dict[str, Any]) -> dict[str, Any]:
    """Reshape EVE structures the field table cannot map key by key."""
    flat = dict(flat)
    for prefix in _OPEN_OBJECTS:
        _gather_object(flat, prefix)
    _answer_to_list(flat)
    _grouped_to_answers(flat)
    _first_query_to_question(flat)
    _question_from_first_answer(flat)
    for key in _CERT_TIMES:
        value = flat.get(key)
        if isinstance(value, str) and _NAIVE_ISO.match(value.strip()):
            flat[key] = value.strip() + "+00:00"  # certificate validity is UTC, whatever the sensor's zone
    return flat


def _gather_object(flat: dict[str, Any], prefix: str) -> None:
    keys = [key for key in flat if key.startswith(f"{prefix}.")]
    if keys:
        flat[prefix] = {key[len(prefix) + 1:]: flat.pop(key) for key in keys}


def _answer_to_list(flat: dict[str, Any]) -> None:
    """EVE DNS v1 logs one answer per event in dns.rrname/rrtype/rdata/ttl: make it dns.answers[0]."""
    if flat.get("dns.type") != "answer" or flat.get("dns.version") not in (None, 1, "1"):
        return
    answer = {key: flat.pop(f"dns.{key}") for key in _ANSWER_KEYS if f"dns.{key}" in flat}
    if answer:
        flat["dns.answers"] = [answer]


def _grouped_to_answers(flat: dict[str, Any]) -> None:
    """EVE DNS v2/v3 with only the ``grouped`` format ({"A": [...], "CNAME": [...]}): its values become
    dns.answers (type and data; grouped answers carry no name or TTL), so dns.resolved_ip is filled too."""
    grouped = flat.get("dns.grouped")
    if "dns.answers" in flat or not isinstance(grouped, dict):
        return
    answers = [{"rrtype": rrtype, "rdata": data} for rrtype, values in grouped.items()
               for data in (values if isinstance(values, list) else [values]) if isinstance(data, str)]
    if answers:
        flat["dns.answers"] = answers


def _first_query_to_question(flat: dict[str, Any]) -> None:
    """EVE DNS v3 lists the queries; ECS has one dns.question (Suricata sends one query per message)."""
    queries = flat.get("dns.queries")
    if not isinstance(queries, list) or not queries or not isinstance(queries[0], dict):
        return
    for key in ("rrname", "rrtype"):
        if key in queries[0]:
            flat.setdefault(f"dns.{key}", queries[0][key])
    if len(queries) == 1:
        del flat["dns.queries"]


def _question_from_first_answer(flat: dict[str, Any]) -> None:
    """A response that does not log its query (every EVE DNS v1 answer record; a v3 response without
    ``queries``) gets dns.question.name from the name its first answer is for, so searches and "top
    queried domains" on dns.question.name find it. For a v1 record later in a CNAME chain that is the
    alias's target (the name that record answers for), not the name first asked; the type is left out,
    since an answer's type (CNAME) need not be the query's (A)."""
    if "dns.rrname" in flat or str(flat.get("dns.type", "")).lower() not in ("answer", "response"):
        return
    answers = flat.get("dns.answers")
    first = answers[0] if isinstance(answers, list) and answers else None
    if isinstance(first, dict) and isinstance(first.get("rrname"), str) and first["rrname"]:
        flat["dns.rrname"] = first["rrname"]


# --- after the field table ----------------------------------------------------------------------------

def finish_suricata(event: Event) -> None:
    event_type = str(get_path(event, f"{EVE}.event_type") or "").lower()
    _categorise(event, event_type)
    _set_network(event, event_type)
    _set_times(event)
    _set_url_and_http(event, event_type)
    _set_tls(event, event_type)
    _set_dns(event)
    _set_file(event)
    for side in ("source", "destination"):
        _format_mac(event, f"{side}.mac")


def _categorise(event: Event, event_type: str) -> None:
    kind = {"alert": "alert", "stats": "metric"}.get(event_type, "event")
    set_path(event, "event.kind", kind)
    set_path(event, "event.category", list(_CATEGORIES.get(event_type, ["network"])))
    if event_type == "alert":
        action = get_path(event, f"{EVE}.alert.action")
        types = {"allowed": ["allowed"], "blocked": ["denied"]}.get(str(action), ["info"])
    elif event_type == "drop":  # a packet the IPS dropped
        types = ["denied"]
    elif event_type in _TYPES:
        types = list(_TYPES[event_type])
    elif event_type and event_type not in _NOT_PROTOCOLS:
        types = ["protocol"]
    else:
        types = ["info"]
    state = get_path(event, "botes.network.session.state")  # flow.state (map row)
    if event_type == "flow" and state in ("new", "closed"):
        types.append("start" if state == "new" else "end")
    set_path(event, "event.type", types)


def _set_network(event: Event, event_type: str) -> None:
    _set_transport(event)
    _set_protocol(event, event_type)
    for counter in ("bytes", "packets"):
        parts = [get_path(event, f"{side}.{counter}") for side in ("source", "destination")]
        numbers = [p for p in parts if isinstance(p, int)]
        if numbers:
            set_path(event, f"network.{counter}", sum(numbers))


def _set_transport(event: Event) -> None:
    """proto: "TCP", "IPv6-ICMP", or the number ("%03u") for protocols Suricata has no name for."""
    raw = get_path(event, "network.transport")
    if not isinstance(raw, str):
        return
    name: str | None = raw.strip().lower()
    if name and name.isdigit():
        number = str(int(name))
        set_path(event, "network.iana_number", number)
        name = _TRANSPORTS.get(number)
    if not name:
        del event["network"]["transport"]
        return
    set_path(event, "network.transport", name)
    if name in IANA_NUMBERS:
        set_path(event, "network.iana_number", IANA_NUMBERS[name])


def _set_protocol(event: Event, event_type: str) -> None:
    """app_proto when Suricata identified one, else the protocol the event type is named after."""
    raw = get_path(event, "network.protocol")
    name = raw.strip().lower() if isinstance(raw, str) else ""
    if name in _NO_PROTOCOL or not name:
        if raw is not None:
            del event["network"]["protocol"]
        name = event_type if event_type not in _NOT_PROTOCOLS else ""
    if name:
        set_path(event, "network.protocol", _PROTOCOL_NAMES.get(name, name))


def _set_times(event: Event) -> None:
    start, end = get_path(event, "event.start"), get_path(event, "event.end")
    if isinstance(start, str) and isinstance(end, str):
        duration = _nanoseconds_between(start, end)
        if duration is not None:
            set_path(event, "event.duration", duration)


def _nanoseconds_between(start: str, end: str) -> int | None:
    begin, finish = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (start, end))
    delta = finish - begin
    if delta.total_seconds() < 0:
        return None
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _set_url_and_http(event: Event, event_type: str) -> None:
    split_url_original(event)
    if event_type == "http":
        _set_destination_domain(event, get_path(event, "url.domain"))
    version = get_path(event, "http.version")
    if isinstance(version, str) and version.upper().startswith("HTTP/"):
        set_path(event, "http.version", version[5:])
    status = get_path(event, "http.response.status_code")
    if event_type == "http" and isinstance(status, int):
        set_path(event, "event.outcome", "success" if status < 400 else "failure")


def _set_destination_domain(event: Event, name: Any) -> None:
    """The server name the client asked for (HTTP Host, TLS SNI) is the destination's domain. Only for
    http and tls events: alerts and fileinfo take source/destination from the packet, which may be the
    server's answer."""
    if isinstance(name, str) and name and parse_ip(name) is None and get_path(event, "destination.domain") is None:
        set_path(event, "destination.domain", name)


def _set_tls(event: Event, event_type: str) -> None:
    sni = get_path(event, "tls.client.server_name")
    if isinstance(sni, str) and sni.endswith("."):
        sni = sni[:-1]
        set_path(event, "tls.client.server_name", sni)
    if event_type == "tls":
        _set_destination_domain(event, sni)
    _split_tls_version(event)
    for role in ("subject", "issuer"):
        dn = get_path(event, f"tls.server.{role}")
        if isinstance(dn, str):
            for key, values in _dn_fields(dn).items():
                set_path(event, f"tls.server.x509.{role}.{key}", values)
    fingerprint = get_path(event, "tls.server.hash.sha1")
    if isinstance(fingerprint, str):
        set_path(event, "tls.server.hash.sha1", fingerprint.replace(":", "").upper())
    serial = get_path(event, "tls.server.x509.serial_number")
    if isinstance(serial, str):
        set_path(event, "tls.server.x509.serial_number", serial.replace(":", "").upper())
    for bound in ("not_before", "not_after"):
        value = get_path(event, f"tls.server.{bound}")
        if value is not None:
            set_path(event, f"tls.server.x509.{bound}", value)


def _split_tls_version(event: Event) -> None:
    """EVE "TLS 1.2" is ECS tls.version "1.2" and tls.version_protocol "tls"; "SSLv3" is "3.0", "ssl"."""
    version = get_path(event, "tls.version")
    if not isinstance(version, str):
        return
    match = _TLS_VERSION.match(version.strip())
    if match is None:  # e.g. UNDETERMINED: not a version, kept as Suricata wrote it
        del event["tls"]["version"]
        set_path(event, f"{EVE}.tls.version", version)
        return
    protocol, major, minor = match.groups()
    set_path(event, "tls.version", f"{major}.{minor or 0}")
    set_path(event, "tls.version_protocol", protocol.lower())


def _dn_fields(dn: str) -> dict[str, list[str]]:
    """"C=US, O=DigiCert Inc, CN=DigiCert SHA2 Secure Server CA" -> ECS x509 name fields (arrays)."""
    fields: dict[str, list[str]] = {}
    for part in _DN_PART.split(dn.strip()):
        key, _, value = part.partition("=")
        name = _DN_FIELDS.get(key.strip().upper())
        if name and value.strip():
            fields.setdefault(name, []).append(value.strip())
    return fields


def _set_dns(event: Event) -> None:
    dns_type = get_path(event, "dns.type")
    if isinstance(dns_type, str) and dns_type.lower() in _DNS_TYPES:
        set_path(event, "dns.type", _DNS_TYPES[dns_type.lower()])
    answers = get_path(event, "dns.answers")
    if isinstance(answers, list):
        ecs_answers = [_ecs_answer(a) for a in answers if isinstance(a, dict)]
        set_path(event, "dns.answers", ecs_answers)
        resolved = [a["data"] for a in ecs_answers
                    if a.get("type") in ("A", "AAAA") and parse_ip(a.get("data")) is not None]
        if resolved:
            set_path(event, "dns.resolved_ip", [str(parse_ip(ip)) for ip in resolved])
    flags = [flag.upper() for flag in _DNS_FLAGS if get_path(event, f"{EVE}.dns.{flag}") is True]
    if flags:
        set_path(event, "dns.header_flags", flags)


def _ecs_answer(answer: dict[str, Any]) -> dict[str, Any]:
    ecs: dict[str, Any] = {}
    for key, value in answer.items():
        name = _ANSWER_KEYS.get(key, key)
        if name == "ttl" and isinstance(value, str) and value.isdigit():
            value = int(value)
        ecs[name] = value
    return ecs


def _set_file(event: Event) -> None:
    path = get_path(event, "file.path")
    if isinstance(path, str):
        name = path.replace("\\", "/").rstrip("/").rpartition("/")[2]
        if name:
            set_path(event, "file.name", name)


def _format_mac(event: Event, path: str) -> None:
    """ECS MAC format: upper-case hex pairs joined by hyphens."""
    mac = get_path(event, path)
    if isinstance(mac, str):
        digits = re.sub(r"[^0-9A-Fa-f]", "", mac)
        if len(digits) == 12:
            set_path(event, path, "-".join(digits[i:i + 2] for i in range(0, 12, 2)).upper())


SOURCES = (
    SourceType("suricata", "ids", "suricata", {"vendor": "OISF", "product": "Suricata", "type": "ids"},
               finish_suricata, prepare_suricata, aliases=("suricata:eve",)),
)
