"""GeoIP and ASN from MaxMind City and ASN databases, for public addresses only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geoip2.database
import geoip2.errors
import geoip2.models
from maxminddb import MODE_MMAP, InvalidDatabaseError

from pipeline.addresses import AddressClassifier, Scope
from pipeline.config import GeoIPSettings
from pipeline.enrich.base import address_targets
from pipeline.errors import DependencyError
from pipeline.events import Event, Found, NotFound, Outcome, Target

__all__ = ["GeoIPEnricher"]


def _open(path: Any, setting: str) -> geoip2.database.Reader:
    try:
        return geoip2.database.Reader(str(path), mode=MODE_MMAP)
    except (OSError, ValueError, InvalidDatabaseError) as exc:
        raise DependencyError(f"geoip.{setting}: cannot open MaxMind database {path}: {exc}") from None


def _geo(city: geoip2.models.City) -> dict[str, Any]:
    geo: dict[str, Any] = {
        "continent_code": city.continent.code,
        "continent_name": city.continent.name,
        "country_iso_code": city.country.iso_code,
        "country_name": city.country.name,
        "region_iso_code": (
            f"{city.country.iso_code}-{city.subdivisions.most_specific.iso_code}"
            if city.country.iso_code and city.subdivisions.most_specific.iso_code else None
        ),
        "region_name": city.subdivisions.most_specific.name,
        "city_name": city.city.name,
        "postal_code": city.postal.code,
        "timezone": city.location.time_zone,
    }
    if city.location.latitude is not None and city.location.longitude is not None:
        geo["location"] = {"lat": city.location.latitude, "lon": city.location.longitude}
    return {k: v for k, v in geo.items() if v is not None}


class GeoIPEnricher:
    name = "geoip"

    def __init__(self, settings: GeoIPSettings, classifier: AddressClassifier) -> None:
        self._city = _open(settings.city_db, "city_db")
        try:
            self._asn = _open(settings.asn_db, "asn_db")
        except DependencyError:
            self._city.close()
            raise
        self._classifier = classifier

    def targets(self, event: Event) -> Iterable[Target]:
        return address_targets(event, self._classifier, Scope.PUBLIC)

    async def lookup(self, value: str) -> Outcome:
        # A memory-mapped read takes microseconds: no await, nothing to time out.
        data: dict[str, Any] = {}
        try:
            geo = _geo(self._city.city(value))
            if geo:
                data["geo"] = geo
        except geoip2.errors.AddressNotFoundError:
            pass
        try:
            asn = self._asn.asn(value)
            data["as"] = {"number": asn.autonomous_system_number}
            if asn.autonomous_system_organization:
                data["as"]["organization"] = {"name": asn.autonomous_system_organization}
        except geoip2.errors.AddressNotFoundError:
            pass
        return Found(data) if data else NotFound()

    def fragment(self, target: Target, found: Found) -> Event:
        return {target.field: found.data}

    async def aclose(self) -> None:
        self._city.close()
        self._asn.close()
