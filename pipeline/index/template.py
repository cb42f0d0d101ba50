"""The ECS index template: explicit types for the fields the pipeline writes, keyword for other strings."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import IndexSettings
from pipeline.enrich.base import ADDRESS_FIELDS
from pipeline.errors import DependencyError

__all__ = ["index_template", "install_template", "check_template", "template_name", "TEMPLATE_FIELD_TYPES"]

_ENDPOINT = {
    "ip": "ip", "port": "long", "bytes": "long", "packets": "long", "domain": "keyword",
    "geo.location": "geo_point", "as.number": "long", "nat.ip": "ip", "nat.port": "long",
}
TEMPLATE_FIELD_TYPES: dict[str, str] = {
    "@timestamp": "date",
    "event.severity": "long",
    "event.original": "keyword",
    "message": "text",
    "network.bytes": "long",
    "network.packets": "long",
    "observer.ip": "ip",
    "related.ip": "ip",
    "file.size": "long",
    "http.response.status_code": "long",
    **{f"{side}.{field}": kind for side in ADDRESS_FIELDS for field, kind in _ENDPOINT.items()},
}


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
            "settings": {"number_of_shards": 1},
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
