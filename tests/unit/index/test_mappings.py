"""pipeline.index.mappings: every ECS 9.4.0 field mapped with ECS's own type, and the botes.* fields.

Two ECS artefacts of the same release check the generated mapping, neither of which the code reads:
``pipeline/data/ecs/fields.csv`` (every field's type, multi-fields as their own rows, and whether it is indexed)
and ECS's own generated Elasticsearch template (tests/data/ecs/legacy-template.json.gz, provenance in
tests/data/README.md), which also carries every mapping parameter.
"""

from __future__ import annotations

import csv
import gzip
import json
from typing import Any

import pytest

from pipeline.config import bundled_data
from pipeline.enrich.chain import FAILURES_FIELD
from pipeline.index.mappings import (
    ECS_PARAMETER_ADDITIONS,
    ECS_PARAMETER_EXCEPTIONS,
    botes_dynamic_templates,
    botes_field_types,
    botes_properties,
    ecs_properties,
    properties_tree,
)
from pipeline.index.mappings import (
    FAILURES_FIELD as MAPPED_FAILURES_FIELD,
)
from pipeline.normalize.normalizer import ERRORS_FIELD, UNMAPPED
from tests.conftest import DATA

# Where the generated ECS mappings may differ from ECS's own template: the parameter names (never types) of
# ECS_PARAMETER_EXCEPTIONS, whose reasons are given there. Written out here so a new exception is a visible
# change to this test.
EXPECTED_PARAMETER_EXCEPTIONS = {"synthetic_source_keep"}
# ... and the parameters it adds (never a type), also with their reasons there.
EXPECTED_PARAMETER_ADDITIONS = {"threat.enrichments": {"include_in_parent": True}}


def ecs_rows() -> list[dict[str, str]]:
    with bundled_data("ecs/fields.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def field(properties: dict[str, Any], path: str) -> dict[str, Any]:
    """The mapping of a dotted field: a property, or a multi-field (``<field>.<name>`` under ``fields``)."""
    node: dict[str, Any] = {"properties": properties}
    parts = path.split(".")
    for i, part in enumerate(parts):
        if "properties" in node and part in node["properties"]:
            node = node["properties"][part]
        elif i == len(parts) - 1 and part in node.get("fields", {}):
            node = node["fields"][part]
        else:
            raise KeyError(f"{path}: no mapping for {part}")
    return node


def without(parameter_names: set[str], node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without(parameter_names, v) for k, v in node.items() if k not in parameter_names}
    return node


class TestEcsFields:
    def test_every_field_has_ecs_own_type(self) -> None:
        properties = ecs_properties()
        wrong = {row["Field"]: (field(properties, row["Field"]).get("type"), row["Type"]) for row in ecs_rows()
                 if field(properties, row["Field"]).get("type") != row["Type"]}
        assert wrong == {}
        assert len(ecs_rows()) == 2725  # ECS 9.4.0: 2,605 fields and 120 .text multi-fields, all checked

    def test_fields_ecs_does_not_index_are_not_indexed(self) -> None:
        properties = ecs_properties()
        for row in ecs_rows():
            mapping = field(properties, row["Field"])
            assert mapping.get("index", True) is (row["Indexed"] == "true"), row["Field"]

    def test_equal_to_ecs_own_template_but_for_the_listed_parameters(self) -> None:
        ecs_template = json.loads(gzip.decompress((DATA / "ecs" / "legacy-template.json.gz").read_bytes()))
        assert ecs_template["mappings"]["_meta"]["version"] == "9.4.0"
        assert set(ECS_PARAMETER_EXCEPTIONS) == EXPECTED_PARAMETER_EXCEPTIONS
        assert {path: added for path, (added, _) in ECS_PARAMETER_ADDITIONS.items()} == EXPECTED_PARAMETER_ADDITIONS
        expected = without(EXPECTED_PARAMETER_EXCEPTIONS, ecs_template["mappings"]["properties"])
        for path, added in EXPECTED_PARAMETER_ADDITIONS.items():
            field(expected, path).update(added)
        assert ecs_properties() == expected

    def test_every_exception_and_addition_has_a_reason(self) -> None:
        assert all(len(reason) > 40 for reason in ECS_PARAMETER_EXCEPTIONS.values())
        assert all(len(reason) > 40 for _, reason in ECS_PARAMETER_ADDITIONS.values())

    @pytest.mark.parametrize(("path", "mapping"), [
        ("message", {"type": "match_only_text"}),
        ("url.original", {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}}),
        ("process.command_line", {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}}),
        ("user_agent.original", {"type": "keyword", "ignore_above": 1024,
                                 "fields": {"text": {"type": "match_only_text"}}}),
        ("file.path", {"type": "keyword", "ignore_above": 1024, "fields": {"text": {"type": "match_only_text"}}}),
        ("data_stream.dataset", {"type": "constant_keyword"}),
        ("container.cpu.usage", {"type": "scaled_float", "scaling_factor": 1000}),
        ("event.original", {"type": "keyword", "index": False, "doc_values": False}),
        ("log.syslog.structured_data", {"type": "flattened"}),
        ("source.ip", {"type": "ip"}),
        ("destination.geo.location", {"type": "geo_point"}),
    ])
    def test_named_fields(self, path: str, mapping: dict[str, Any]) -> None:
        assert field(ecs_properties(), path) == mapping

    def test_threat_enrichments_is_nested_with_its_fields_inside(self) -> None:
        enrichments = field(ecs_properties(), "threat.enrichments")
        assert enrichments["type"] == "nested"
        assert enrichments["include_in_parent"] is True  # flat (Lucene, terms panel) searches reach it too
        assert enrichments["properties"]["matched"]["properties"]["atomic"]["type"] == "keyword"
        assert enrichments["properties"]["indicator"]["properties"]["provider"]["type"] == "keyword"

    def test_every_nested_field_of_ecs_is_nested(self) -> None:
        nested = [row["Field"] for row in ecs_rows() if row["Type"] == "nested"]
        assert "email.attachments" in nested and len(nested) == 24
        assert all(field(ecs_properties(), path)["type"] == "nested" for path in nested)


