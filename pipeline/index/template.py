"""The index template, split as Elastic splits its own (``ecs@mappings``, ``logs@settings``):

- ``<prefix>-ecs@mappings``: every ECS 9.4.0 field with ECS's own type (pipeline/index/mappings.py);
- ``<prefix>-botes@mappings``: the project's ``botes.*`` fields, date detection off, other strings as keywords;
- ``<prefix>@settings``: shards, compression, field limit and (elasticsearch) the ILM policy;
- the index template ``<prefix>-ecs`` composed of the three: for the data streams ``logs-<prefix>.*-*``
  (elasticsearch) or the indices ``<prefix>-*`` (opensearch, with the types of pipeline/index/opensearch.py).

Each carries a hash of its content in ``_meta``. Installing is idempotent: what is unchanged is left alone, and a
change is put with the next ``version``. Elasticsearch applies a new template to new indices only, so a data
stream picks it up at its next rollover (``botes index rollover`` forces one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from elasticsearch import Elasticsearch, NotFoundError

from pipeline.config import IndexSettings
from pipeline.errors import DependencyError
from pipeline.index.documents import template_pattern
from pipeline.index.lifecycle import lifecycle_policy, policy_name
from pipeline.index.mappings import botes_dynamic_templates, botes_properties, ecs_properties
from pipeline.index.opensearch import opensearch_mappings
from pipeline.normalize.ecs import CUSTOM_NAMESPACE, ecs_schema

__all__ = ["template_name", "component_names", "component_templates", "composed_mappings", "index_template",
           "install_templates", "check_template", "Installed", "TEMPLATE_PRIORITY", "FIELD_LIMIT"]


# Above Elastic's built-in `logs` template (100, logs-*-*), like Fleet's integration templates.
TEMPLATE_PRIORITY = 200
# ECS maps ~3,400 fields (with objects and multi-fields), botes.* ~700; room for dynamic fields.
FIELD_LIMIT = 10_000
_MANAGED_BY = "botes-pipeline"


Status = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class Installed:
    kind: str                 # "ILM policy", "component template", "index template"
    name: str
    version: int | None
    status: Status


def template_name(settings: IndexSettings) -> str:
    return f"{settings.prefix}-ecs"


def component_names(settings: IndexSettings) -> tuple[str, str, str]:
    """(ECS mappings, botes.* mappings, settings), in the order they are composed."""
    return f"{settings.prefix}-ecs@mappings", f"{settings.prefix}-{CUSTOM_NAMESPACE}@mappings", \
        f"{settings.prefix}@settings"


def _content_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _with_meta(body: dict[str, Any], **meta: Any) -> dict[str, Any]:
    """The body with ``_meta`` naming its maker, the ECS version and the hash of everything else."""
    content = {**body, "_meta": {"managed_by": _MANAGED_BY, "ecs_version": ecs_schema().version, **meta}}
    content["_meta"]["content_hash"] = _content_hash(content)
    return content


def _index_settings(settings: IndexSettings) -> dict[str, Any]:
    index: dict[str, Any] = {"number_of_shards": 1, "codec": "best_compression",
                             "mapping": {"total_fields": {"limit": FIELD_LIMIT}}}
    if settings.server == "elasticsearch":
        index["lifecycle"] = {"name": policy_name(settings)}
    return {"index": index}


def component_templates(settings: IndexSettings) -> dict[str, dict[str, Any]]:
    """Component template name -> body (``template`` and ``_meta``), without its version."""
    ecs: dict[str, Any] = {"properties": ecs_properties()}
    botes: dict[str, Any] = {"date_detection": False, "dynamic_templates": botes_dynamic_templates(),
                             "properties": botes_properties()}
    if settings.server == "opensearch":
        ecs, botes = opensearch_mappings(ecs), opensearch_mappings(botes)
    ecs_name, botes_name, settings_name = component_names(settings)
    return {
        ecs_name: _with_meta({"template": {"mappings": ecs}}, description="ECS field mappings"),
        botes_name: _with_meta({"template": {"mappings": botes}}, description="botes.* field mappings"),
        settings_name: _with_meta({"template": {"settings": _index_settings(settings)}},
                                  description="index settings"),
    }


def composed_mappings(settings: IndexSettings) -> dict[str, Any]:
    """The mappings a new index (or backing index) gets from the components, composed in order as Elasticsearch
    does: properties merged (a later component wins a field), dynamic templates appended, other keys replaced."""
    composed: dict[str, Any] = {}
    for body in component_templates(settings).values():
        for key, value in body["template"].get("mappings", {}).items():
            if key == "properties":
                composed[key] = _merged_properties(composed.get(key, {}), value)
            elif key == "dynamic_templates":
                composed[key] = [*composed.get(key, []), *value]
            else:
                composed[key] = value
    return composed


def _merged_properties(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, mapping in extra.items():
        if name in merged and "properties" in merged[name] and "properties" in mapping:
            mapping = {**merged[name], **mapping,
                       "properties": _merged_properties(merged[name]["properties"], mapping["properties"])}
        merged[name] = mapping
    return merged


def index_template(settings: IndexSettings) -> dict[str, Any]:
    """The index template body, without its version. Its hash covers its components' hashes, so a change in
    any of them is a new version of the template too."""
    components = component_templates(settings)
    body: dict[str, Any] = {"index_patterns": [template_pattern(settings)], "composed_of": list(components),
                            "priority": TEMPLATE_PRIORITY}
    if settings.server == "elasticsearch":
        body["data_stream"] = {}
    return _with_meta(body, description="BOTES events in ECS",
                      components={name: c["_meta"]["content_hash"] for name, c in components.items()})


def _next(existing: dict[str, Any] | None, body: dict[str, Any]) -> tuple[int | None, Status]:
    """(version to put, status); version None: the installed one is this content, leave it alone."""
    if existing is None:
        return 1, "created"
    if existing.get("_meta", {}).get("content_hash") == body["_meta"]["content_hash"]:
        return None, "unchanged"
    return int(existing.get("version") or 0) + 1, "updated"


def _installed_policy(client: Elasticsearch, name: str) -> dict[str, Any] | None:
    try:
        found = client.ilm.get_lifecycle(name=name)[name]
    except NotFoundError:
        return None
    return {"version": found.get("version"), **found["policy"]}


def _install_policy(client: Elasticsearch, settings: IndexSettings) -> Installed:
    name = policy_name(settings)
    policy = _with_meta(lifecycle_policy(settings), description="rollover, then delete after index.retention")
    existing = _installed_policy(client, name)
    version, status = _next(existing, policy)
    if version is not None:
        client.ilm.put_lifecycle(name=name, policy=policy)
        existing = _installed_policy(client, name)  # Elasticsearch numbers policy versions itself
    return Installed("ILM policy", name, existing.get("version") if existing else None, status)


def _installed_component(client: Elasticsearch, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.cluster.get_component_template(name=name)["component_templates"][0]
    except NotFoundError:
        return None
    return dict(found["component_template"])


def _install_component(client: Elasticsearch, name: str, body: dict[str, Any]) -> Installed:
    existing = _installed_component(client, name)
    version, status = _next(existing, body)
    if version is None:
        return Installed("component template", name, existing.get("version") if existing else None, status)
    client.cluster.put_component_template(name=name, template=body["template"], meta=body["_meta"],
                                          version=version)
    return Installed("component template", name, version, status)


def _installed_index_template(client: Elasticsearch, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.indices.get_index_template(name=name)["index_templates"][0]
    except NotFoundError:
        return None
    return dict(found["index_template"])


def _install_index_template(client: Elasticsearch, name: str, body: dict[str, Any]) -> Installed:
    existing = _installed_index_template(client, name)
    version, status = _next(existing, body)
    if version is None:
        return Installed("index template", name, existing.get("version") if existing else None, status)
    client.indices.put_index_template(name=name, index_patterns=body["index_patterns"],
                                      composed_of=body["composed_of"], priority=body["priority"],
                                      data_stream=body.get("data_stream"), meta=body["_meta"], version=version)
    return Installed("index template", name, version, status)


def install_templates(client: Elasticsearch, settings: IndexSettings) -> list[Installed]:
    """The ILM policy (elasticsearch), the component templates, then the index template; each put only when its
    content changed, with the next version."""
    installed = [_install_policy(client, settings)] if settings.server == "elasticsearch" else []
    for name, body in component_templates(settings).items():
        installed.append(_install_component(client, name, body))
    installed.append(_install_index_template(client, template_name(settings), index_template(settings)))
    return installed


def check_template(client: Elasticsearch, settings: IndexSettings) -> str | None:
    """Refuse to index without the template (dynamic mapping would make addresses plain keywords); a warning
    text when the installed template is not the one this version of the pipeline builds."""
    name = template_name(settings)
    installed = _installed_index_template(client, name)
    if installed is None:
        raise DependencyError(f"index.prefix: index template {name} is not installed on {settings.url}; "
                              "run `botes setup` first")
    if installed.get("_meta", {}).get("content_hash") != index_template(settings)["_meta"]["content_hash"]:
        return (f"index template {name} (version {installed.get('version')}) on {settings.url} is not the one "
                "this version of the pipeline builds; run `botes setup` to update it")
    return None
