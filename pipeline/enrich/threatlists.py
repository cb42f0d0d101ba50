"""Local threat lists: IPs/CIDRs, domains and file hashes from feed files, matched into ECS threat.enrichments.

A feed is a text file (one indicator per line, ``#`` and ``;`` comments, the first word of a line counts, so
Spamhaus DROP, FireHOL netsets, abuse.ch lists and hosts files read as they are published) or a CSV file
with a named column (the header may be a ``#`` comment line, as in abuse.ch's CSV exports). Malformed lines
are skipped and counted. Each file is reloaded when it changes (see reloading.py).

Every lookup is O(1) in the size of the lists: exact addresses and hashes are set members, networks are set
members per prefix length (at most 32 lengths for IPv4, 128 for IPv6), a domain is tried with each of its
parent domains.
"""

from __future__ import annotations

import copy
import csv
import logging
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from pipeline.addresses import AddressClassifier, parse_ip
from pipeline.config import ThreatListFeed, ThreatListsSettings
from pipeline.enrich.base import ADDRESS_FIELDS, INDICATOR_MATCH, hash_targets, indicator_match
from pipeline.enrich.reloading import FileBacked
from pipeline.errors import ConfigError, DependencyError
from pipeline.events import Event, Found, NotFound, Outcome, Target, get_path

__all__ = ["ThreatListsEnricher", "Indicators", "load_feed", "normalize_domain", "DOMAIN_FIELDS", "MATCH_TYPE"]

log = logging.getLogger(__name__)

# The ECS fields holding domain names that are matched against domain lists.
DOMAIN_FIELDS = ("url.domain", "dns.question.name", "destination.domain", "source.domain",
                 "tls.client.server_name")
MATCH_TYPE = INDICATOR_MATCH  # threat.enrichments.matched.type

# The names a hosts file maps to itself, not indicators (the lines a hosts-format blocklist starts with).
_HOSTS_OWN_NAMES = frozenset({"localhost", "localhost.localdomain", "local", "broadcasthost", "0.0.0.0",
                              "ip6-localhost", "ip6-loopback", "ip6-localnet", "ip6-mcastprefix",
                              "ip6-allnodes", "ip6-allrouters", "ip6-allhosts"})
_BITS = {4: 32, 6: 128}
_HASH_NAMES = {32: "md5", 40: "sha1", 64: "sha256"}
_HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                     r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")


def _address(text: str) -> tuple[int, int] | None:
    """(version, address as int) of an IP address, IPv4-mapped IPv6 unwrapped; None if ``text`` is not one."""
    text = text.strip()
    try:  # inet_pton is several times faster than ipaddress: it matters for a million-line list
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        if ":" not in text:  # inet_pton takes every IPv4 form ipaddress takes
            return None
    address = parse_ip(text)
    return None if address is None else (address.version, int(address))


