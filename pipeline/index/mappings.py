"""Field mappings for Elasticsearch: ECS 9.4.0's own, and the project's ``botes.*`` fields.

ECS's mappings come from its generated definitions (``pipeline/data/ecs/mapping_parameters.json``, cut from
``ecs_flat.yml``), turned into mapping parameters the way ECS's own template generator does
(``entry_for`` in its ``scripts/generators/es_template.py``): nested, object, match_only_text, wildcard, the
``.text`` multi-fields, constant_keyword, scaled_float with its scaling factor, ``ignore_above``, and
``index: false`` for ``event.original``. The one parameter left out is in ``ECS_PARAMETER_EXCEPTIONS``.

``botes.*`` fields take the type the field tables give them (``pipeline/normalize/maps.py``); the enrichers'
dates get dynamic templates, structures kept as the source had them become ``flattened``, and any other string
is a keyword.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from pipeline.config import bundled_data
from pipeline.normalize.ecs import CUSTOM_NAMESPACE
from pipeline.normalize.maps import load_field_table, map_names
from pipeline.normalize.normalizer import ERRORS_FIELD, UNMAPPED

__all__ = ["ECS_PARAMETER_EXCEPTIONS", "ECS_PARAMETER_ADDITIONS",
           "ecs_definitions", "ecs_field_mapping", "ecs_properties",
           "botes_field_types", "botes_properties", "botes_dynamic_templates", "properties_tree",
           "ENRICHMENT_DATES", "FAILURES_FIELD"]

# Mapping parameters ECS sets that the template leaves out, with the reason. Types are never changed for
# Elasticsearch; OpenSearch's substitutions are the table in pipeline/index/opensearch.py.
ECS_PARAMETER_EXCEPTIONS: dict[str, str] = {
    "synthetic_source_keep": (
        "ECS marks 50 set-like fields (tags, related.*, ...) synthetic_source_keep: none, which only matters "
        "when _source is synthetic (logsdb index mode). These data streams keep the stored _source, and "
        "Elasticsearch's request specification has the parameter only from 8.17 (the test image is 8.15.0), "
        "so a template carrying it would be refused by the Elasticsearch versions this project supports."),
}

# Mapping parameters the template adds to ECS's, per field, with the reason. Types are never changed.
ECS_PARAMETER_ADDITIONS: dict[str, tuple[dict[str, Any], str]] = {
    "threat.enrichments": ({"include_in_parent": True}, (
        "nested keeps each entry's values together for nested queries (matched.atomic AND indicator.provider of "
        "ONE entry); include_in_parent also indexes them on the event itself, so Lucene/KQL searches, the saved "
        "searches and Kibana's terms panels (which cannot reach inside a nested field) still find them.")),
}

_CONTAINERS = ("object", "nested")
_KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 1024}
_FLATTENED: dict[str, Any] = {"type": "flattened", "ignore_above": 1024}

# Field-table types (pipeline/normalize/maps.py) -> mapping. "object" fields keep a structure exactly as the
# source had it (e.g. Suricata's http.request_headers), so they are flattened: every value a keyword, no
# mapping conflict between records, and no mapping explosion.
_TABLE_TYPES: dict[str, dict[str, Any]] = {
    "keyword": _KEYWORD, "long": {"type": "long"}, "float": {"type": "float"}, "ip": {"type": "ip"},
    "date": {"type": "date"}, "boolean": {"type": "boolean"}, "object": _FLATTENED,
}

FAILURES_FIELD = "botes.enrichment.failures"  # pipeline.enrich.chain.FAILURES_FIELD (a test keeps them equal)

# Dates the enrichers write under botes.<field>.<source>.* (ISO 8601 UTC); date detection is off, so they are
# named here. Every other enrichment value maps dynamically: strings as keywords, integers as long.
ENRICHMENT_DATES: tuple[str, ...] = (
    "shodan.last_update",
    "onyphe.last_seen",
    "virustotal.first_submission_date", "virustotal.last_submission_date", "virustotal.last_analysis_date",
    "virustotal.last_modification_date",
)


@cache
def ecs_definitions() -> dict[str, dict[str, Any]]:
    """ECS field -> its definition's mapping keys (type, ignore_above, multi_fields, ...)."""
    data = json.loads(bundled_data("ecs/mapping_parameters.json").read_text(encoding="utf-8"))
    fields: dict[str, dict[str, Any]] = data["fields"]
    return fields


