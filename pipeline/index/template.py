"""The ECS index template: the ECS 9.4.0 types of every non-string field, keyword for other strings."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import IndexSettings
from pipeline.errors import DependencyError
from pipeline.normalize.ecs import ecs_schema

__all__ = ["index_template", "install_template", "check_template", "template_name", "TEMPLATE_FIELD_TYPES"]

# ECS types the template maps explicitly; every other string becomes a keyword (dynamic template).
_MAPPED_TYPES = {"ip": "ip", "date": "date", "long": "long", "integer": "integer", "float": "float",
                 "double": "double", "scaled_float": "float", "boolean": "boolean", "geo_point": "geo_point"}


def _template_field_types() -> dict[str, str]:
    """Every ECS 9.4.0 field of a non-string type, plus message as text and event.original stored only."""
    types = {path: _MAPPED_TYPES[kind] for path, kind in ecs_schema().types.items() if kind in _MAPPED_TYPES}
    return {**types, "message": "text", "event.original": "keyword"}


TEMPLATE_FIELD_TYPES: dict[str, str] = _template_field_types()


def _properties(field_types: dict[str, str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, kind in sorted(field_types.items()):
        *parents, leaf = path.split(".")
        node = root
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        mapping: dict[str, Any] = {"type": kind}
        if path == "event.original":  # kept for the record, not searched (as ECS advises)
            mapping.update(index=False, doc_values=False)
        node[leaf] = mapping
    return root


def index_template(settings: IndexSettings) -> dict[str, Any]:
    return {
        "index_patterns": [f"{settings.prefix}-*"],
        "priority": 200,
        "template": {
            # ECS alone maps ~500 typed fields, and 22 source types add their botes.* fields.
            "settings": {"number_of_shards": 1, "mapping": {"total_fields": {"limit": 5000}}},
            "mappings": {
                "dynamic_templates": [
                    {"strings_as_keyword": {"match_mapping_type": "string",
                                            "mapping": {"type": "keyword", "ignore_above": 1024}}},
                ],
                "properties": _properties(TEMPLATE_FIELD_TYPES),
            },
        },
    }


def template_name(settings: IndexSettings) -> str:
    return f"{settings.prefix}-ecs"


def check_template(client: Elasticsearch, settings: IndexSettings) -> None:
    """Refuse to index without the template: dynamic mapping would make addresses plain keywords."""
    if not client.indices.exists_index_template(name=template_name(settings)):
        raise DependencyError(f"index.prefix: index template {template_name(settings)} is not installed "
                              f"on {settings.url}; run `botes setup` first")


def install_template(client: Elasticsearch, settings: IndexSettings) -> str:
    """Create or replace the template; returns its name."""
    name = template_name(settings)
    body = index_template(settings)
    client.indices.put_index_template(name=name, index_patterns=body["index_patterns"],
                                      priority=body["priority"], template=body["template"])
    return name
