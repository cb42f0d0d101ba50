"""Reverse DNS: the PTR names of addresses, from the configured resolvers or the system's.

Results go to ECS ``<field>.domain`` (the first name, without the final dot); further names of the same
address go to ``botes.<field>.rdns.names``. The record's TTL is the result's ``Found.ttl``, so the cache
keeps the answer no longer than the record says (and no longer than ``rdns.ttl``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import dns.reversename

from pipeline.addresses import AddressClassifier, Scope
from pipeline.config import RdnsSettings
from pipeline.enrich.base import ADDRESS_FIELDS
from pipeline.errors import ConfigError, DependencyError
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target, get_path

__all__ = ["RdnsEnricher", "RDNS_FIELD", "SCOPES"]

RDNS_FIELD = "rdns"  # further names go to botes.<source|destination|...>.rdns.names

# settings.scope -> the address scopes that get a PTR lookup; loopback, multicast, documentation... never.
SCOPES: dict[str, frozenset[Scope]] = {
    "all": frozenset({Scope.PUBLIC, Scope.INTERNAL}),
    "public": frozenset({Scope.PUBLIC}),
    "internal": frozenset({Scope.INTERNAL}),
}


def _resolver(settings: RdnsSettings) -> dns.asyncresolver.Resolver:
    if not settings.nameservers:
        try:
            return dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            raise DependencyError("rdns.nameservers: empty, and the system has no resolver configuration "
                                  "(/etc/resolv.conf); name the resolvers in rdns.nameservers") from None
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.port = settings.port
    try:
        resolver.nameservers = list(settings.nameservers)
    except ValueError as exc:
        raise ConfigError(f"rdns.nameservers: {exc}") from None
    return resolver


def _server_failure(exc: dns.resolver.NoNameservers) -> str:
    """A short reason from the first server's error: its rcode ("servfail", "refused"), or what went wrong."""
    errors = exc.kwargs.get("errors") or []
    if not errors:
        return "no nameservers"
    error = errors[0][3]
    if isinstance(error, str):  # dnspython records an unwanted rcode as its text, e.g. "SERVFAIL"
        return error.lower()
    if isinstance(error, OSError):
        return "unreachable"
    return "malformed response"


def _names(answer: dns.resolver.Answer) -> list[str]:
    names = (rdata.target.to_text(omit_final_dot=True) for rdata in answer.rrset or ())
    return list(dict.fromkeys(name for name in names if name and name != "@"))


def _outcome(answer: dns.resolver.Answer) -> Outcome:
    names = _names(answer)
    if not names:
        return NotFound()
    # minimum_ttl also counts the CNAMEs followed (RFC 2317 classless delegation), as a cache must.
    ttl = answer.chaining_result.minimum_ttl
    # Found.ttl bounds the cache entry; the copy in data survives the cache, for summary_rows.
    data: dict[str, Any] = {"domain": names[0], "ttl": ttl}
    if len(names) > 1:
        data["names"] = names[1:]
    return Found(data, ttl=ttl)


class RdnsEnricher:
    name = "rdns"
    title = "Reverse DNS"

    def __init__(self, settings: RdnsSettings, classifier: AddressClassifier) -> None:
        self._resolver = _resolver(settings)
        self._classifier = classifier
        self._scopes = SCOPES[settings.scope]
        self._timeout = settings.timeout
        self._max_in_flight = settings.max_in_flight
        self._gates: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def targets(self, event: Event) -> Iterable[Target]:
        return list(self._targets(event))

    def _targets(self, event: Event) -> Iterator[Target]:
        for field in ADDRESS_FIELDS:
            value = get_path(event, f"{field}.ip")
            # A name the event already carries (TLS SNI, a firewall's host name) says more about this
            # event than the PTR record, and merging would overwrite it: no lookup then.
            if (isinstance(value, str) and self._classifier.scope(value) in self._scopes
                    and not get_path(event, f"{field}.domain")):
                yield Target(field, value, f"{field}.ip")

    def _gate(self) -> asyncio.Semaphore:
        # A semaphore that ever waited belongs to that event loop; `botes lookup` and tests run several.
        loop = asyncio.get_running_loop()
        if self._gates is None or self._gates[0] is not loop:
            self._gates = (loop, asyncio.Semaphore(self._max_in_flight))
        return self._gates[1]

    async def lookup(self, value: str) -> Outcome:
        try:
            qname = dns.reversename.from_address(value.strip())
        except (ValueError, dns.exception.SyntaxError):
            return Failed("not an IP address")
        async with self._gate():
            return await self._query(qname)

    async def _query(self, qname: dns.name.Name) -> Outcome:
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._resolver.resolve(qname, dns.rdatatype.PTR, lifetime=self._timeout,
                                                      search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return NotFound()
        except (TimeoutError, dns.exception.Timeout):
            return Failed("timeout")
        except dns.resolver.NoNameservers as exc:
            return Failed(_server_failure(exc))
        except dns.exception.DNSException as exc:
            return Failed(f"dns error: {type(exc).__name__}")
        return _outcome(answer)

    def fragment(self, target: Target, found: Found) -> Event:
        fragment: Event = {target.field: {"domain": found.data["domain"]}}
        others = found.data.get("names")
        if others:
            fragment["botes"] = {target.field: {RDNS_FIELD: {"names": list(others)}}}
        return fragment

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        ttl = found.data.get("ttl")
        return [("domain", found.data.get("domain")), ("other names", found.data.get("names")),
                ("TTL", f"{ttl} s" if ttl is not None else None)]

    async def aclose(self) -> None:
        return None  # dnspython opens a socket per query and closes it itself
