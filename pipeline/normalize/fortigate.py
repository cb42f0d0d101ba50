"""FortiGate specifics: date+time in two fields, protocol numbers, and ECS categorisation."""

from __future__ import annotations

import re
from typing import Any

from pipeline.events import Event, get_path, set_path
from pipeline.normalize.sourcetype import SourceType

__all__ = ["SOURCES", "prepare_fortigate", "finish_fgt_traffic", "IANA_TRANSPORTS"]

IANA_TRANSPORTS = {"1": "icmp", "2": "igmp", "6": "tcp", "17": "udp", "47": "gre", "50": "esp",
                   "51": "ah", "58": "ipv6-icmp", "132": "sctp"}
_DENIED_ACTIONS = {"deny", "blocked", "block", "dropped", "drop"}
_CLOCK = re.compile(r"^\d{1,2}:\d{2}:\d{2}$")
_TZ = re.compile(r"^[+-]\d{4}$")


def prepare_fortigate(flat: dict[str, Any]) -> dict[str, Any]:
    """FortiGate logs split the time into ``date`` and ``time`` (and maybe ``tz``): join them."""
    date, clock = flat.get("date"), flat.get("time")
    if isinstance(date, str) and isinstance(clock, str) and _CLOCK.match(clock.strip()):
        flat = dict(flat)
        zone = flat.get("tz")
        suffix = zone.strip() if isinstance(zone, str) and _TZ.match(zone.strip()) else ""
        flat["time"] = f"{date.strip()}T{clock.strip().zfill(8)}{suffix}"
        del flat["date"]
    return flat


def finish_fgt_traffic(event: Event) -> None:
    iana = get_path(event, "network.iana_number")
    if iana is not None and str(iana) in IANA_TRANSPORTS:
        set_path(event, "network.transport", IANA_TRANSPORTS[str(iana)])
    protocol = get_path(event, "network.protocol")
    if isinstance(protocol, str):
        set_path(event, "network.protocol", protocol.lower())
    action = get_path(event, "event.action")
    allowed = "denied" if isinstance(action, str) and action.lower() in _DENIED_ACTIONS else "allowed"
    set_path(event, "event.kind", "event")
    set_path(event, "event.category", ["network"])
    set_path(event, "event.type", ["connection", allowed])


_OBSERVER = {"vendor": "Fortinet", "product": "FortiGate", "type": "firewall"}

SOURCES = (
    SourceType("fgt_traffic", "firewall", "fortinet", _OBSERVER, finish_fgt_traffic, prepare_fortigate,
               ("fgt:traffic",)),
)
