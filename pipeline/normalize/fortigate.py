"""FortiGate specifics: the time split over several fields, and ECS derivations for traffic, UTM and event logs.

The three BOTES maps (``fgt_traffic``, ``fgt_utm``, ``fgt_event``) and the rows of
``pipeline/data/field_overrides.csv`` place the fields; this module fixes raw values before the table
(``prepare_fortigate``) and derives what the table cannot (``finish_fgt_*``): ``network.transport`` from the
IANA number, ECS ``event.kind/category/type/outcome``, MAC and duration formats, ``observer.name`` and
``observer.hostname`` from each other (or from the syslog header), ``user.name`` and ``source.user.name`` from each
other on event logs, the client address of ``ui``/``userfrom``, and the parts of a DNS query name. Besides BOTES
JSON, each type reads FortiGate's own syslog ``key=value`` lines, with or without an RFC 5424 header
(``parse_fortigate_syslog``).
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.addresses import parse_ip
from pipeline.events import Event, get_path, remove_path, set_path
from pipeline.normalize.domains import domain_parts
from pipeline.normalize.fortigate_kv import parse_fortigate_kv
from pipeline.normalize.network import format_macs, transport_from_iana_number
from pipeline.normalize.sourcetype import SourceType
from pipeline.normalize.urls import split_url_original

__all__ = ["SOURCES", "prepare_fortigate", "finish_fgt_traffic", "finish_fgt_utm", "finish_fgt_event",
           "zone_offset", "parse_fortigate_syslog", "SYSLOG_HOSTNAME"]

# redirect: a DNS filter answered a blocked name with the block portal's address
_DENIED_ACTIONS = frozenset({"deny", "denied", "blocked", "block", "dropped", "drop", "reset",
                             "clear_session", "redirect"})
_ALLOWED_ACTIONS = frozenset({"accept", "allow", "allowed", "pass", "passthrough", "monitored", "detected",
                              "close", "start", "timeout", "client-rst", "server-rst", "log-only", "permit"})
_SESSION_PHASES = {"start": "start", "close": "end", "timeout": "end", "client-rst": "end", "server-rst": "end"}
_CLOCK = re.compile(r"^\d{1,2}:\d{2}:\d{2}$")
_ZONE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?$", re.IGNORECASE)
_PLACEHOLDERS = frozenset({"N/A"})  # FortiOS writes N/A for "no value"
# FortiOS's words for "none" in fields the table placed: no country for private and reserved addresses,
# no role given to an interface.
_NOTHING = {"source.geo.country_name": "Reserved", "destination.geo.country_name": "Reserved",
            "observer.ingress.zone": "undefined", "observer.egress.zone": "undefined"}
# service/app "udp/5353" is a port FortiOS could not name, not an application protocol: kept under botes.
_PORT_ONLY = re.compile(r"^(?:tcp|udp|sctp|icmp6?|ip)/\d+$", re.IGNORECASE)
_UNNAMED = {"network.protocol": "botes.network.service", "network.application": "botes.application.name"}
# Keys applied last, in this order, so the most trustworthy one wins when a record has several:
# the vendor's own action over Splunk's CIM action, and eventtime (epoch, UTC) over date+time over _time.
_LAST = ("action", "vendor_action", "_time", "time", "eventtime")
# The RFC 5424 header's host name, as parse_fortigate_syslog names it in the record (FortiOS has no such key).
SYSLOG_HOSTNAME = "syslog_hostname"
# <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA, then the key=value message
_RFC5424 = re.compile(r"^\s*<\d{1,3}>\d{1,2} \S+ (?P<hostname>\S+) \S+ \S+ \S+ "
                      r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: |$)")
_DIRECTIONS = {"outgoing": "outbound", "incoming": "inbound"}
_ECS_DIRECTIONS = frozenset({"ingress", "egress", "inbound", "outbound", "internal", "external", "unknown"})


# --- before the field table -----------------------------------------------------------------------------

def zone_offset(zone: str) -> str | None:
    """``-0700``, ``-07:00``, ``UTC-7`` or ``GMT+5:30`` as an ECS offset (``-07:00``); None if not one."""
    match = _ZONE.match(zone.strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes or 0) > 59:
        return None
    return f"{sign}{int(hours):02d}:{minutes or '00'}"


def _join_date_and_time(flat: dict[str, Any]) -> None:
    date, clock = flat.get("date"), flat.get("time")
    if not (isinstance(date, str) and isinstance(clock, str) and _CLOCK.match(clock.strip())):
        return
    zone = flat.get("tz")
    offset = zone_offset(zone) if isinstance(zone, str) else None
    flat["time"] = f"{date.strip()}T{clock.strip().zfill(8)}{offset or ''}"
    del flat["date"]


def _last_wins_order(flat: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: value for key, value in flat.items() if key not in _LAST}
    ordered.update((key, flat[key]) for key in _LAST if key in flat)
    return ordered


def parse_fortigate_syslog(line: str) -> dict[str, str]:
    """The ``key=value`` pairs of a FortiGate line; an RFC 5424 header (FortiOS ``set format rfc5424``, or a
    FortiManager/FortiAnalyzer forwarding the log) adds its host name as ``syslog_hostname`` (``-``, RFC 5424's
    "no value", adds nothing). The header's time is not used: FortiOS puts eventtime in the message."""
    header = _RFC5424.match(line)
    if header is None:
        return parse_fortigate_kv(line)
    record = parse_fortigate_kv(line[header.end():])
    if header["hostname"] != "-":
        record.setdefault(SYSLOG_HOSTNAME, header["hostname"])
    return record


