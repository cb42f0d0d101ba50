"""The one table of how Elasticsearch mappings become OpenSearch mappings (``index.server: opensearch``).

``OPENSEARCH_TYPES`` maps every Elasticsearch field type the templates use to the OpenSearch type that stands
in for it, whether its parameters carry over, and why. A type without a row raises ``KeyError`` when a
template is built, so a new ECS type cannot slip through untranslated (a unit test checks every type the
mappings use has a row). With match_only_text and wildcard, the oldest OpenSearch that takes the template is
2.15.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["OpenSearchType", "OPENSEARCH_TYPES", "opensearch_mappings", "opensearch_field_mapping"]


@dataclass(frozen=True, slots=True)
class OpenSearchType:
    type: str
    keep_parameters: bool  # False: only the type (and the field's properties and multi-fields) carry over
    why: str


_SAME_IN_BOTH = ("keyword", "long", "integer", "float", "double", "date", "boolean", "ip", "geo_point",
                 "scaled_float", "object", "nested")
OPENSEARCH_TYPES: dict[str, OpenSearchType] = {
    **{kind: OpenSearchType(kind, True, "the same type and parameters in OpenSearch") for kind in _SAME_IN_BOTH},
    "match_only_text": OpenSearchType("match_only_text", True, "the same type (OpenSearch 2.12+)"),
    "wildcard": OpenSearchType("wildcard", True, "the same type (OpenSearch 2.15+)"),
    "flattened": OpenSearchType("flat_object", False,
                                "OpenSearch's type for a whole JSON object as keywords (2.7+); it takes no "
                                "ignore_above"),
    "constant_keyword": OpenSearchType("keyword", False,
                                       "OpenSearch's constant_keyword needs its one value in the mapping, and one "
                                       "template serves the index of every family; OpenSearch documents carry no "
                                       "data_stream.* fields anyway"),
}


def opensearch_field_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    """One field's mapping (with its properties and multi-fields) in OpenSearch's terms."""
    kind = mapping.get("type", "object")
    row = OPENSEARCH_TYPES[kind]
    translated: dict[str, Any] = {"type": row.type} if "type" in mapping else {}
    for key, value in mapping.items():
        if key == "properties":
            translated[key] = {name: opensearch_field_mapping(child) for name, child in value.items()}
        elif key == "fields":
            translated[key] = {name: opensearch_field_mapping(multi) for name, multi in value.items()}
        elif key != "type" and row.keep_parameters:
            translated[key] = value
    return translated


def opensearch_mappings(mappings: dict[str, Any]) -> dict[str, Any]:
    """A ``mappings`` body (properties, dynamic templates, settings such as date_detection) for OpenSearch."""
    translated = dict(mappings)
    if "properties" in mappings:
        translated["properties"] = {name: opensearch_field_mapping(field)
                                    for name, field in mappings["properties"].items()}
    if "dynamic_templates" in mappings:
        translated["dynamic_templates"] = [
            {name: {**rule, "mapping": opensearch_field_mapping(rule["mapping"])} for name, rule in entry.items()}
            for entry in mappings["dynamic_templates"]]
    return translated
