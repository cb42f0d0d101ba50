"""Which IP addresses are public (GeoIP applies) and which are internal (the assets table applies).

Decided with the ``ipaddress`` module for IPv4 and IPv6 alike; the original proof of concept used a
regex that let private addresses through to GeoIP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache

__all__ = ["Scope", "AddressClassifier", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Scope(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    OTHER = "other"  # loopback, multicast, unspecified, documentation, reserved...


def parse_ip(value: object) -> IPAddress | None:
    """The address in ``value``, with IPv4-mapped IPv6 unwrapped, or None if it is not one."""
    if not isinstance(value, str):
        return None
    return _parse_text(value)


@lru_cache(maxsize=16384)  # a few addresses make most events; address objects are immutable, so shared
def _parse_text(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# RFC 1918, RFC 6598 shared space, IPv4/IPv6 link-local and IPv6 unique-local: the networks a
# site numbers its own hosts from.
DEFAULT_INTERNAL = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                    "169.254.0.0/16", "fc00::/7", "fe80::/10")


class AddressClassifier:
    """Scope of an address; ``extra_internal`` adds public ranges a site uses inside.

    Each address's scope is decided once and remembered (up to ``max_remembered`` addresses, then the memory
    starts over): a few addresses make most events, and every enricher asks for each event's addresses."""

    def __init__(self, extra_internal: Iterable[str] = (), max_remembered: int = 65536) -> None:
        self._internal: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(net, strict=False) for net in (*DEFAULT_INTERNAL, *extra_internal)
        )
        self._scopes: dict[str, Scope] = {}
        self._max_remembered = max_remembered

    def scope(self, value: object) -> Scope:
        if not isinstance(value, str):
            return Scope.OTHER
        scope = self._scopes.get(value)
        if scope is None:
            if len(self._scopes) >= self._max_remembered:
                self._scopes.clear()
            scope = self._scopes[value] = self._decide(value)
        return scope

    def _decide(self, value: str) -> Scope:
        address = parse_ip(value)
        if address is None:
            return Scope.OTHER
        if any(address.version == net.version and address in net for net in self._internal):
            return Scope.INTERNAL
        if address.is_global and not address.is_multicast:
            return Scope.PUBLIC
        return Scope.OTHER