def _split_address_list(flat: dict[str, Any]) -> None:
    addresses = flat.get("ipaddr")  # DNS logs: every address of the answer, "192.0.2.1, 192.0.2.2"
    if isinstance(addresses, str):  # ECS dns.resolved_ip is an array, even of one address
        flat["ipaddr"] = [part.strip() for part in addresses.split(",") if part.strip()]


def prepare_fortigate(flat: dict[str, Any]) -> dict[str, Any]:
    """Drop ``N/A`` placeholders, give ``tz`` the ECS offset form, join ``date`` + ``time`` (+ ``tz``), split the
    address list of a DNS answer."""
    flat = {key: value for key, value in flat.items() if not (isinstance(value, str) and value in _PLACEHOLDERS)}
    zone = flat.get("tz")
    if isinstance(zone, str) and (offset := zone_offset(zone)) is not None:
        flat["tz"] = offset
    _join_date_and_time(flat)
    _split_address_list(flat)
    return _last_wins_order(flat)


# --- after the field table: shared by the three source types --------------------------------------------

def _lower(event: Event, path: str) -> None:
    value = get_path(event, path)
    if isinstance(value, str):
        set_path(event, path, value.lower())


def _drop_nothing_values(event: Event) -> None:
    for path, nothing in _NOTHING.items():
        if get_path(event, path) == nothing:
            remove_path(event, path)


def _move_port_only_names(event: Event) -> None:
    for path, custom in _UNNAMED.items():
        value = get_path(event, path)
        if isinstance(value, str) and _PORT_ONLY.match(value):
            remove_path(event, path)
            set_path(event, custom, value)


def _duration_in_nanoseconds(event: Event) -> None:
    seconds = get_path(event, "event.duration")
    if isinstance(seconds, int):  # FortiOS counts whole seconds; ECS event.duration is in nanoseconds
        set_path(event, "event.duration", seconds * 1_000_000_000)


def _sum_directions(event: Event) -> None:
    for counter in ("bytes", "packets"):
        sent, received = get_path(event, f"source.{counter}"), get_path(event, f"destination.{counter}")
        if get_path(event, f"network.{counter}") is None and isinstance(sent, int) and isinstance(received, int):
            set_path(event, f"network.{counter}", sent + received)


def _normalize_direction(event: Event) -> None:
    direction = get_path(event, "network.direction")
    if isinstance(direction, str):
        value = _DIRECTIONS.get(direction.lower(), direction.lower())
        set_path(event, "network.direction", value if value in _ECS_DIRECTIONS else "unknown")


def _observer_names(event: Event) -> None:
    """devname is both the observer's name and its host name; without it, the syslog header's host is."""
    name, hostname = get_path(event, "observer.name"), get_path(event, "observer.hostname")
    if name is None and hostname is None:
        name = hostname = get_path(event, "log.syslog.hostname")
    if name is not None or hostname is not None:
        set_path(event, "observer.name", name if name is not None else hostname)
        set_path(event, "observer.hostname", hostname if hostname is not None else name)