class TestPropertiesTree:
    def test_parents_hold_their_children(self) -> None:
        tree = properties_tree({"a.b": {"type": "nested"}, "a.b.c": {"type": "keyword"}, "a.d": {"type": "long"}})
        assert tree == {"a": {"properties": {"b": {"type": "nested", "properties": {"c": {"type": "keyword"}}},
                                             "d": {"type": "long"}}}}

    def test_a_leaf_cannot_hold_fields(self) -> None:
        with pytest.raises(ValueError, match="a.b is a keyword field"):
            properties_tree({"a.b": {"type": "keyword"}, "a.b.c": {"type": "long"}})


class TestBotesFields:
    def test_every_field_table_field_takes_its_table_type(self) -> None:
        expected = {"keyword": "keyword", "long": "long", "float": "float", "ip": "ip", "date": "date",
                    "boolean": "boolean", "object": "flattened"}
        types = botes_field_types()
        assert len(types) > 400
        for path, kind in types.items():
            assert field(botes_properties(), path)["type"] == expected[kind], path

    @pytest.mark.parametrize(("path", "kind"), [
        ("botes.client.reputation.score", "long"),                  # fgt_traffic crscore
        ("botes.dhcp.offer.ip", "ip"),
        ("botes.suricata.eve.http.request_headers", "flattened"),   # a list of {name, value} as the source had it
    ])
    def test_named_fields(self, path: str, kind: str) -> None:
        assert field(botes_properties(), path)["type"] == kind

    def test_unmapped_fields_are_flattened(self) -> None:
        # Any shape, any type per record: one flattened field takes them all without mapping conflicts.
        assert field(botes_properties(), UNMAPPED) == {"type": "flattened", "ignore_above": 1024}

    def test_failures_and_errors(self) -> None:
        assert MAPPED_FAILURES_FIELD == FAILURES_FIELD
        assert field(botes_properties(), f"{FAILURES_FIELD}.reason")["type"] == "keyword"
        assert field(botes_properties(), ERRORS_FIELD)["type"] == "keyword"

    def test_enrichment_dates_by_path_then_strings_as_keywords(self) -> None:
        templates = botes_dynamic_templates()
        rules = [next(iter(t.values())) for t in templates]
        assert {"path_match": "botes.*.shodan.last_update", "mapping": {"type": "date"}} in rules
        assert {"path_match": "botes.*.virustotal.first_submission_date", "mapping": {"type": "date"}} in rules
        # The catch-all comes last: dynamic templates apply in order, the first match wins.
        assert rules[-1] == {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}
