"""The field table: BOTES original field -> ECS field and type, per source type.

Built from the BOTES maps (``pipeline/data/botes-maps/*.csv``, unchanged) with the deviations listed in
``pipeline/data/field_overrides.csv`` applied on top, so every departure from the maps is in one place.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import bundled_data

__all__ = ["FieldSpec", "FieldTable", "load_field_table", "map_names"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    original: str
    ecs: str
    type: str  # the maps' type names, lower-case: keyword, long, ip, date, boolean, float, ...


FieldTable = dict[str, FieldSpec]


def map_names(maps_dir: Path | None = None) -> list[str]:
    """Every source type the BOTES maps define (their file names)."""
    return sorted(p.stem for p in (maps_dir or bundled_data("botes-maps")).glob("*.csv"))


def load_field_table(source_type: str, maps_dir: Path | None = None,
                     overrides: Path | None = None) -> FieldTable:
    """Original field -> FieldSpec for one source type (map rows, then overrides)."""
    table: FieldTable = {}
    map_file = (maps_dir or bundled_data("botes-maps")) / f"{source_type}.csv"
    with map_file.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            if len(row) < 3 or row[0] == "Original Field":
                continue
            table[row[0].strip()] = FieldSpec(row[0].strip(), row[1].strip(), row[2].strip().lower())
    with (overrides or bundled_data("field_overrides.csv")).open(encoding="utf-8", newline="") as f:
        for o in csv.DictReader(f):
            if o["source_type"] == source_type:
                table[o["original"]] = FieldSpec(o["original"], o["ecs"], o["type"].lower())
    return table