_INTERFACE_ADDRESS = re.compile(r"^[\w.-]+\(([0-9A-Fa-f.:]+)\)$")  # https(192.0.2.1), GUI(...), JSON(...)


def _client_from_interface(event: Event) -> None:
    """ui/userfrom name the admin interface and the client address; the address is source.ip if none is set."""
    interface = get_path(event, "botes.source.user.interface")
    if get_path(event, "source.ip") is not None or not isinstance(interface, str):
        return
    match = _INTERFACE_ADDRESS.match(interface.strip())
    address = parse_ip(match.group(1)) if match else None
    if address is not None:
        set_path(event, "source.ip", str(address))


def _dns_question_parts(event: Event) -> None:
    name = get_path(event, "dns.question.name")
    parts = domain_parts(name) if isinstance(name, str) else None
    if parts is None:
        return
    set_path(event, "dns.question.registered_domain", parts.registered_domain)
    set_path(event, "dns.question.top_level_domain", parts.top_level_domain)
    if parts.subdomain:
        set_path(event, "dns.question.subdomain", parts.subdomain)


def _finish_fortigate(event: Event) -> None:
    _observer_names(event)
    _client_from_interface(event)
    _dns_question_parts(event)
    transport_from_iana_number(event)
    _move_port_only_names(event)
    _lower(event, "network.protocol")
    _lower(event, "network.application")
    format_macs(event)
    _drop_nothing_values(event)
    _duration_in_nanoseconds(event)
    _sum_directions(event)
    _normalize_direction(event)
    split_url_original(event)  # FortiOS url: mostly the request target alone, sometimes absolute


def _verdict(event: Event, *paths: str) -> str | None:
    """denied if any of the action fields denies, allowed if the first one allows, else None."""
    for path in paths:
        action = get_path(event, path)
        if isinstance(action, str) and action.lower() in _DENIED_ACTIONS:
            return "denied"
    action = get_path(event, paths[0])
    if isinstance(action, str) and action.lower() in _ALLOWED_ACTIONS:
        return "allowed"
    return None


def _categorize(event: Event, kind: str, categories: list[str], types: list[str]) -> None:
    set_path(event, "event.kind", kind)
    set_path(event, "event.category", categories)
    set_path(event, "event.type", types)


# --- traffic --------------------------------------------------------------------------------------------

def finish_fgt_traffic(event: Event) -> None:
    """A session log: network/connection, start or end of the session, allowed or denied."""
    _finish_fortigate(event)
    action = get_path(event, "event.action")
    types = ["connection"]
    phase = _SESSION_PHASES.get(action.lower()) if isinstance(action, str) else None
    if phase is not None:
        types.append(phase)
    # a session no policy denied is allowed, whatever word ended it; a UTM block (utmaction) denies it
    types.append(_verdict(event, "event.action", "botes.threat.action") or "allowed")
    _categorize(event, "event", ["network"], types)


# --- UTM (security profiles) ----------------------------------------------------------------------------

_UTM_CATEGORIES = {
    "virus": ["malware", "network"], "ips": ["intrusion_detection", "network"],
    "anomaly": ["intrusion_detection", "network"], "waf": ["intrusion_detection", "web"],
    "webfilter": ["network", "web"], "emailfilter": ["email"], "file-filter": ["file", "network"],
}
_DETECTIONS = ("botes.threat.virus.name", "vulnerability.id", "vulnerability.description")


def _is_alert(event: Event, subtype: object, verdict: str | None) -> bool:
    detected = any(get_path(event, path) is not None for path in _DETECTIONS)
    return verdict == "denied" or detected or subtype in ("dlp", "ips", "anomaly")


def finish_fgt_utm(event: Event) -> None:
    """A security-profile log: an alert when something was blocked or detected, else an event."""
    _finish_fortigate(event)
    subtype = get_path(event, "botes.log.subtype")
    verdict = _verdict(event, "event.action")
    kind = "alert" if _is_alert(event, subtype, verdict) else "event"
    categories = _UTM_CATEGORIES.get(str(subtype), ["network"])
    _categorize(event, kind, list(categories), ["info", verdict] if verdict else ["info"])


# --- event (system, user, VPN, ...) ---------------------------------------------------------------------

