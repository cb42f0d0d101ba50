"""GeoIP and ASN from MaxMind City and ASN databases, for public addresses only.

Each database is reopened when its file changes (geoipupdate replaces it with a rename); lookups under way
finish on the old reader, which is closed after the last of them (see reloading.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import geoip2.models
from maxminddb import MODE_AUTO, InvalidDatabaseError

from pipeline.addresses import AddressClassifier, Scope
from pipeline.config import GeoIPSettings
from pipeline.enrich.base import address_targets
from pipeline.enrich.reloading import FileBacked
from pipeline.errors import DependencyError
from pipeline.events import Event, Found, NotFound, Outcome, Target

__all__ = ["GeoIPEnricher"]


# What each setting must hold: the database type geoip2's city() / asn() insist on.
_DATABASE_TYPES = {"city_db": "City", "asn_db": "GeoLite2-ASN"}


def _open(path: Path, setting: str) -> geoip2.database.Reader:
    try:
        reader = geoip2.database.Reader(str(path), mode=MODE_AUTO)  # the C extension when installed (7x faster)
    except (OSError, ValueError, InvalidDatabaseError) as exc:
        raise DependencyError(f"geoip.{setting}: cannot open MaxMind database {path}: {exc}") from None
    database_type = reader.metadata().database_type
    if _DATABASE_TYPES[setting] not in database_type:
        reader.close()
        raise DependencyError(f"geoip.{setting}: {path} is a {database_type} database, "
                              f"not a {_DATABASE_TYPES[setting]} one")
    return reader


def _reopening(path: Path, setting: str, clock: Callable[[], float],
               interval: float) -> FileBacked[geoip2.database.Reader]:
    return FileBacked(path, lambda p: _open(p, setting), setting=f"geoip.{setting}",
                      close=geoip2.database.Reader.close, clock=clock, interval=interval)


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
    title = "GeoIP/ASN"

    def __init__(self, settings: GeoIPSettings, classifier: AddressClassifier, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._city = _reopening(settings.city_db, "city_db", clock, settings.reload_interval)
        try:
            self._asn = _reopening(settings.asn_db, "asn_db", clock, settings.reload_interval)
        except DependencyError:
            self._city.close()
            raise
        self._classifier = classifier

    def targets(self, event: Event) -> Iterable[Target]:
        return address_targets(event, self._classifier, Scope.PUBLIC)

    async def lookup(self, value: str) -> Outcome:
        return self._answer(value)

    def answer_now(self, values: Sequence[str]) -> dict[str, Outcome]:
        """A local file: every value is answered at once."""
        return {value: self._answer(value) for value in values}

    def _answer(self, value: str) -> Outcome:
        # A memory-mapped read (maxminddb's C extension) takes microseconds: no await, nothing to time out.
        data: dict[str, Any] = {}
        with self._city.lease() as city_reader:
            try:
                geo = _geo(city_reader.city(value))
                if geo:
                    data["geo"] = geo
            except geoip2.errors.AddressNotFoundError:
                pass
        with self._asn.lease() as asn_reader:
            try:
                asn = asn_reader.asn(value)
                data["as"] = {"number": asn.autonomous_system_number}
                if asn.autonomous_system_organization:
                    data["as"]["organization"] = {"name": asn.autonomous_system_organization}
            except geoip2.errors.AddressNotFoundError:
                pass
        return Found(data) if data else NotFound()

    def fragment(self, target: Target, found: Found) -> Event:
        return {target.field: found.data}

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        geo, asn = found.data.get("geo", {}), found.data.get("as", {})
        location = geo.get("location")
        return [("country", geo.get("country_name")), ("country code", geo.get("country_iso_code")),
                ("region", geo.get("region_name")), ("city", geo.get("city_name")),
                ("location", f"{location['lat']}, {location['lon']}" if location else None),
                ("time zone", geo.get("timezone")),
                ("AS number", asn.get("number")), ("AS organisation", asn.get("organization", {}).get("name"))]

    async def aclose(self) -> None:
        self._city.close()
        self._asn.close()
