"""pipeline.index.template: component templates composed by one index template, versioned by content."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import IndexSettings
from pipeline.index.lifecycle import policy_name
from pipeline.index.template import (
    FIELD_LIMIT,
    TEMPLATE_PRIORITY,
    _content_hash,
    _next,
    component_names,
    component_templates,
    composed_mappings,
    index_template,
    template_name,
)

ELASTICSEARCH = IndexSettings()
OPENSEARCH = IndexSettings(server="opensearch")


def count_fields(properties: dict[str, Any]) -> int:
    """Fields as Elasticsearch counts them against the limit: objects, leaves and multi-fields."""
    return sum(1 + len(m.get("fields", {})) + count_fields(m.get("properties", {})) for m in properties.values())


class TestComposition:
    def test_names_follow_the_prefix(self) -> None:
        lab = IndexSettings(prefix="lab")
        assert template_name(lab) == "lab-ecs"
        assert component_names(lab) == ("lab-ecs@mappings", "lab-botes@mappings", "lab@settings")

    @pytest.mark.parametrize("settings", [ELASTICSEARCH, OPENSEARCH])
    def test_the_index_template_is_composed_of_the_three(self, settings: IndexSettings) -> None:
        assert index_template(settings)["composed_of"] == list(component_names(settings))
        assert list(component_templates(settings)) == list(component_names(settings))

    def test_elasticsearch_data_streams_above_elastics_logs_template(self) -> None:
        body = index_template(ELASTICSEARCH)
        assert body["index_patterns"] == ["logs-botes.*-*"]
        assert body["data_stream"] == {}
        assert body["priority"] == TEMPLATE_PRIORITY > 100  # Elastic's built-in `logs` template: logs-*-*, 100

    def test_opensearch_plain_indices(self) -> None:
        body = index_template(OPENSEARCH)
        assert body["index_patterns"] == ["botes-*"]
        assert "data_stream" not in body

    def test_settings_name_the_ilm_policy_on_elasticsearch_only(self) -> None:
        es = component_templates(ELASTICSEARCH)["botes@settings"]["template"]["settings"]["index"]
        assert es["lifecycle"] == {"name": policy_name(ELASTICSEARCH)}
        assert "lifecycle" not in component_templates(OPENSEARCH)["botes@settings"]["template"]["settings"]["index"]

    @pytest.mark.parametrize("settings", [ELASTICSEARCH, OPENSEARCH])
    def test_the_field_limit_holds_every_mapped_field_with_room(self, settings: IndexSettings) -> None:
        templates = component_templates(settings)
        mapped = sum(count_fields(t["template"].get("mappings", {}).get("properties", {}))
                     for t in templates.values())
        limit = templates[component_names(settings)[2]]["template"]["settings"]["index"]["mapping"]
        assert limit["total_fields"]["limit"] == FIELD_LIMIT
        assert 4000 < mapped < FIELD_LIMIT / 2  # half left for dynamic fields (botes.*.shodan.*, ...)

    def test_ecs_and_botes_mappings_live_in_their_own_components(self) -> None:
        templates = component_templates(ELASTICSEARCH)
        ecs = templates["botes-ecs@mappings"]["template"]["mappings"]["properties"]
        botes = templates["botes-botes@mappings"]["template"]["mappings"]
        assert "botes" not in ecs and "threat" in ecs
        assert list(botes["properties"]) == ["botes"]
        assert botes["properties"]["botes"]["properties"]["unmapped"]["type"] == "flattened"
        assert botes["date_detection"] is False


class TestVersions:
    def test_every_body_carries_the_hash_of_its_content(self) -> None:
        for body in [*component_templates(ELASTICSEARCH).values(), index_template(ELASTICSEARCH)]:
            meta = body["_meta"]
            rest = {**body, "_meta": {k: v for k, v in meta.items() if k != "content_hash"}}
            assert meta["content_hash"] == _content_hash(rest)
            assert meta["managed_by"] == "botes-pipeline" and meta["ecs_version"] == "9.4.0"

    def test_the_index_template_hash_covers_its_components(self) -> None:
        components = component_templates(ELASTICSEARCH)
        assert index_template(ELASTICSEARCH)["_meta"]["components"] == {
            name: body["_meta"]["content_hash"] for name, body in components.items()}

    def test_the_same_settings_build_the_same_hashes(self) -> None:
        assert index_template(IndexSettings())["_meta"] == index_template(IndexSettings())["_meta"]

    def test_a_change_changes_the_hash(self) -> None:
        assert index_template(IndexSettings(prefix="lab"))["_meta"]["content_hash"] != \
            index_template(ELASTICSEARCH)["_meta"]["content_hash"]

    def test_next_version(self) -> None:
        body = {"_meta": {"content_hash": "abc"}}
        assert _next(None, body) == (1, "created")
        assert _next({"version": 4, "_meta": {"content_hash": "abc"}}, body) == (None, "unchanged")
        assert _next({"version": 4, "_meta": {"content_hash": "old"}}, body) == (5, "updated")
        assert _next({"index_patterns": ["botes-*"]}, body) == (1, "updated")  # the template before versions


class TestComposedMappings:
    def test_what_an_index_gets_holds_both_mapping_components(self) -> None:
        mappings = composed_mappings(ELASTICSEARCH)
        assert mappings["properties"]["threat"]["properties"]["enrichments"]["type"] == "nested"
        assert mappings["properties"]["botes"]["properties"]["unmapped"]["type"] == "flattened"
        assert mappings["date_detection"] is False
        assert mappings["dynamic_templates"][-1] == {"strings_as_keyword": {
            "match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}}

    def test_a_later_component_adds_to_an_earlier_ones_object(self) -> None:
        from pipeline.index.template import _merged_properties

        merged = _merged_properties({"a": {"properties": {"b": {"type": "long"}}}},
                                    {"a": {"properties": {"c": {"type": "ip"}}}, "d": {"type": "date"}})
        assert merged == {"a": {"properties": {"b": {"type": "long"}, "c": {"type": "ip"}}}, "d": {"type": "date"}}
