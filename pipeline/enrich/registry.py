"""Config name -> enricher class, and building the enabled ones in config order."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.addresses import AddressClassifier
from pipeline.config import Settings
from pipeline.enrich.assets import AssetsEnricher
from pipeline.enrich.base import Enricher
from pipeline.enrich.geoip import GeoIPEnricher

__all__ = ["ENRICHERS", "build_enrichers"]

ENRICHERS: dict[str, Callable[[Settings, AddressClassifier], Enricher]] = {
    "assets": lambda s, c: AssetsEnricher(s.assets, c),
    "geoip": lambda s, c: GeoIPEnricher(s.geoip, c),
}


def build_enrichers(settings: Settings) -> list[Enricher]:
    """The enabled sources, in the order ``settings.enrichers`` lists them."""
    classifier = AddressClassifier(settings.network.internal_networks)
    return [ENRICHERS[name](settings, classifier) for name in settings.enrichers
            if getattr(settings, name).enabled]
