"""pipeline.index.opensearch: one table turns the Elasticsearch mappings into OpenSearch's closest types."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.config import IndexSettings, bundled_data
from pipeline.index.mappings import botes_dynamic_templates, botes_properties, ecs_properties
from pipeline.index.opensearch import OPENSEARCH_TYPES, opensearch_field_mapping, opensearch_mappings
from pipeline.index.template import component_templates

# The ECS types OpenSearch stores as another type (the table's reasons say why); every other ECS field keeps
# ECS's type.
SUBSTITUTED = {"flattened": "flat_object", "constant_keyword": "keyword"}


def types_in(properties: dict[str, Any]) -> Iterator[str]:
    for mapping in properties.values():
        yield mapping.get("type", "object")
        yield from types_in(mapping.get("properties", {}))
        yield from types_in(mapping.get("fields", {}))


def field(properties: dict[str, Any], path: str) -> dict[str, Any]:
    node: dict[str, Any] = {"properties": properties}
    *parents, leaf = path.split(".")
    for part in parents:
        node = node["properties"][part]
    return node["properties"][leaf] if leaf in node.get("properties", {}) else node["fields"][leaf]


def test_the_table_has_a_row_for_every_type_the_mappings_use() -> None:
    used = {*types_in(ecs_properties()), *types_in(botes_properties()),
            *(next(iter(t.values()))["mapping"]["type"] for t in botes_dynamic_templates())}
    assert used <= set(OPENSEARCH_TYPES), used - set(OPENSEARCH_TYPES)


def test_a_type_without_a_row_is_an_error_not_a_silent_copy() -> None:
    with pytest.raises(KeyError, match="histogram"):
        opensearch_field_mapping({"type": "histogram"})


def test_every_ecs_field_gets_the_tables_type() -> None:
    translated = opensearch_mappings({"properties": ecs_properties()})["properties"]
    with bundled_data("ecs/fields.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    changed = {}
    for row in rows:
        kind = field(translated, row["Field"])["type"]
        assert kind == OPENSEARCH_TYPES[row["Type"]].type, row["Field"]
        if kind != row["Type"]:
            changed[row["Field"]] = (row["Type"], kind)
    assert {pair for pair in changed.values()} == set(SUBSTITUTED.items())
    assert changed["data_stream.dataset"] == ("constant_keyword", "keyword")
    assert changed["log.syslog.structured_data"] == ("flattened", "flat_object")


def test_parameters_carry_over_except_where_the_table_says() -> None:
    assert opensearch_field_mapping({"type": "scaled_float", "scaling_factor": 1000}) == \
        {"type": "scaled_float", "scaling_factor": 1000}
    assert opensearch_field_mapping({"type": "flattened", "ignore_above": 1024}) == {"type": "flat_object"}
    assert opensearch_field_mapping({"type": "keyword", "index": False, "doc_values": False}) == \
        {"type": "keyword", "index": False, "doc_values": False}


def test_properties_and_multi_fields_are_translated_too() -> None:
    mapping = {"properties": {"a": {"type": "nested", "properties": {"b": {"type": "flattened"}}},
                              "c": {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}}}}
    assert opensearch_mappings(mapping) == {
        "properties": {"a": {"type": "nested", "properties": {"b": {"type": "flat_object"}}},
                       "c": {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}}}}


def test_every_row_says_why() -> None:
    assert all(len(row.why) > 20 for row in OPENSEARCH_TYPES.values())


def test_the_opensearch_template_uses_the_table() -> None:
    templates = component_templates(IndexSettings(server="opensearch"))
    ecs = templates["botes-ecs@mappings"]["template"]["mappings"]["properties"]
    botes = templates["botes-botes@mappings"]["template"]["mappings"]
    assert field(ecs, "data_stream.type") == {"type": "keyword"}
    assert field(ecs, "threat.enrichments")["type"] == "nested"
    assert field(botes["properties"], "botes.unmapped") == {"type": "flat_object"}
    assert botes["date_detection"] is False
