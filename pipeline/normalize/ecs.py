"""The ECS field list (ECS 9.4.0, shipped as data): which fields exist, their types, allowed values."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache

from pipeline.config import bundled_data

__all__ = ["EcsSchema", "ecs_schema", "CUSTOM_NAMESPACE", "CONTAINER_TYPES"]

CUSTOM_NAMESPACE = "botes"  # the one place for fields that have no ECS home
CONTAINER_TYPES = frozenset({"object", "flattened", "nested"})


@dataclass(frozen=True)
class EcsSchema:
    version: str
    types: dict[str, str]                     # field -> ECS type
    allowed_values: dict[str, frozenset[str]]  # categorisation field -> allowed values

    def is_field(self, path: str) -> bool:
        """True for an ECS leaf field, or a path inside an ECS object/flattened/nested field."""
        if path in self.types:
            return True
        parts = path.split(".")
        return any(self.types.get(".".join(parts[:i])) in CONTAINER_TYPES for i in range(1, len(parts)))

    def is_allowed(self, path: str) -> bool:
        """True for a field of ECS or of the custom namespace."""
        return path == CUSTOM_NAMESPACE or path.startswith(f"{CUSTOM_NAMESPACE}.") or self.is_field(path)


@cache
def ecs_schema() -> EcsSchema:
    """Loaded once per process; the files never change at run time."""
    types: dict[str, str] = {}
    version = ""
    with bundled_data("ecs/fields.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            types[row["Field"]] = row["Type"]
            version = row["ECS_Version"]
    allowed = json.loads(bundled_data("ecs/allowed_values.json").read_text(encoding="utf-8"))
    return EcsSchema(version, types,
                     {name: frozenset(values) for name, values in allowed["allowed_values"].items()})