_EVENT_DEFAULTS = {"user": (["authentication"], ["info"]), "vpn": (["network"], ["connection"]),
                   "wireless": (["network"], ["info"]), "router": (["network"], ["info"])}
_LOGIN_PHASES = {"login": "start", "logon": "start", "logout": "end", "logoff": "end"}
_TUNNEL_PHASES = {"tunnel-up": "start", "tunnel-down": "end"}
_CONFIG_TYPES = {"add": "creation", "edit": "change", "set": "change", "delete": "deletion"}
_SUCCESS = frozenset({"success", "succeeded", "successful", "ok", "logout", "logon"})
_FAILURE = frozenset({"failure", "failed", "fail", "error", "negotiate_error", "deny", "denied", "timeout"})
_FAILED_ACTION_WORDS = frozenset({"fail", "failed", "failure"})  # ssl-login-fail, ssh-login-failed, ...


def _login_phase(action: str) -> str | None:
    """auth-logon, FSSO-logoff, login, ssl-login-fail, ... -> start or end."""
    words = re.split(r"[-_ ]", action.lower())
    return next((_LOGIN_PHASES[word] for word in words if word in _LOGIN_PHASES), None)


def _event_categories(event: Event, subtype: str, action: str) -> tuple[list[str], list[str]]:
    if (phase := _login_phase(action)) is not None:
        return ["authentication"], [phase]
    if subtype == "vpn" and action.lower() in _TUNNEL_PHASES:
        return ["network"], ["connection", _TUNNEL_PHASES[action.lower()]]
    if action.lower() in _CONFIG_TYPES or get_path(event, "botes.config.path") is not None:
        return ["configuration"], [_CONFIG_TYPES.get(action.lower(), "change")]
    if get_path(event, "botes.dhcp.message") is not None:
        return ["network"], ["info"]
    categories, types = _EVENT_DEFAULTS.get(subtype, (["host"], ["info"]))
    return list(categories), list(types)


def _outcome(event: Event) -> str | None:
    """From status or result (a word), else from the action's name, else from authmsg (a sentence)."""
    for path in ("botes.log.status", "botes.log.result"):
        value = get_path(event, path)
        if isinstance(value, str) and value.lower() in _SUCCESS:
            return "success"
        if isinstance(value, str) and value.lower() in _FAILURE:
            return "failure"
    action = get_path(event, "event.action")
    if isinstance(action, str) and _FAILED_ACTION_WORDS.intersection(re.split(r"[-_ ]", action.lower())):
        return "failure"
    message = get_path(event, "botes.log.authmsg")
    if isinstance(message, str) and "fail" in message.lower():
        return "failure"
    if isinstance(message, str) and "success" in message.lower():
        return "success"
    return None


def _mirror_user_names(event: Event) -> None:
    """On an event log the user is both the account the event is about (user.name, which authentication rules
    read) and the user behind the source address: each fills the other when only one is set."""
    user, source_user = get_path(event, "user.name"), get_path(event, "source.user.name")
    if user is None and source_user is not None:
        set_path(event, "user.name", source_user)
    elif source_user is None and user is not None:
        set_path(event, "source.user.name", user)


def finish_fgt_event(event: Event) -> None:
    """A system, user, VPN, ... log: categorised from subtype and action, outcome from status/result/action/authmsg."""
    _finish_fortigate(event)
    _mirror_user_names(event)
    subtype, action = get_path(event, "botes.log.subtype"), get_path(event, "event.action")
    categories, types = _event_categories(event, str(subtype or ""), action if isinstance(action, str) else "")
    _categorize(event, "event", categories, types)
    if (outcome := _outcome(event)) is not None:
        set_path(event, "event.outcome", outcome)


_OBSERVER = {"vendor": "Fortinet", "product": "FortiGate", "type": "firewall"}

SOURCES = (
    SourceType("fgt_traffic", "firewall", "fortinet", _OBSERVER, finish_fgt_traffic, prepare_fortigate,
               ("fgt:traffic",), parse_fortigate_syslog),
    SourceType("fgt_utm", "firewall", "fortinet", _OBSERVER, finish_fgt_utm, prepare_fortigate,
               ("fgt:utm",), parse_fortigate_syslog),
    SourceType("fgt_event", "firewall", "fortinet", _OBSERVER, finish_fgt_event, prepare_fortigate,
               ("fgt:event",), parse_fortigate_syslog),
)
