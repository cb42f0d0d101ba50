"""A domain name's registered domain, effective top-level domain and subdomain (ECS ``*.registered_domain``,
``*.top_level_domain``, ``*.subdomain``), from the Public Suffix List.

The list is the snapshot bundled with ``tldextract``: the extractor is built so that it never fetches the live
list and never writes a cache, so normalising needs no network and leaves no files behind. Updating the list
means upgrading ``tldextract``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import tldextract

__all__ = ["DomainParts", "domain_parts"]

# PTR query names (4.3.2.1.in-addr.arpa) are addresses written backwards, not registered domains.
_REVERSE_ZONES = frozenset({"in-addr.arpa", "ip6.arpa"})


@dataclass(frozen=True, slots=True)
class DomainParts:
    registered_domain: str   # example.co.uk
    top_level_domain: str    # co.uk (the public suffix)
    subdomain: str           # www.east, or "" when the name is the registered domain itself


@cache
def _offline_extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() : never download; cache_dir=None : never read or write a disk cache;
    # fallback_to_snapshot : use the list shipped inside the package. ICANN suffixes only, as ECS's examples.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True,
                                 include_psl_private_domains=False)


def domain_parts(name: str) -> DomainParts | None:
    """The parts of a DNS name (``www.example.co.uk.`` or ``WWW.Example.com``); None for a name with no
    registered domain under a public suffix (``localhost``, ``fileserver.corp``, an IP address, a reverse-lookup
    name under ``in-addr.arpa``)."""
    cleaned = name.strip().rstrip(".").lower()
    if not cleaned:
        return None
    parts = _offline_extractor().extract_str(cleaned)
    if not parts.suffix or not parts.domain or parts.suffix in _REVERSE_ZONES:
        return None
    return DomainParts(parts.top_domain_under_public_suffix, parts.suffix, parts.subdomain)
