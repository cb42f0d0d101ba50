"""Config name -> enricher class, and building the enabled sources in config order.

Classes are imported by name when a source is built, so a source's client library is loaded only when
that source is used.
"""

from __future__ import annotations

import importlib
import logging

from pipeline.addresses import AddressClassifier
from pipeline.config import ApiSourceSettings, Settings, SourceSettings, ThreatListsSettings
from pipeline.enrich.base import Enricher

__all__ = ["ENRICHERS", "build_enrichers", "build_enricher", "enricher_class"]

log = logging.getLogger(__name__)

# name -> "module:Class"; the name is also the config section and the module under pipeline/enrich/.
ENRICHERS: dict[str, str] = {
    "assets": "pipeline.enrich.assets:AssetsEnricher",
    "rdns": "pipeline.enrich.rdns:RdnsEnricher",
    "geoip": "pipeline.enrich.geoip:GeoIPEnricher",
    "threatlists": "pipeline.enrich.threatlists:ThreatListsEnricher",
    "shodan": "pipeline.enrich.shodan:ShodanEnricher",
    "onyphe": "pipeline.enrich.onyphe:OnypheEnricher",
    "virustotal": "pipeline.enrich.virustotal:VirusTotalEnricher",
}


def enricher_class(name: str) -> type[Enricher]:
    module, _, cls = ENRICHERS[name].partition(":")
    found: type[Enricher] = getattr(importlib.import_module(module), cls)
    return found


def build_enricher(name: str, settings: Settings, classifier: AddressClassifier) -> Enricher:
    """One source, whatever its ``enabled`` setting (for `botes lookup`)."""
    return enricher_class(name)(getattr(settings, name), classifier)  # type: ignore[call-arg]


def _usable(name: str, source: SourceSettings) -> bool:
    if not source.enabled:
        return False
    if isinstance(source, ApiSourceSettings) and source.api_key is None:
        log.warning("%s: no API key (set BOTES_%s__API_KEY); source disabled", name, name.upper())
        return False
    # Threat lists with no list would look every value up in vain.
    return not (isinstance(source, ThreatListsSettings) and not source.lists)


def build_enrichers(settings: Settings) -> list[Enricher]:
    """The enabled sources, in the order ``settings.enrichers`` lists them."""
    classifier = AddressClassifier(settings.network.internal_networks)
    return [build_enricher(name, settings, classifier) for name in settings.enrichers
            if _usable(name, getattr(settings, name))]
