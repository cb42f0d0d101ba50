"""Onyphe API v2 IP summaries for public addresses, summarised per category; threat lists become
``threat.enrichments`` entries.

A small aiohttp client rather than ``pyonyphe``: pyonyphe 3.x needs httpx (not a dependency here),
retries and sleeps inside the call, reads ``~/.config/pyonyphe`` and ``~/.onyphe.ini``, and decodes a
malformed body as an empty result list, which would be cached as "not found". Onyphe has no ECS home
for most of its answer: the summary goes under ``botes.<field>.onyphe.*``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Iterable
from typing import Any

import aiohttp

from pipeline.addresses import AddressClassifier, Scope, parse_ip
from pipeline.config import OnypheSettings
from pipeline.enrich.base import address_targets, indicator_match, retry_after_seconds
from pipeline.errors import ConfigError
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target

__all__ = ["OnypheEnricher"]

log = logging.getLogger(__name__)

# Values Onyphe puts in synscan's "os" when it could not tell.
_UNKNOWN_OS = {"", "undefined", "unknown"}


def _strings(records: Iterable[dict[str, Any]], key: str) -> list[str]:
    """Every non-empty string under ``key`` (a string or a list of them), sorted, once each."""
    found: set[str] = set()
    for record in records:
        value = record.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip():
                found.add(item.strip())
    return sorted(found)


def _ports(records: Iterable[dict[str, Any]]) -> list[int]:
    ports: set[int] = set()
    for record in records:
        port = str(record.get("port", "")).strip()
        if port.isdigit():
            ports.add(int(port))
    return sorted(ports)


def _as_number(value: Any) -> int | None:
    text = str(value or "").strip().upper().removeprefix("AS")
    return int(text) if text.isdigit() else None


def _geoloc(records: list[dict[str, Any]]) -> dict[str, Any]:
    if not records:
        return {}
    newest = max(records, key=lambda r: str(r.get("@timestamp", "")))
    return {"country": newest.get("country"), "city": newest.get("city"),
            "asn": _as_number(newest.get("asn")), "organization": newest.get("organization")}


def _threats(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per threat list naming the address: its name, tags and first and last sighting."""
    by_list: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        name = record.get("threatlist")
        by_list.setdefault(name.strip() if isinstance(name, str) and name.strip() else "unnamed",
                           []).append(record)
    threats = []
    for name, hits in sorted(by_list.items()):
        seen = sorted(str(r["@timestamp"]) for r in hits if r.get("@timestamp"))
        threat: dict[str, Any] = {"name": name, "tags": _strings(hits, "tag")}
        if seen:
            threat.update(first_seen=seen[0], last_seen=seen[-1])
        threats.append(threat)
    return threats


