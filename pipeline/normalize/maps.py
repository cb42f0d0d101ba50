"""The field table: BOTES original field -> ECS field and type, per source type.

Built from the BOTES maps (``pipeline/data/botes-maps/*.csv``, unchanged) in three steps:

1. the map's rows;
2. the deviations in ``pipeline/data/field_overrides.csv`` (each with its reason) replace rows;
3. a target that is not a current ECS field moves under the custom namespace (``threat.application.name``
   becomes ``botes.threat.application.name``), and a target that is an ECS field takes its ECS type
   (ports and byte counts become numbers whatever the map says).
"""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import bundled_data
from pipeline.normalize.ecs import CONTAINER_TYPES, CUSTOM_NAMESPACE, EcsSchema, ecs_schema

__all__ = ["FieldSpec", "FieldTable", "load_field_table", "map_names", "ECS_TO_CONVERTER"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    original: str
    ecs: str
    type: str  # keyword, long, float, ip, date, boolean or object (kept as it is)


FieldTable = dict[str, FieldSpec]

# ECS (and map) type names -> the converter the normaliser applies.
ECS_TO_CONVERTER = {
    "keyword": "keyword", "wildcard": "keyword", "constant_keyword": "keyword", "match_only_text": "keyword",
    "text": "keyword", "long": "long", "integer": "long", "unsigned_long": "long", "float": "float",
    "double": "float", "scaled_float": "float", "ip": "ip", "date": "date", "boolean": "boolean",
    **{kind: "object" for kind in CONTAINER_TYPES},
}


def map_names(maps_dir: Path | None = None) -> list[str]:
    """Every source type the BOTES maps define (their file names)."""
    return sorted(p.stem for p in (maps_dir or bundled_data("botes-maps")).glob("*.csv"))


def _map_rows(path: Path) -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            if len(row) < 3 or row[0] == "Original Field" or not row[0].strip():
                continue
            rows[row[0].strip()] = (row[1].strip(), row[2].strip().lower())
    return rows


def _override_rows(path: Path, source_type: str) -> dict[str, tuple[str, str]]:
    """Rows for ``source_type``; a row's source_type may be a pattern (``stream-*``) for a whole family.
    Later rows win, so a row for one type placed after a family row refines it."""
    with path.open(encoding="utf-8", newline="") as f:
        return {o["original"]: (o["ecs"], o["type"].lower())
                for o in csv.DictReader(f) if fnmatch.fnmatchcase(source_type, o["source_type"])}


def _resolve(original: str, target: str, map_type: str, schema: EcsSchema) -> FieldSpec:
    if target == "@timestamp" or target.startswith(f"{CUSTOM_NAMESPACE}."):
        return FieldSpec(original, target, ECS_TO_CONVERTER.get(map_type, "keyword"))
    if not schema.is_field(target):
        return FieldSpec(original, f"{CUSTOM_NAMESPACE}.{target}", ECS_TO_CONVERTER.get(map_type, "keyword"))
    ecs_type = schema.types.get(target, "object")
    return FieldSpec(original, target, ECS_TO_CONVERTER.get(ecs_type, "keyword"))


def load_field_table(source_type: str, maps_dir: Path | None = None,
                     overrides: Path | None = None) -> FieldTable:
    """Original field -> FieldSpec for one source type."""
    rows = _map_rows((maps_dir or bundled_data("botes-maps")) / f"{source_type}.csv")
    rows.update(_override_rows(overrides or bundled_data("field_overrides.csv"), source_type))
    schema = ecs_schema()
    return {original: _resolve(original, target, kind, schema) for original, (target, kind) in rows.items()}
