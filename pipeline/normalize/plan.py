"""A source type's field table compiled for the hot path: per record key, the ECS path already split and the
converter already bound, so applying the table to a record is a dict lookup and a call per field.

The plan is built from the table once (``FieldPlan(table, tz)``); keys the table does not name (the record's
unmapped fields, Splunk's ``name{}``/``name`` spellings) are resolved the first time they are seen and kept,
up to ``MAX_LEARNED_KEYS`` per source type, so a record with endless new keys cannot grow it without bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from pipeline.events import Event, split_path
from pipeline.normalize.convert import ConversionError, converter
from pipeline.normalize.maps import FieldSpec, FieldTable

__all__ = ["FieldPlan", "FieldStep", "UNMAPPED", "MAX_LEARNED_KEYS", "find_spec", "is_empty"]

UNMAPPED = "botes.unmapped"  # original fields the table has no home for, kept under their name
MAX_LEARNED_KEYS = 4096


def is_empty(value: Any) -> bool:
    """A value the normaliser drops: null, "" or []."""
    return value is None or value == "" or value == []


def find_spec(table: FieldTable, key: str) -> FieldSpec | None:
    """The row of a record key; Splunk's ``name{}`` and ``name`` spellings find each other's row."""
    return table.get(key) or table.get(key.replace("{}", "")) or table.get(f"{key}{{}}")


@dataclass(frozen=True, slots=True)
class FieldStep:
    """Where one record key goes: ``parents``/``leaf`` of its ECS path (or of ``botes.unmapped.<key>``)."""

    parents: tuple[str, ...]
    leaf: str
    ecs: str                              # the ECS field ("" for an unmapped field)
    convert: Callable[[Any], Any] | None  # None: the value is kept as it is (objects, unmapped fields)
    label: str                            # "original -> ecs", for conversion errors
    multi_value: bool                     # a Splunk multi-value key (name{}): an array even with one value


class FieldPlan:
    def __init__(self, table: FieldTable, tz: tzinfo) -> None:
        self._table = table
        self._converters = {kind: converter(kind, tz) for kind in {spec.type for spec in table.values()}
                            if kind != "object"}
        self._steps: dict[str, FieldStep] = {key: self._compile(key) for key in table}

    def step(self, key: str) -> FieldStep:
        step = self._steps.get(key)
        if step is None:
            step = self._compile(key)
            if len(self._steps) < len(self._table) + MAX_LEARNED_KEYS:
                self._steps[key] = step
        return step

    def _compile(self, key: str) -> FieldStep:
        spec = find_spec(self._table, key)
        multi_value = "{}" in key
        if spec is None:
            parents, leaf = split_path(f"{UNMAPPED}.{key.replace('{}', '')}")
            return FieldStep(parents, leaf, "", None, "", multi_value)
        parents, leaf = split_path(spec.ecs)
        return FieldStep(parents, leaf, spec.ecs, self._converters.get(spec.type),
                         f"{spec.original} -> {spec.ecs}", multi_value)

    def apply(self, event: Event, record: Mapping[str, Any], errors: list[str],
              converted: Mapping[str, Any] | None = None) -> None:
        """Each non-empty value of the flat ``record`` at its ECS path, converted to its ECS type; a value that
        cannot take its type is left out and described in ``errors``. ``converted`` holds values for ECS fields
        already converted elsewhere, taken as they are (see Normalizer.normalize_prepared)."""
        steps = self._steps
        for key, value in record.items():
            if value is None or value == "" or value == []:
                continue
            step = steps.get(key) or self.step(key)
            if step.multi_value and not isinstance(value, list):
                value = [value]
            if converted is not None and step.ecs and step.ecs in converted:
                value = converted[step.ecs]
            elif step.convert is not None:
                try:
                    value = step.convert(value)
                except ConversionError as exc:
                    errors.append(f"{step.label}: {exc}")
                    continue
            node = event  # set_at, inlined: this runs for every field of every event
            for part in step.parents:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            node[step.leaf] = value
