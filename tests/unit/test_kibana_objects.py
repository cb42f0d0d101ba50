"""The Kibana saved objects (docker/kibana/saved_objects.ndjson): every reference resolves, and every field a
data view, saved search, Lens panel or map uses exists in the index template with the type the use needs.

The template is read through the project's own builder (``pipeline.index.template.index_template``), so the
check follows the template: a field the template stops mapping, or maps with another type, fails here. The
integration test tests/integration/test_saved_searches.py runs the saved searches against the real job's
index and checks the ``botes.*`` fields there (the template maps them dynamically).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from luqum.parser import parser
from luqum.tree import Item, SearchField, Word

from pipeline.config import IndexSettings
from pipeline.index.documents import index_name
from pipeline.index.template import composed_mappings
from pipeline.normalize.ecs import ecs_schema
from tests.conftest import REPO

SAVED_OBJECTS = REPO / "docker" / "kibana" / "saved_objects.ndjson"

KEYWORD_TYPES = {"keyword", "constant_keyword", "wildcard"}
NUMBER_TYPES = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
# What each use needs: the mapped types that satisfy it.
NEEDS = {"keyword": KEYWORD_TYPES, "number": NUMBER_TYPES, "ip": {"ip"}, "date": {"date", "date_nanos"},
         "geo_point": {"geo_point"}, "any": None}
# The JSON value a use implies, to resolve dynamic templates (match_mapping_type).
SAMPLE_VALUES: dict[str, Any] = {"keyword": "text", "number": 1, "ip": "192.0.2.1", "date": "2016-08-10T00:00:00Z",
                                 "geo_point": {"lat": 0.0, "lon": 0.0}, "any": "text"}
LENS_DATA_TYPES = {"string": "keyword", "number": "number", "ip": "ip", "date": "date"}


@dataclass(frozen=True)
class FieldUse:
    field: str
    need: str      # a key of NEEDS
    where: str     # object id and place, for the failure message

# One source type of each family (README, "Source types").
FAMILY_EXAMPLES = {"firewall": "fgt_traffic", "ids": "suricata", "stream": "stream-dns",
                   "winevent": "wineventlog-security", "web": "iis", "scanner": "nessus-scan"}


def saved_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAVED_OBJECTS.read_text().splitlines() if line.strip()]


def by_type(kind: str) -> list[dict[str, Any]]:
    return [o for o in saved_objects() if o["type"] == kind]


def lucene_fields(query: str) -> Iterator[tuple[str, str]]:
    """(field, need) for each field a Lucene query names: ``_exists_:f`` needs f to exist, ``f:value`` needs
    a keyword (the values in these queries are exact terms)."""
    def walk(node: Item) -> Iterator[tuple[str, str]]:
        if isinstance(node, SearchField):
            if node.name == "_exists_":
                assert isinstance(node.expr, Word)
                yield node.expr.value, "any"
            else:
                yield node.name, "keyword"
        for child in node.children:
            yield from walk(child)
    if query.strip():
        yield from walk(parser.parse(query))


def lens_uses(lens: dict[str, Any]) -> Iterator[FieldUse]:
    state = lens["attributes"]["state"]
    where = lens["id"]
    yield from (FieldUse(f, need, f"{where} query") for f, need in lucene_fields(state["query"]["query"]))
    for layer in state["datasourceStates"]["formBased"]["layers"].values():
        for column in layer["columns"].values():
            operation = column["operationType"]
            if column.get("filter"):
                assert column["filter"]["language"] == "lucene"
                yield from (FieldUse(f, need, f"{where} column filter")
                            for f, need in lucene_fields(column["filter"]["query"]))
            if operation == "filters":
                for item in column["params"]["filters"]:
                    assert item["input"]["language"] == "lucene"
                    yield from (FieldUse(f, need, f"{where} filters")
                                for f, need in lucene_fields(item["input"]["query"]))
            elif operation == "terms":
                yield FieldUse(column["sourceField"], LENS_DATA_TYPES[column["dataType"]], f"{where} terms")
            elif operation == "date_histogram":
                yield FieldUse(column["sourceField"], "date", f"{where} date histogram")
            elif column.get("sourceField") not in (None, "___records___"):
                yield FieldUse(column["sourceField"], "number", f"{where} {operation}")


def search_uses(search: dict[str, Any]) -> Iterator[FieldUse]:
    source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert source["query"]["language"] == "lucene"
    yield from (FieldUse(f, need, f"{search['id']} query") for f, need in lucene_fields(source["query"]["query"]))
    yield from (FieldUse(c, "any", f"{search['id']} column") for c in search["attributes"]["columns"])
    yield from (FieldUse(field, "any", f"{search['id']} sort") for field, _ in search["attributes"]["sort"])


def map_uses(kibana_map: dict[str, Any]) -> Iterator[FieldUse]:
    for layer in json.loads(kibana_map["attributes"]["layerListJSON"]):
        geo_field = layer["sourceDescriptor"].get("geoField")
        if geo_field:
            yield FieldUse(geo_field, "geo_point", f"{kibana_map['id']} layer {layer.get('label')}")


def all_uses() -> list[FieldUse]:
    uses = [FieldUse(dv["attributes"]["timeFieldName"], "date", dv["id"]) for dv in by_type("index-pattern")]
    for lens in by_type("lens"):
        uses += lens_uses(lens)
    for search in by_type("search"):
        uses += search_uses(search)
    for kibana_map in by_type("map"):
        uses += map_uses(kibana_map)
    return uses


# --------------------------------------------------------------------------- the template's type of a field

def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "object" if isinstance(value, dict) else "string"


def _matches(patterns: str | list[str] | None, text: str) -> bool:
    if patterns is None:
        return True
    return any(fnmatch.fnmatchcase(text, p) for p in ([patterns] if isinstance(patterns, str) else patterns))


def _hidden_nested(node: dict[str, Any]) -> bool:
    return node.get("type") == "nested" and not node.get("include_in_parent", False)


def mapped_type(mappings: dict[str, Any], path: str, sample: Any) -> tuple[str | None, bool]:
    """(the type ``path`` gets for a value like ``sample``, whether it sits in a nested object that is not also
    indexed in its parent (``include_in_parent``), so flat queries cannot reach it) under an index
    template's mappings: its explicit mapping, else the first dynamic template that matches, else Elasticsearch's
    default dynamic mapping. None when an object is mapped there instead."""
    node: dict[str, Any] = {"properties": mappings.get("properties", {})}
    in_nested = False
    for part in path.split("."):
        child = node.get("properties", {}).get(part)
        if child is None:
            break
        in_nested = in_nested or _hidden_nested(node)
        node = child
    else:
        in_nested = in_nested or (_hidden_nested(node) and "properties" in node)
        return node.get("type", None if "properties" in node else "object"), in_nested
    kind = _json_kind(sample)
    for template in mappings.get("dynamic_templates", []):
        (rule,) = template.values()
        if (_matches(rule.get("match_mapping_type"), kind) or rule.get("match_mapping_type") == "*") \
                and _matches(rule.get("match"), path.rsplit(".", 1)[-1]) and _matches(rule.get("path_match"), path) \
                and not (rule.get("unmatch") and _matches(rule["unmatch"], path.rsplit(".", 1)[-1])) \
                and not (rule.get("path_unmatch") and _matches(rule["path_unmatch"], path)):
            mapped = rule["mapping"].get("type", "{dynamic_type}")
            return (kind if mapped == "{dynamic_type}" else mapped), in_nested
    # Elasticsearch's own dynamic mapping: strings become text (+ a .keyword sub-field), numbers long/float.
    return {"string": "text", "long": "long", "double": "float", "boolean": "boolean"}.get(kind), in_nested


def template_mappings() -> dict[str, Any]:
    mappings: dict[str, Any] = composed_mappings(IndexSettings())
    return mappings


# --------------------------------------------------------------------------- tests

def test_every_object_has_a_unique_id_and_a_kibana_8_shape() -> None:
    objects = saved_objects()
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    for o in objects:
        assert o["coreMigrationVersion"] == "8.8.0" and o["typeMigrationVersion"], o["id"]
        assert o["attributes"]["title"], o["id"]
    assert {o["type"] for o in objects} == {"index-pattern", "search", "lens", "map", "dashboard"}


def test_every_reference_names_an_object_in_the_file() -> None:
    present = {(o["type"], o["id"]) for o in saved_objects()}
    for o in saved_objects():
        for reference in o["references"]:
            assert (reference["type"], reference["id"]) in present, f"{o['id']} -> {reference}"


def test_dashboard_panels_lens_layers_and_map_layers_each_have_their_reference() -> None:
    for dashboard in by_type("dashboard"):
        names = {r["name"] for r in dashboard["references"]}
        panels = json.loads(dashboard["attributes"]["panelsJSON"])
        assert panels
        for panel in panels:
            assert f"{panel['panelIndex']}:{panel['panelRefName']}" in names
            assert panel["gridData"]["i"] == panel["panelIndex"]
    for lens in by_type("lens"):
        names = {r["name"] for r in lens["references"]}
        for layer in lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]:
            assert f"indexpattern-datasource-layer-{layer}" in names
    for kibana_map in by_type("map"):
        names = {r["name"] for r in kibana_map["references"]}
        for layer in json.loads(kibana_map["attributes"]["layerListJSON"]):
            reference = layer["sourceDescriptor"].get("indexPatternRefName")
            assert reference is None or reference in names
    for search in by_type("search"):
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["indexRefName"] in {r["name"] for r in search["references"]}


def test_the_data_view_covers_the_enriched_data_streams_by_their_timestamp() -> None:
    (data_view,) = by_type("index-pattern")
    assert data_view["attributes"]["title"] == "logs-botes.*"
    # ... and every data stream the job writes to, by the job's own naming, matches it
    settings = IndexSettings()  # the compose stack's: elasticsearch, prefix botes, namespace default
    for family in ("firewall", "ids", "stream", "winevent", "web", "scanner"):
        written = index_name({"event": {"dataset": FAMILY_EXAMPLES[family]}}, settings)
        assert fnmatch.fnmatchcase(written, data_view["attributes"]["title"]), written
    assert data_view["attributes"]["timeFieldName"] == "@timestamp"


def test_the_objects_the_issue_asks_for_are_there() -> None:
    searches = {s["attributes"]["title"] for s in by_type("search")}
    assert searches == {"Threat-list matches", "VirusTotal detections", "Events from Scanner or Red Team assets",
                        "Enrichment failures"}
    uses = all_uses()
    assert {u.field for u in uses if u.need == "geo_point"} == {"source.geo.location", "destination.geo.location"}
    terms = {u.field for u in uses if u.where.endswith("terms")}
    assert {"source.geo.country_name", "destination.geo.country_name", "destination.as.organization.name",
            "botes.destination.shodan.ports", "botes.destination.shodan.vulns",
            "botes.enrichment.failures.source"} <= terms
    lens_queries = " ".join(lens["attributes"]["state"]["query"]["query"] for lens in by_type("lens"))
    assert "criticality:Critical" in lens_queries


@pytest.mark.parametrize("use", all_uses(), ids=lambda u: f"{u.field}:{u.need}")
def test_each_field_has_the_type_its_use_needs_in_the_index_template(use: FieldUse) -> None:
    kind, in_nested = mapped_type(template_mappings(), use.field, SAMPLE_VALUES[use.need])
    assert not in_nested, f"{use.where}: {use.field} is inside a nested field, out of reach of Lucene queries"
    wanted = NEEDS[use.need]
    assert kind is not None and kind != "object", f"{use.where}: {use.field} is not a field of the template"
    assert wanted is None or kind in wanted, f"{use.where}: {use.field} is mapped {kind}, needs {sorted(wanted)}"
    if not use.field.startswith("botes."):  # botes.* fields: checked on the job's real output (integration)
        assert use.field == "@timestamp" or use.field in ecs_schema().types, f"{use.field} is not an ECS field"


def test_the_type_resolution_catches_what_a_panel_cannot_use() -> None:
    mappings = {"properties": {"a": {"properties": {"ip": {"type": "ip"}, "loc": {"type": "keyword"}}},
                               "t": {"type": "nested", "properties": {"x": {"type": "keyword"}}},
                               "u": {"type": "nested", "include_in_parent": True,
                                     "properties": {"x": {"type": "keyword"}}}},
                "dynamic_templates": [{"s": {"match_mapping_type": "string", "path_match": "b.*",
                                             "mapping": {"type": "keyword"}}}]}
    assert mapped_type(mappings, "a.ip", "x") == ("ip", False)
    assert mapped_type(mappings, "a.loc", {"lat": 0}) == ("keyword", False)   # not a geo_point
    assert mapped_type(mappings, "b.c", "x") == ("keyword", False)
    assert mapped_type(mappings, "c.d", "x") == ("text", False)               # default: not aggregatable
    assert mapped_type(mappings, "b.n", 3) == ("long", False)
    assert mapped_type(mappings, "t.x", "x") == ("keyword", True)
    assert mapped_type(mappings, "u.x", "x") == ("keyword", False)           # also indexed in the parent
    assert mapped_type(mappings, "a", "x") == (None, False)
