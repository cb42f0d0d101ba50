"""Request bodies checked against Elasticsearch's own specification (OpenAPI, from elastic/elasticsearch-specification).

tests/data/elasticsearch-spec/requests-8.15.json.gz holds, unchanged, the body schemas of the requests `botes
setup` and `botes index` send and every schema they refer to (provenance in its README). The specification is
written for code generators, not validators: objects are open, unions overlap (``"-1"`` is both a Duration
string and its ``"-1"`` member) and inheritance is ``allOf``. ``strict`` turns it into what a validator needs,
without changing what it allows: every object lists its keys (``additionalProperties: false`` where the spec
gives properties and no open map; ``EmptyObject`` admits only ``{}``), ``allOf`` parts are merged into one
object, ``oneOf`` becomes ``anyOf``, and a union with a discriminator (mapping properties by ``type``) validates
the branch its discriminator names. One correction: the OpenAPI generator renders user-defined values (the
values of ``_meta``) as ``{"type": "object"}``; the specification's own type for them is any JSON value.
Then the ``jsonschema`` library validates.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

__all__ = ["SPEC_VERSION", "request_errors"]

SPEC_VERSION = "8.15"
SPEC = Path(__file__).resolve().parents[2] / "data" / "elasticsearch-spec" / f"requests-{SPEC_VERSION}.json.gz"
_DOCUMENTATION_KEYS = {"description", "externalDocs", "discriminator", "x-technical-preview", "deprecated",
                       "x-state", "examples", "default"}


def _resolve(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[1]]
    return node


def _merged(schemas: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One object schema with the properties and required keys of every ``allOf`` part."""
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in parts:
        part = _resolve(schemas, part)
        if "allOf" in part:
            part = _merged(schemas, part["allOf"])
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged


def _discriminated(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A union told apart by a property (``type`` for mapping properties): the branch that property names
    validates, so a wrong field is reported against its own type, and nesting costs no exponential search."""
    key = node["discriminator"]["propertyName"]
    rules: list[dict[str, Any]] = []
    values: list[str] = []
    for branch in node["oneOf"]:
        target = _resolve(schemas, branch)
        merged = _merged(schemas, target["allOf"]) if "allOf" in target else target
        value = merged["properties"][key]["enum"][0]
        values.append(value)
        ref = {"$ref": "#/definitions/" + branch["$ref"].rsplit("/", 1)[1]}
        rules.append({"if": {"properties": {key: {"const": value}}, "required": [key]}, "then": ref})
        if key not in merged.get("required", []):  # e.g. ObjectProperty: "type" may be left out
            rules.append({"if": {"not": {"required": [key]}}, "then": ref})
    return {"type": "object", "allOf": [{"properties": {key: {"enum": values}}}, *rules]}


def strict(schemas: dict[str, Any], node: Any) -> Any:
    if isinstance(node, list):
        return [strict(schemas, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "discriminator" in node and "oneOf" in node:
        return _discriminated(schemas, node)
    if "allOf" in node:
        node = {**_merged(schemas, node["allOf"]), **{k: v for k, v in node.items() if k != "allOf"}}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DOCUMENTATION_KEYS:
            continue
        if key == "properties":
            out[key] = {name: strict(schemas, child) for name, child in value.items()}
        elif key == "$ref":
            out[key] = "#/definitions/" + value.rsplit("/", 1)[1]
        else:
            out["anyOf" if key == "oneOf" else key] = strict(schemas, value)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@cache
def _validators() -> dict[str, Draft7Validator]:
    spec = json.loads(gzip.decompress(SPEC.read_bytes()))
    schemas = spec["components"]["schemas"]
    definitions = {name: strict(schemas, schema) for name, schema in schemas.items()}
    definitions["_types:Metadata"] = {"type": "object"}             # Dictionary<string, UserDefinedValue>
    definitions["_types:EmptyObject"] = {"type": "object", "additionalProperties": False}
    return {name: Draft7Validator({**strict(schemas, body), "definitions": definitions})
            for name, body in spec["requests"].items()}


def request_errors(api: str, body: Any) -> list[str]:
    """Why ``body`` is not a valid body of ``api`` (e.g. ``ilm.put_lifecycle``); empty when it is."""
    return list(_errors(api, json.dumps(body, sort_keys=True)))


@cache
def _errors(api: str, body: str) -> tuple[str, ...]:
    """Cached by content: the ECS mappings (3,400 fields) are the same body for every settings case."""
    errors = list(_validators()[api].iter_errors(json.loads(body)))
    if not errors:
        return ()
    best: ValidationError | None = best_match(errors)
    where = "/".join(str(p) for p in best.absolute_path) if best else ""
    return (f"{where}: {best.message[:300]}" if best else "invalid", *(e.message[:200] for e in errors[:5]))
