"""Splunk Stream specifics: the wire-data sensor's flow and protocol records (``stream:dns``, ``stream:http``, ...).

Every Stream record describes one flow or one protocol transaction between a client (``src_*``) and a
server (``dest_*``), from ``timestamp`` (its start) to ``endtime``. What all eleven source types share:

- ``prepare_stream`` brings Stream's own JSON to the Splunk spelling the maps use (an array ``"query": [...]``
  is the multi-value field ``query{}``, an array of objects ``varbind_list`` gives ``varbind_list{}.oid``),
  keeps one event time, and turns HTTP and certificate dates into ISO text;
- ``finish_stream_flow`` derives what ECS wants from the flow: lower-case transport/protocol/application
  (from ``protocol_stack`` when absent), ``network.type``, ECS MAC notation, ``event.duration`` in
  nanoseconds (Stream's ``time_taken`` is microseconds), ``event.start`` and ``event.timezone``;
- ``StreamFinish`` adds the categorisation of one source type and its protocol's own derivations
  (``finish_dns``, ``finish_http``, ``finish_tls``, ``finish_icmp``).

Field choices that differ from the BOTES maps are rows of ``pipeline/data/field_overrides.csv``, each with
its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from pipeline.addresses import parse_ip
from pipeline.events import Event, get_path, set_path
from pipeline.normalize.network import IANA_TRANSPORTS, format_macs, transport_from_iana_number
from pipeline.normalize.records import flatten
from pipeline.normalize.sourcetype import SourceType
from pipeline.normalize.urls import split_url_original

__all__ = ["SOURCES", "StreamFinish", "prepare_stream", "finish_stream_flow", "finish_dns", "finish_http",
           "finish_tls", "finish_icmp"]

# Most precise first: Splunk takes _time from Stream's timestamp, and BOTES' time is the same instant.
_EVENT_TIMES = ("timestamp", "_time", "time")
# Text dates as they appear on the wire: HTTP headers (RFC 9110) and certificate validity (OpenSSL style).
_TEXT_DATES = frozenset({"cs_date", "sc_date", "expires", "ssl_validity_start", "ssl_validity_end"})
_OPENSSL_DATE = "%b %d %H:%M:%S %Y %Z"

_TRANSPORT_ALIASES = {"icmpv6": "ipv6-icmp", "icmp6": "ipv6-icmp"}
_TRANSPORTS = frozenset(IANA_TRANSPORTS.values()) | frozenset(_TRANSPORT_ALIASES)
_NOT_APPLICATION = _TRANSPORTS | {"ip", "ipv4", "ipv6", "unknown", "eth", "ethernet", "vlan"}
_TLS_VERSION = re.compile(r"^(tls|ssl)\s*v?\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)


# --- prepare: raw record fixes before the field table --------------------------------------------------------


def prepare_stream(flat: dict[str, Any]) -> dict[str, Any]:
    """Stream JSON in the maps' Splunk spelling, with one event time and ISO dates."""
    prepared: dict[str, Any] = {}
    for key, value in flat.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            prepared.update(_exploded(key, value))
        elif isinstance(value, list) and "{}" not in key:
            prepared[f"{key}{{}}"] = value
        else:
            prepared[key] = value
    _keep_one_event_time(prepared)
    for key, value in prepared.items():
        if key.removesuffix("{}") in _TEXT_DATES:
            prepared[key] = [_iso_date(v) for v in value] if isinstance(value, list) else _iso_date(value)
    return prepared