def _address_text(version: int, number: int) -> str:
    packed = number.to_bytes(_BITS[version] // 8, "big")
    return socket.inet_ntop(socket.AF_INET if version == 4 else socket.AF_INET6, packed)


def _host(text: str) -> str:
    """The host part of a name, ``*.name`` or URL, lower case, without the root dot."""
    text = text.strip()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return ""
    return text.lower().removeprefix("*.").strip(".")


def normalize_domain(text: str) -> str | None:
    """The domain name in ``text`` (a name, ``*.name`` or a URL), lower case, without the root dot; None
    if it is not a valid one. IDNs become their ``xn--`` form, as DNS carries them."""
    host = _host(text)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return host if _DOMAIN.match(host) else None


class Indicators:
    """One feed's indicators: ``addresses`` version -> set of addresses (ints), ``networks`` (version, prefix
    length) -> set of network addresses (ints), ``domains`` and ``hashes`` sets of lower-case strings."""

    __slots__ = ("addresses", "networks", "domains", "hashes", "_scan")

    def __init__(self) -> None:
        self.addresses: dict[int, set[int]] = {4: set(), 6: set()}
        self.networks: dict[tuple[int, int], set[int]] = {}
        self.domains: set[str] = set()
        self.hashes: set[str] = set()
        # version -> [(prefix length, mask, networks)], longest prefix first: the order a lookup tries them.
        self._scan: dict[int, list[tuple[int, int, set[int]]]] = {4: [], 6: []}

    def __len__(self) -> int:
        return (sum(map(len, self.addresses.values())) + sum(map(len, self.networks.values()))
                + len(self.domains) + len(self.hashes))

    def add(self, kind: str, text: str) -> bool:
        """Add one indicator of the feed's ``kind``; False if ``text`` is not one."""
        if kind == "ip":
            return self._add_network(text)
        if kind == "hash":
            value = text.lower()
            if not _HASH.fullmatch(value):
                return False
            self.hashes.add(value)
            return True
        # A domain list may name hosts by address (URLhaus URLs often do): those are IP indicators.
        address = _address(_host(text))
        if address is not None:
            self.addresses[address[0]].add(address[1])
            return True
        domain = normalize_domain(text)
        if domain is None:
            return False
        self.domains.add(domain)
        return True

    def _add_network(self, text: str) -> bool:
        address_text, slash, length_text = text.partition("/")
        if not slash and address_text.count(":") == 1:  # "192.0.2.1:443", as ThreatFox lists C2s
            address_text = address_text.partition(":")[0]
        address = _address(address_text)
        if address is None:
            return False
        version, number = address
        bits = _BITS[version]
        if not slash:
            self.addresses[version].add(number)
            return True
        if not length_text.isdigit() or int(length_text) > bits:
            return False
        length = int(length_text)
        if length == bits:
            self.addresses[version].add(number)
        else:
            self.networks.setdefault((version, length), set()).add(number >> (bits - length) << (bits - length))
        return True

    def seal(self) -> Indicators:
        """Done adding: prepare the per-version scan order of the networks."""
        for version, bits in _BITS.items():
            self._scan[version] = sorted(
                ((length, ((1 << length) - 1) << (bits - length), networks)
                 for (v, length), networks in self.networks.items() if v == version),
                key=lambda entry: -entry[0])
        return self

    def match_address(self, version: int, number: int) -> str | None:
        """The listed address or network (most specific) holding the address, as text."""
        if number in self.addresses[version]:
            return _address_text(version, number)
        for length, mask, networks in self._scan[version]:
            network = number & mask
            if network in networks:
                return f"{_address_text(version, network)}/{length}"
        return None

    def match_domain(self, domain: str) -> str | None:
        """The listed domain that is ``domain`` or its nearest parent (``evil.com`` matches ``a.b.evil.com``)."""
        candidate = domain
        while True:
            if candidate in self.domains:
                return candidate
            _, dot, candidate = candidate.partition(".")
            if not dot:
                return None

    def match_hash(self, digest: str) -> str | None:
        return digest if digest in self.hashes else None


def _text_values(lines: Iterable[str], kind: str) -> Iterator[tuple[int, str]]:
    """(line number, first word) of each line with content; a hosts-file line gives its host name."""
    for number, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if not words:
            continue
        if kind == "domain" and len(words) > 1 and _address(words[0]) is not None:  # "0.0.0.0 evil.example"
            if words[1].lower() not in _HOSTS_OWN_NAMES:
                yield number, words[1]
        else:
            yield number, words[0]


def _csv_cells(line: str) -> list[str]:
    return [cell.strip() for cell in next(csv.reader((line,), skipinitialspace=True), [])]


def _csv_values(lines: Iterable[str], column: str, where: str) -> Iterator[tuple[int, str]]:
    """(line number, the column's cell) of each data row; the header is the first line, commented or
    not, that names ``column``. A row too short to have the column yields "" (malformed)."""
    index: int | None = None
    wanted = column.strip().lower()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        commented = stripped.startswith("#")
        if index is None:
            header = [cell.lower() for cell in _csv_cells(stripped.lstrip("#").strip())]
            if wanted in header:
                index = header.index(wanted)
            continue
        if commented:
            continue
        cells = _csv_cells(stripped)
        yield number, cells[index] if index < len(cells) else ""
    if index is None:
        raise ConfigError(f"{where}.column: no header line names the column {column!r}")


def _read(lines: TextIO, feed: ThreatListFeed, where: str) -> tuple[Indicators, int, int | None]:
    """The feed's indicators, the number of malformed lines and the first one's number."""
    if feed.format == "csv":
        if not feed.column:
            raise ConfigError(f"{where}.column: a csv list needs the name of the column holding the indicators")
        values = _csv_values(lines, feed.column, where)
    else:
        values = _text_values(lines, feed.kind)
    indicators, skipped, first = Indicators(), 0, None
    for number, value in values:
        if not indicators.add(feed.kind, value):
            skipped += 1
            first = first or number
    return indicators.seal(), skipped, first


def load_feed(feed: ThreatListFeed, where: str) -> Indicators:
    """Read one list (``where`` names its setting, e.g. ``threatlists.lists[0]``); malformed lines are
    skipped, and counted in one log line per file."""
    try:
        # utf-8-sig drops a BOM; undecodable bytes become U+FFFD, so such a line is malformed, not fatal.
        with feed.path.open(encoding="utf-8-sig", errors="replace", newline="") as lines:
            indicators, skipped, first = _read(lines, feed, where)
    except OSError as exc:
        raise DependencyError(f"{where}.path: cannot read threat list {feed.path}: {exc}") from None
    if skipped:
        log.warning("%s: %s: %d indicators, %d malformed lines skipped (the first is line %d)",
                    where, feed.path, len(indicators), skipped, first)
    else:
        log.info("%s: %s: %d indicators", where, feed.path, len(indicators))
    return indicators


def _loader(feed: ThreatListFeed, where: str) -> Callable[[Path], Indicators]:
    def load(path: Path) -> Indicators:
        return load_feed(feed, where)
    return load


class _List:
    """A feed's name (threat.enrichments.indicator.provider) and its indicators, reloaded on change."""

    __slots__ = ("provider", "indicators")

    def __init__(self, provider: str, indicators: FileBacked[Indicators]) -> None:
        self.provider = provider
        self.indicators = indicators


class ThreatListsEnricher:
    name = "threatlists"
    title = "Threat lists"

    def __init__(self, settings: ThreatListsSettings, classifier: AddressClassifier, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # Every address is looked up, public or internal: a list may name internal hosts too.
        self._lists: list[_List] = []
        for number, feed in enumerate(settings.lists):
            where = f"threatlists.lists[{number}]"
            indicators = FileBacked(feed.path, _loader(feed, where), setting=f"{where}.path", clock=clock,
                                    interval=settings.reload_interval)
            self._lists.append(_List(feed.name or feed.path.stem, indicators))

    def targets(self, event: Event) -> Iterable[Target]:
        for field in ADDRESS_FIELDS:
            value = get_path(event, f"{field}.ip")
            if isinstance(value, str) and _address(value.strip()) is not None:
                yield Target(field, value, f"{field}.ip")
        for field in DOMAIN_FIELDS:
            value = get_path(event, field)
            if isinstance(value, str) and value.strip():
                yield Target(field, value.strip())
        yield from hash_targets(event)

    async def lookup(self, value: str) -> Outcome:
        return self._answer(value)

    def answer_now(self, values: Sequence[str]) -> dict[str, Outcome]:
        """In-memory sets: every value is answered at once."""
        return {value: self._answer(value) for value in values}

    def _answer(self, value: str) -> Outcome:
        # In-memory sets: no await, nothing to time out.
        indicators = self._match(value.strip())
        return Found({"indicators": indicators}) if indicators else NotFound()

    def _match(self, value: str) -> list[dict[str, Any]]:
        """One threat.enrichments.indicator object per list that has ``value``; the kind of indicator
        is decided from the value: an IP address, else an MD5/SHA1/SHA256, else a domain name."""
        address = _address(value)
        if address is not None:
            version, number = address
            kind = "ipv4-addr" if version == 4 else "ipv6-addr"
            text = _address_text(version, number)
            return [{"type": kind, "ip": text, "name": hit, "provider": item.provider} for item in self._lists
                    if (hit := item.indicators.get().match_address(version, number))]
        digest = value.lower()
        if _HASH.fullmatch(digest):
            hash_name = _HASH_NAMES[len(digest)]
            return [{"type": "file", "file": {"hash": {hash_name: hit}}, "name": hit, "provider": item.provider}
                    for item in self._lists if (hit := item.indicators.get().match_hash(digest))]
        domain = normalize_domain(value)
        if domain is None:
            return []
        return [{"type": "domain-name", "url": {"domain": hit}, "name": hit, "provider": item.provider}
                for item in self._lists if (hit := item.indicators.get().match_domain(domain))]

    def fragment(self, target: Target, found: Found) -> Event:
        matched = indicator_match(target)
        return {"threat": {"enrichments": [{"indicator": copy.deepcopy(indicator), "matched": dict(matched)}
                                           for indicator in found.data["indicators"]]}}

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        indicators = found.data["indicators"]
        rows: list[tuple[str, Any]] = [("indicator type", indicators[0]["type"] if indicators else None)]
        rows += [(f"list {indicator['provider']}", indicator["name"]) for indicator in indicators]
        return rows

    async def aclose(self) -> None:
        for item in self._lists:
            item.indicators.close()
