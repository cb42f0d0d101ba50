"""BOTES record -> ECS event, driven by the field table of its source type."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.events import Event, Rejected, set_path
from pipeline.normalize.convert import ConversionError, convert
from pipeline.normalize.ecs import ecs_schema
from pipeline.normalize.maps import FieldSpec, FieldTable, load_field_table
from pipeline.normalize.records import flatten, parse_record
from pipeline.normalize.related import related_fields
from pipeline.normalize.sources import SOURCE_TYPES, SourceType, resolve_source_type

__all__ = ["Normalizer", "ECS_VERSION", "UNMAPPED", "ERRORS_FIELD", "find_spec", "is_empty"]

ECS_VERSION = ecs_schema().version
UNMAPPED = "botes.unmapped"        # original fields the table has no home for, kept under their name
ERRORS_FIELD = "botes.normalize.errors"  # values that could not take their ECS type (raw kept in event.original)


def is_empty(value: Any) -> bool:
    """A value the normaliser drops: null, "" or []."""
    return value is None or value == "" or value == []


def find_spec(table: FieldTable, key: str) -> FieldSpec | None:
    """The row of a record key; Splunk's ``name{}`` and ``name`` spellings find each other's row."""
    return table.get(key) or table.get(key.replace("{}", "")) or table.get(f"{key}{{}}")


class Normalizer:
    """Loads the field tables once; ``normalize_line`` is then pure."""

    def __init__(self, default_timezone: str = "UTC") -> None:
        self._tables: dict[str, FieldTable] = {name: load_field_table(name) for name in SOURCE_TYPES}
        self._tz: tzinfo = ZoneInfo(default_timezone)

    def table(self, source: SourceType) -> FieldTable:
        return self._tables[source.name]

    def normalize_line(self, line: str | bytes, source_type: str, location: str | None = None
                       ) -> Event | Rejected:
        """One BOTES JSON line as an ECS event, or the reason it cannot be one."""
        source = resolve_source_type(source_type)
        if source is None:
            known = ", ".join(sorted(SOURCE_TYPES))
            text = line if isinstance(line, str) else line.decode("utf-8", "replace")
            return Rejected(f"unknown source type {source_type!r} (known: {known})", text,
                            source_type, location)
        record = self.read_record(line, source)
        if isinstance(record, Rejected):
            return Rejected(record.reason, record.raw, source.name, location)
        original = line if isinstance(line, str) else line.decode("utf-8")
        return self.normalize_record(record, source, original.rstrip("\r\n"))

    def read_record(self, line: str | bytes, source: SourceType) -> dict[str, Any] | Rejected:
        """The record on a line: a JSON object, or the source's native line format."""
        record = parse_record(line)
        # Only a line that is not JSON at all may be another form (FortiGate key=value): a JSON line too
        # deep, or not an object, stays rejected with its reason, whatever key=value text it contains.
        if isinstance(record, Rejected) and source.parse_raw is not None and record.reason.startswith("not JSON"):
            record = source.parse_raw(record.raw) or record
        return record

    def normalize_record(self, record: dict[str, Any], source: SourceType, original: str) -> Event:
        return self.normalize_prepared(source.prepare(flatten(record)), source, original)

    def normalize_prepared(self, prepared: Mapping[str, Any], source: SourceType, original: str,
                           converted: Mapping[str, Any] | None = None, read_time: str | None = None) -> Event:
        """The event of a flat record that ``source.prepare`` has fixed.

        ``converted`` maps ECS fields to values already converted elsewhere (by a Logstash pipeline,
        see complete.py): they are taken as they are instead of converting the record's value again.
        ``read_time`` is the @timestamp of a record without an event time (default: now).
        """
        table = self._tables[source.name]
        event: Event = {}
        errors: list[str] = []
        for key, value in prepared.items():
            if is_empty(value):
                continue
            spec = find_spec(table, key)
            if "{}" in key and not isinstance(value, list):
                value = [value]  # a Splunk multi-value field (name{}, ports{}.port) is an array even with one value
            if spec is None:
                set_path(event, f"{UNMAPPED}.{key.replace('{}', '')}", value)
            elif converted is not None and spec.ecs in converted:
                set_path(event, spec.ecs, converted[spec.ecs])
            else:
                self._apply(event, spec, value, errors)
        self._add_common_fields(event, source, original, errors, read_time)
        source.finish(event)
        for kind, values in related_fields(event).items():
            set_path(event, f"related.{kind}", values)
        if errors:
            set_path(event, ERRORS_FIELD, errors)
        return event

    def _apply(self, event: Event, spec: FieldSpec, value: Any, errors: list[str]) -> None:
        if spec.type == "object":
            set_path(event, spec.ecs, value)
            return
        try:
            set_path(event, spec.ecs, convert(value, spec.type, self._tz))
        except ConversionError as exc:
            errors.append(f"{spec.original} -> {spec.ecs}: {exc}")

    def _add_common_fields(self, event: Event, source: SourceType, original: str,
                           errors: list[str], read_time: str | None) -> None:
        if "@timestamp" not in event:
            errors.append("no event time found; @timestamp is the time the event was read")
            event["@timestamp"] = read_time or datetime.now(UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z")
        set_path(event, "event.original", original)
        set_path(event, "event.dataset", source.name)
        set_path(event, "event.module", source.module)
        for key, value in source.observer.items():
            set_path(event, f"observer.{key}", value)
        set_path(event, "ecs.version", ECS_VERSION)