def _copy(source: Mapping[str, Any], target: dict[str, Any], keys: Iterable[str]) -> None:
    target.update({key: source[key] for key in keys if key in source and key not in ECS_PARAMETER_EXCEPTIONS})


def ecs_field_mapping(definition: Mapping[str, Any]) -> dict[str, Any]:
    """One ECS field's mapping, with the parameters ECS's template generator copies for its type."""
    kind = definition["type"]
    mapping: dict[str, Any] = {"type": kind}
    if kind in _CONTAINERS:
        if definition.get("enabled") is False:
            mapping["enabled"] = False
    elif definition.get("index") is False:
        _copy(definition, mapping, ("index", "doc_values"))
    _copy(definition, mapping, {
        "keyword": ("ignore_above", "synthetic_source_keep"), "flattened": ("ignore_above", "synthetic_source_keep"),
        "constant_keyword": ("value",), "text": ("norms",), "alias": ("path",), "scaled_float": ("scaling_factor",),
    }.get(kind, ()))
    if "multi_fields" in definition:
        mapping["fields"] = {multi["name"]: _multi_field_mapping(multi) for multi in definition["multi_fields"]}
    mapping.update(definition.get("parameters", {}))
    return mapping


def _multi_field_mapping(multi: Mapping[str, Any]) -> dict[str, Any]:
    mapping: dict[str, Any] = {"type": multi["type"]}
    _copy(multi, mapping, {"keyword": ("normalizer", "ignore_above"), "text": ("norms", "analyzer")}
          .get(multi["type"], ()))
    mapping.update(multi.get("parameters", {}))
    return mapping


def properties_tree(fields: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Dotted field -> mapping, as the nested ``properties`` a mapping needs. A field that is also the parent
    of others must be an object or nested field; its children go into its ``properties``."""
    root: dict[str, Any] = {}
    for path in sorted(fields):
        *parents, leaf = path.split(".")
        node = root
        for depth, part in enumerate(parents):
            parent = node.setdefault(part, {})
            if parent.get("type", "object") not in _CONTAINERS:
                raise ValueError(f"{path}: {'.'.join(parents[:depth + 1])} is a {parent['type']} field, "
                                 "it cannot hold fields")
            node = parent.setdefault("properties", {})
        mapping = dict(fields[path])
        if leaf in node:  # sorted order puts a parent first, so this is a second definition of a container
            raise ValueError(f"{path}: defined twice")
        node[leaf] = mapping
    return root


@cache
def ecs_properties() -> dict[str, Any]:
    """The ``properties`` of every ECS 9.4.0 field."""
    return properties_tree({path: ecs_field_mapping(d) | ECS_PARAMETER_ADDITIONS.get(path, ({}, ""))[0]
                            for path, d in ecs_definitions().items()})


@cache
def botes_field_types() -> dict[str, str]:
    """Every ``botes.*`` field the field tables of all source types define -> its table type."""
    types: dict[str, str] = {}
    for source_type in map_names():
        for spec in load_field_table(source_type).values():
            if not spec.ecs.startswith(f"{CUSTOM_NAMESPACE}."):
                continue
            if types.setdefault(spec.ecs, spec.type) != spec.type:
                raise ValueError(f"{spec.ecs}: typed {types[spec.ecs]} and {spec.type} by different source types")
    return types


@cache
def botes_properties() -> dict[str, Any]:
    """The ``properties`` (from the root: ``{"botes": ...}``) of the ``botes.*`` fields the pipeline defines."""
    fields: dict[str, Mapping[str, Any]] = {path: _TABLE_TYPES[kind] for path, kind in botes_field_types().items()}
    fields.update({
        UNMAPPED: _FLATTENED,           # original fields without a home: any shape, kept searchable
        ERRORS_FIELD: _KEYWORD,
        FAILURES_FIELD: {"type": "object"},
        **{f"{FAILURES_FIELD}.{key}": _KEYWORD for key in ("source", "field", "reason")},
    })
    return properties_tree(fields)


def botes_dynamic_templates() -> list[dict[str, Any]]:
    """Enrichment dates anywhere under botes.*, then every other new string as a keyword (as ECS does)."""
    dates = [{f"botes_{name.replace('.', '_')}": {"path_match": f"{CUSTOM_NAMESPACE}.*.{name}",
                                                  "mapping": {"type": "date"}}}
             for name in ENRICHMENT_DATES]
    return [*dates, {"strings_as_keyword": {"match_mapping_type": "string", "mapping": dict(_KEYWORD)}}]