def _exploded(key: str, items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """An array of objects as Splunk names it: ``[{"oid": "1.3"}]`` under ``varbind_list`` is ``varbind_list{}.oid``."""
    base = key if key.endswith("{}") else f"{key}{{}}"
    columns: dict[str, list[Any]] = {}
    for item in items:
        for sub, value in flatten(item).items():
            columns.setdefault(f"{base}.{sub}", []).append(value)
    return columns


def _keep_one_event_time(flat: dict[str, Any]) -> None:
    present = [key for key in _EVENT_TIMES if flat.get(key) not in (None, "", [])]
    for key in present[1:]:
        del flat[key]  # the same instant, less precisely; still in event.original


def _iso_date(value: Any) -> Any:
    """An HTTP or OpenSSL date as ISO 8601 UTC text; anything else unchanged (the table then converts it)."""
    if not isinstance(value, str):
        return value
    moment: datetime | None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        try:
            moment = datetime.strptime(value.strip(), _OPENSSL_DATE).replace(tzinfo=UTC)
        except ValueError:
            return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # RFC 9110: "-0000" (no zone given) means UTC
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- finish: derivations shared by every Stream record ------------------------------------------------------


def finish_stream_flow(event: Event, protocol: str | None = None) -> None:
    """What ECS wants from any Stream flow record, derived from the fields the table set; ``protocol`` is
    the application protocol of the source type (``dns`` for stream:dns), used when the record names none."""
    layers = _protocol_layers(event)
    _set_transport(event, layers)
    _set_protocol(event, layers, protocol)
    application = get_path(event, "network.application")
    if isinstance(application, str):
        set_path(event, "network.application", application.lower())
    _set_network_type(event)
    format_macs(event)
    micros = get_path(event, "event.duration")
    if isinstance(micros, int) and not isinstance(micros, bool):
        set_path(event, "event.duration", micros * 1000)  # Stream time_taken is microseconds; ECS wants ns
    if get_path(event, "event.end") is not None and "@timestamp" in event:
        set_path(event, "event.start", event["@timestamp"])  # Stream's timestamp is when the flow started
    _set_timezone(event)


def _protocol_layers(event: Event) -> list[str]:
    stack = get_path(event, "botes.network.protocol_stack")
    return [layer.strip().lower() for layer in stack.split(":")] if isinstance(stack, str) else []


def _set_transport(event: Event, layers: list[str]) -> None:
    transport = get_path(event, "network.transport")
    if isinstance(transport, str):
        name = transport.strip().lower()
        set_path(event, "network.transport", _TRANSPORT_ALIASES.get(name, name))
        return
    if transport_from_iana_number(event):
        return
    for layer in layers:
        if layer in _TRANSPORTS:
            set_path(event, "network.transport", _TRANSPORT_ALIASES.get(layer, layer))
            return


def _set_protocol(event: Event, layers: list[str], default: str | None) -> None:
    protocol = get_path(event, "network.protocol")
    if isinstance(protocol, str):
        set_path(event, "network.protocol", protocol.strip().lower())
    elif layers and layers[-1] not in _NOT_APPLICATION:
        set_path(event, "network.protocol", layers[-1])
    elif default is not None:
        set_path(event, "network.protocol", default)


def _set_network_type(event: Event) -> None:
    for field in ("source.ip", "destination.ip"):
        address = parse_ip(get_path(event, field))
        if address is not None:
            set_path(event, "network.type", f"ipv{address.version}")
            return


def _set_timezone(event: Event) -> None:
    """Splunk's date_zone is the offset from UTC in minutes, or ``local`` when the time carried no zone;
    ECS event.timezone takes ``+HH:MM``, and ``local`` names no zone, so it stays under botes.splunk."""
    zone = get_path(event, "event.timezone")
    if zone is None:
        return
    if isinstance(zone, str) and re.fullmatch(r"[+-]?\d{1,4}", zone.strip()):
        minutes = int(zone)
        hours, rest = divmod(abs(minutes), 60)
        set_path(event, "event.timezone", f"{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}")
    else:
        del event["event"]["timezone"]
        set_path(event, "botes.splunk.date_zone", zone)


# --- finish: protocol-specific derivations ------------------------------------------------------------------


def finish_dns(event: Event) -> None:
    """One question, ECS dns.type and response code, outcome, and dns.answers objects from Stream's arrays."""
    for field in ("dns.question.name", "dns.question.type"):
        _collapse_repeats(event, field)  # Stream repeats the question for the query and the response message
    _set_dns_type(event)
    code = get_path(event, "dns.response_code")
    if isinstance(code, str):
        set_path(event, "dns.response_code", code.upper())  # RFC 6895 mnemonics: NOERROR, NXDOMAIN, ...
        set_path(event, "event.outcome", "success" if code.upper() == "NOERROR" else "failure")
    _build_dns_answers(event)


def _collapse_repeats(event: Event, field: str) -> None:
    value = get_path(event, field)
    if isinstance(value, list):
        distinct = list(dict.fromkeys(value))
        set_path(event, field, distinct[0] if len(distinct) == 1 else distinct)


def _set_dns_type(event: Event) -> None:
    """Stream's message_type lists QUERY and/or RESPONSE; ECS dns.type is ``answer`` for a full exchange."""
    value = get_path(event, "dns.type")
    kinds = {str(v).strip().lower() for v in (value if isinstance(value, list) else [value]) if v is not None}
    if "response" in kinds or "answer" in kinds:
        set_path(event, "dns.type", "answer")
    elif "query" in kinds:
        set_path(event, "dns.type", "query")


def _build_dns_answers(event: Event) -> None:
    """Stream lists answers as parallel arrays (hostname{}, host_addr{}, ttl{}, record_type); ECS wants one
    object per answer. Only arrays of one length are zipped; otherwise they stay under botes.dns.answers."""
    parts = get_path(event, "dns.answers")
    if not isinstance(parts, dict):
        return
    columns = {key: value if isinstance(value, list) else [value] for key, value in parts.items()}
    data = columns.get("data", [])
    addresses = [address for address in (parse_ip(item) for item in data) if address is not None]
    if addresses:
        set_path(event, "dns.resolved_ip", list(dict.fromkeys(str(a) for a in addresses)))
    del event["dns"]["answers"]
    if not event["dns"]:
        del event["dns"]
    if not data or len({len(column) for column in columns.values()}) != 1:
        for key, value in parts.items():
            set_path(event, f"botes.dns.answers.{key}", value)
        return
    answers = [{key: column[i] for key, column in columns.items()} for i in range(len(data))]
    for answer in answers:
        address = parse_ip(answer["data"])
        if "type" not in answer and address is not None:
            answer["type"] = "A" if address.version == 4 else "AAAA"
    set_path(event, "dns.answers", answers)


def finish_http(event: Event) -> None:
    """url.domain without the port Stream's site (the Host header) carries, http.version as ECS writes it,
    url.path and url.query from the request target where Stream gave none, and the outcome from the status."""
    _split_site(event)
    version = get_path(event, "http.version")
    if version is not None:
        set_path(event, "http.version", _map_values(version, _http_version))
    split_url_original(event)
    codes = get_path(event, "http.response.status_code")
    codes = [c for c in (codes if isinstance(codes, list) else [codes]) if isinstance(c, int)]
    if codes:
        set_path(event, "event.outcome", "failure" if max(codes) >= 400 else "success")


def _split_site(event: Event) -> None:
    site = get_path(event, "url.domain")
    if site is None:
        return
    hosts: list[str] = []
    ports: list[int] = []
    for value in site if isinstance(site, list) else [site]:
        host, port = _host_and_port(str(value))
        hosts.append(host)
        if port is not None:
            ports.append(port)
    set_path(event, "url.domain", hosts[0] if not isinstance(site, list) else hosts)
    if len(set(ports)) == 1:
        set_path(event, "url.port", ports[0])


def _host_and_port(site: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(f"//{site.strip()}")
        port = parts.port
    except ValueError:
        return site, None
    return (parts.hostname or site), port


def _http_version(value: Any) -> Any:
    return value.strip().upper().removeprefix("HTTP/") if isinstance(value, str) else value


def finish_tls(event: Event) -> None:
    """Stream's ssl_version (``TLSv1.2``, ``SSLv3``) as ECS tls.version (``1.2``, ``3.0``) and
    tls.version_protocol (``tls``, ``ssl``)."""
    version = get_path(event, "tls.version")
    match = _TLS_VERSION.match(version.strip()) if isinstance(version, str) else None
    if match:
        number = match.group(2)
        set_path(event, "tls.version_protocol", match.group(1).lower())
        set_path(event, "tls.version", number if "." in number else f"{number}.0")


def finish_icmp(event: Event) -> None:
    """A stream:icmp record is ICMP (ICMPv6 between IPv6 addresses) even when it names no transport."""
    if get_path(event, "network.transport") is None:
        ipv6 = get_path(event, "network.type") == "ipv6"
        set_path(event, "network.transport", "ipv6-icmp" if ipv6 else "icmp")


def _map_values(value: Any, change: Callable[[Any], Any]) -> Any:
    return [change(v) for v in value] if isinstance(value, list) else change(value)


# --- the source types ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamFinish:
    """The finish hook of one Stream source type: shared flow derivations, its protocol's, then ECS
    categorisation (as Packetbeat, the Elastic wire-data sensor, categorises the same records)."""

    categories: tuple[str, ...]
    types: tuple[str, ...]
    protocol: str | None = None  # the application protocol every record of the source type carries
    steps: tuple[Callable[[Event], None], ...] = ()

    def __call__(self, event: Event) -> None:
        finish_stream_flow(event, self.protocol)
        for step in self.steps:
            step(event)
        set_path(event, "event.kind", "event")
        set_path(event, "event.category", list(self.categories))
        set_path(event, "event.type", list(self.types))


_FLOW = StreamFinish(("network",), ("connection",))


def _protocol(name: str, *steps: Callable[[Event], None], web: bool = False) -> StreamFinish:
    categories = ("network", "web") if web else ("network",)
    return StreamFinish(categories, ("connection", "protocol"), name, steps)


_OBSERVER = {"vendor": "Splunk", "product": "Stream", "type": "sensor"}


def _stream_source(protocol: str, finish: StreamFinish) -> SourceType:
    return SourceType(f"stream-{protocol}", "stream", "splunk_stream", _OBSERVER, finish, prepare_stream,
                      (f"stream:{protocol}",))


SOURCES = tuple(_stream_source(protocol, finish) for protocol, finish in (
    ("dhcp", _protocol("dhcp")),
    ("dns", _protocol("dns", finish_dns)),
    ("http", _protocol("http", finish_http, web=True)),
    ("icmp", StreamFinish(("network",), ("connection",), steps=(finish_icmp,))),
    ("ip", _FLOW),
    ("ldap", _protocol("ldap")),
    ("mapi", _protocol("mapi")),
    ("sip", _protocol("sip")),
    ("smb", _protocol("smb")),
    ("snmp", _protocol("snmp")),
    ("tcp", StreamFinish(("network",), ("connection",), steps=(finish_tls,))),
))
