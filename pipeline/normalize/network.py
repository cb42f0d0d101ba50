"""Network field conventions shared by source types: transport names from IANA numbers, ECS MAC notation."""

from __future__ import annotations

import re

from pipeline.events import Event, get_path, set_path

__all__ = ["IANA_TRANSPORTS", "transport_from_iana_number", "ecs_mac", "format_macs"]

IANA_TRANSPORTS = {"1": "icmp", "2": "igmp", "6": "tcp", "17": "udp", "47": "gre", "50": "esp",
                   "51": "ah", "58": "ipv6-icmp", "132": "sctp"}
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")  # one separator, or none


def transport_from_iana_number(event: Event) -> bool:
    """Set network.transport from network.iana_number; False when the number is unknown or absent."""
    iana = get_path(event, "network.iana_number")
    if iana is None or str(iana) not in IANA_TRANSPORTS:
        return False
    set_path(event, "network.transport", IANA_TRANSPORTS[str(iana)])
    return True


def ecs_mac(value: str) -> str:
    """A MAC address as ECS writes it (RFC 7042: ``AB-CD-EF-01-23-45``); anything else unchanged."""
    value = value.strip()
    if not _MAC.match(value):
        return value
    digits = re.sub(r"[:-]", "", value).upper()
    return "-".join(digits[i:i + 2] for i in range(0, 12, 2))


def format_macs(event: Event) -> None:
    for path in ("source.mac", "destination.mac"):
        value = get_path(event, path)
        if isinstance(value, str):
            set_path(event, path, ecs_mac(value))
