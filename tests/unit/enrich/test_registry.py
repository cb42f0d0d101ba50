"""pipeline.enrich.registry: which sources a job builds from the settings."""

from __future__ import annotations

from pathlib import Path

from pipeline.addresses import AddressClassifier
from pipeline.config import Settings, ThreatListFeed, ThreatListsSettings
from pipeline.enrich.registry import build_enricher, build_enrichers


def test_threat_lists_without_lists_are_left_out_of_the_chain(tmp_path: Path) -> None:
    """With no list every lookup finds nothing: the job does not run them (botes lookup still can)."""
    assert [e.name for e in build_enrichers(Settings(enrichers=["geoip", "threatlists"]))] == ["geoip"]
    assert build_enricher("threatlists", Settings(), AddressClassifier()).name == "threatlists"

    feed = tmp_path / "drop.txt"
    feed.write_text("192.0.2.0/24\n")
    settings = Settings(enrichers=["geoip", "threatlists"],
                        threatlists=ThreatListsSettings(lists=[ThreatListFeed(path=feed, kind="ip")]))
    assert [e.name for e in build_enrichers(settings)] == ["geoip", "threatlists"]
