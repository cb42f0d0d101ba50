"""SCOT4 entities: the types answered for, what a valid value of each is, and which sources cover which.

SCOT's flair engine names entity types ``ipaddr`` (IPv4), ``ipv6``, ``domain``, ``md5``, ``sha1`` and
``sha256`` (sandialabs/scot4-flair @ 6fad2df7 ``lib/Flair/Regex.pm``) and stores them de-obfuscated
(``deobsfucate_ipdomain`` in ``lib/Flair/Parser.pm``), so a value here is checked in its plain form.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal, get_args

from pipeline.addresses import AddressClassifier, Scope
from pipeline.config import EntityType
from pipeline.enrich.threatlists import normalize_domain
from pipeline.events import Event

__all__ = ["Entity", "InvalidEntity", "ENTITY_TYPES", "entity_kind", "entity_value", "entity_type_of", "covers",
           "probe_event", "scope_note", "MAX_VALUE_LENGTH"]

Kind = Literal["ip", "domain", "hash"]

ENTITY_TYPES: tuple[EntityType, ...] = get_args(EntityType)
_KINDS: dict[str, Kind] = {"ipaddr": "ip", "ipv6": "ip", "domain": "domain", "md5": "hash", "sha1": "hash",
                           "sha256": "hash"}
_HASH_LENGTHS: dict[EntityType, int] = {"md5": 32, "sha1": 40, "sha256": 64}
_HEX = re.compile(r"[0-9a-fA-F]+")
# What each source can look up (its targets(): addresses, domain fields, file hashes).
_SOURCE_KINDS: dict[str, frozenset[Kind]] = {
    "assets": frozenset({"ip"}), "rdns": frozenset({"ip"}), "geoip": frozenset({"ip"}),
    "threatlists": frozenset({"ip", "domain", "hash"}), "shodan": frozenset({"ip"}), "onyphe": frozenset({"ip"}),
    "virustotal": frozenset({"hash"}),
}
MAX_VALUE_LENGTH = 253  # the longest valid value of any type (a domain name)
_SHOWN = 64             # characters of a bad value quoted back in an error


class InvalidEntity(ValueError):
    """A value (or a request) that is not an entity of the type asked for; the message says why."""


@dataclass(frozen=True, slots=True)
class Entity:
    """One SCOT entity to enrich, and where its results go."""

    id: int
    type: EntityType
    value: str          # canonical form: compressed IP, lower-case domain (IDNA) or hash
    callback_url: str   # SCOT's API base, e.g. https://scot.example.com/api/v1


def entity_kind(entity_type: str) -> Kind:
    return _KINDS[entity_type]


def covers(source: str, entity_type: str) -> bool:
    """Whether ``source`` can look up values of ``entity_type`` at all."""
    return _KINDS[entity_type] in _SOURCE_KINDS.get(source, frozenset())


def _quoted(raw: str) -> str:
    return repr(raw) if len(raw) <= _SHOWN else repr(raw[:_SHOWN]) + f"… ({len(raw)} characters)"


def entity_value(entity_type: EntityType, raw: str) -> str:
    """``raw`` in canonical form; InvalidEntity saying why when it is not a value of ``entity_type``."""
    text = raw.strip()
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidEntity(f"{_quoted(raw)} is too long for a {entity_type} value")
    kind = _KINDS[entity_type]
    if kind == "ip":
        return _address(entity_type, text, raw)
    if kind == "hash":
        if len(text) != _HASH_LENGTHS[entity_type] or not _HEX.fullmatch(text):
            raise InvalidEntity(f"{_quoted(raw)} is not an {entity_type.upper()} hash "
                                f"({_HASH_LENGTHS[entity_type]} hexadecimal digits)")
        return text.lower()
    return _domain(text, raw)


def entity_type_of(raw: str) -> EntityType:
    """The type a bare value reads as (`botes lookup` is given no type): an IPv4 or IPv6 address, an MD5, SHA1
    or SHA256 hash by its length, else a domain name; InvalidEntity when it is none of them."""
    text = raw.strip()
    if _is_address(text):
        return "ipv6" if ":" in text else "ipaddr"
    for entity_type, length in _HASH_LENGTHS.items():
        if len(text) == length and _HEX.fullmatch(text):
            return entity_type
    try:
        _domain(text, raw)
    except InvalidEntity:
        raise InvalidEntity(f"{_quoted(raw)} is not an IP address, a domain name or an MD5, SHA1 or SHA256 "
                            "hash") from None
    return "domain"


def _address(entity_type: str, text: str, raw: str) -> str:
    wanted = ipaddress.IPv4Address if entity_type == "ipaddr" else ipaddress.IPv6Address
    try:
        return str(wanted(text))
    except ValueError:
        version = "IPv4" if entity_type == "ipaddr" else "IPv6"
        raise InvalidEntity(f"{_quoted(raw)} is not an {version} address") from None


def _domain(text: str, raw: str) -> str:
    problem = f"{_quoted(raw)} is not a domain name"
    # normalize_domain also reads URLs and "*.name" (as threat feeds write them); an entity is a bare name.
    if any(c in text for c in "/:*@ ") or _is_address(text):
        raise InvalidEntity(problem)
    domain = normalize_domain(text)
    # A name has a dot, and its last label is not all digits (as SCOT's flair requires: no "foo.12").
    if domain is None or "." not in domain or domain.rsplit(".", 1)[1].isdigit():
        raise InvalidEntity(problem)
    return domain


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def probe_event(entity_type: EntityType, value: str) -> Event:
    """A minimal event holding the value where the pipeline's events hold such values, so each source's own
    ``targets()`` decides whether it looks the value up (GeoIP and Shodan public addresses only, assets
    internal ones, ...)."""
    kind = _KINDS[entity_type]
    if kind == "ip":
        return {"source": {"ip": value}}
    if kind == "hash":
        return {"file": {"hash": {entity_type: value}}}
    return {"url": {"domain": value}}


def scope_note(title: str, value: str, classifier: AddressClassifier) -> str:
    """Why a source did not look a value up (it is outside the addresses the source covers)."""
    scope = classifier.scope(value)
    if scope is Scope.OTHER:
        return (f"{value} is neither a public nor an internal address (loopback, documentation, multicast or "
                f"reserved range); {title} does not look such addresses up.")
    article = "an" if scope is Scope.INTERNAL else "a"
    return f"{value} is {article} {scope} address; {title} does not look {scope} addresses up."