def _summary(payload: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer kept for an address: key facts per category, counts, and the threat-list hits."""
    by_category: dict[str, list[dict[str, Any]]] = {}
    for record in results:
        by_category.setdefault(str(record.get("@category", "unknown")), []).append(record)
    scans = by_category.get("synscan", []) + by_category.get("datascan", [])
    threats = _threats(by_category.get("threatlist", []))
    timestamps = [str(r["@timestamp"]) for r in results if r.get("@timestamp")]
    summary: dict[str, Any] = {
        "categories": {name: len(records) for name, records in sorted(by_category.items())},
        "total": payload.get("total") if isinstance(payload.get("total"), int) else None,
        "threatlists": [t["name"] for t in threats],
        "hostnames": _strings(by_category.get("resolver", []), "hostname"),
        "ports": _ports(scans),
        "protocols": _strings(by_category.get("datascan", []), "protocol"),
        "os": [os for os in _strings(by_category.get("synscan", []), "os") if os.lower() not in _UNKNOWN_OS],
        **_geoloc(by_category.get("geoloc", [])),
        "last_seen": max(timestamps) if timestamps else None,
    }
    summary = {key: value for key, value in summary.items() if value not in (None, "", [], {})}
    return {"summary": summary, "threats": threats}


def _indicator_type(value: str) -> str:
    return "ipv6-addr" if isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address) else "ipv4-addr"


def _enrichment(target: Target, threat: dict[str, Any]) -> dict[str, Any]:
    """A threat.enrichments entry (ECS 9.4.0) for one Onyphe threat list naming the target."""
    indicator: dict[str, Any] = {"type": _indicator_type(target.value), "ip": target.value,
                                 "provider": f"onyphe:{threat['name']}"}
    for key in ("first_seen", "last_seen"):
        if key in threat:
            indicator[key] = threat[key]
    return {"indicator": indicator,
            "matched": indicator_match(target)}


class OnypheEnricher:
    name = "onyphe"
    title = "Onyphe"

    def __init__(self, settings: OnypheSettings, classifier: AddressClassifier) -> None:
        if settings.api_key is None:
            raise ConfigError("onyphe.api_key: not set; set BOTES_ONYPHE__API_KEY")
        self._settings = settings
        self._api_key = settings.api_key
        self._classifier = classifier
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._session: aiohttp.ClientSession | None = None
        self._refusal_logged = False

    def _client(self) -> aiohttp.ClientSession:
        # An aiohttp session binds to the running loop, so it is made on the first lookup.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"bearer {self._api_key.get_secret_value()}",
                         "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout),
            )
        return self._session

    def targets(self, event: Event) -> Iterable[Target]:
        return address_targets(event, self._classifier, Scope.PUBLIC)

    async def lookup(self, value: str) -> Outcome:
        address = parse_ip(value)
        if address is None:
            return Failed("not an IP address")
        url = f"{self._settings.url.rstrip('/')}/summary/ip/{address}"
        try:
            async with asyncio.timeout(self._settings.timeout), self._slots:
                status, retry_after, body = await self._get(url)
        except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
            return Failed("timeout")
        except aiohttp.ClientError:  # its text may name the URL: not passed on
            return Failed("unreachable")
        return self._outcome(status, retry_after, body)

    async def _get(self, url: str) -> tuple[int, str | None, bytes]:
        async with self._client().get(url) as response:
            return response.status, response.headers.get("Retry-After"), await response.read()

    def _outcome(self, status: int, retry_after: str | None, body: bytes) -> Outcome:
        if status == 401:
            if not self._refusal_logged:
                self._refusal_logged = True
                log.warning("onyphe refused the API key (HTTP 401); check BOTES_ONYPHE__API_KEY")
            return Failed("unauthorized")
        if status == 429:
            return Failed("http 429", retry_after_seconds(retry_after))
        if status != 200:
            return Failed(f"http {status}")
        try:
            payload = json.loads(body)
        except ValueError:
            return Failed("malformed response")
        if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
            return Failed("malformed response")
        error = payload.get("error", 0)
        if error:
            return Failed(f"onyphe error {error}" if isinstance(error, int) else "onyphe error")
        results = [r for r in payload["results"] if isinstance(r, dict)]
        return Found(_summary(payload, results)) if results else NotFound()

    def fragment(self, target: Target, found: Found) -> Event:
        event: Event = {"botes": {target.field: {"onyphe": found.data["summary"]}}}
        if found.data["threats"]:
            event["threat"] = {"enrichments": [_enrichment(target, t) for t in found.data["threats"]]}
        return event

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        summary = found.data["summary"]
        categories = ", ".join(f"{name} {count}" for name, count in summary.get("categories", {}).items())
        return [("threat lists", summary.get("threatlists")), ("hostnames", summary.get("hostnames")),
                ("open ports", summary.get("ports")), ("protocols", summary.get("protocols")),
                ("OS", summary.get("os")), ("country", summary.get("country")), ("city", summary.get("city")),
                ("AS number", summary.get("asn")), ("organisation", summary.get("organization")),
                ("records", categories), ("total records", summary.get("total")),
                ("last seen", summary.get("last_seen"))]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
