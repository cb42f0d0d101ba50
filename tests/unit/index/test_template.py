"""pipeline.index.template: the ECS index template types the fields the pipeline writes."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import IndexSettings
from pipeline.index.template import index_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return index_template(IndexSettings(prefix="botes"))


def mapping(template: dict[str, Any], path: str) -> dict[str, Any]:
    """The mapping of a dotted field, walking nested ``properties``."""
    node: dict[str, Any] = {"properties": template["template"]["mappings"]["properties"]}
    for part in path.split("."):
        assert "properties" in node, f"{path}: {part} has no properties"
        node = node["properties"][part]
    return node


@pytest.mark.parametrize(("path", "kind"), [
    ("@timestamp", "date"),
    ("source.ip", "ip"),
    ("destination.ip", "ip"),
    ("client.ip", "ip"),
    ("server.ip", "ip"),
    ("related.ip", "ip"),
    ("observer.ip", "ip"),
    ("source.nat.ip", "ip"),
    ("destination.geo.location", "geo_point"),
    ("source.geo.location", "geo_point"),
    ("source.as.number", "long"),
    ("destination.as.number", "long"),
    ("source.port", "long"),
    ("destination.port", "long"),
    ("source.bytes", "long"),
    ("destination.packets", "long"),
    ("event.severity", "long"),
    ("http.response.status_code", "long"),
    ("message", "text"),
])
def test_field_types(template: dict[str, Any], path: str, kind: str) -> None:
    assert mapping(template, path)["type"] == kind


def test_event_original_is_stored_but_not_indexed(template: dict[str, Any]) -> None:
    assert mapping(template, "event.original") == {"type": "keyword", "index": False, "doc_values": False}


def test_other_strings_are_keywords(template: dict[str, Any]) -> None:
    dynamic = template["template"]["mappings"]["dynamic_templates"]
    assert {"strings_as_keyword": {"match_mapping_type": "string",
                                   "mapping": {"type": "keyword", "ignore_above": 1024}}} in dynamic


def test_pattern_follows_prefix() -> None:
    assert index_template(IndexSettings(prefix="lab"))["index_patterns"] == ["lab-*"]


def test_pattern_matches_the_family_indices(template: dict[str, Any]) -> None:
    from fnmatch import fnmatch

    from pipeline.index.documents import index_name

    for dataset in ("fgt_traffic", "suricata", "unknown"):
        name = index_name({"event": {"dataset": dataset}}, "botes")
        assert any(fnmatch(name, pattern) for pattern in template["index_patterns"]), name


def test_geo_point_accepts_the_geoip_fragment_shape(template: dict[str, Any]) -> None:
    # The GeoIP enricher writes location as {"lat": .., "lon": ..}: an object, so geo.location must be a
    # leaf of type geo_point, not an object with lat/lon sub-properties.
    location = mapping(template, "destination.geo.location")
    assert "properties" not in location
