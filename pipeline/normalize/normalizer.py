"""BOTES record -> ECS event, driven by the field table of its source type."""

from __future__ import annotations

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

__all__ = ["Normalizer", "ECS_VERSION", "UNMAPPED", "ERRORS_FIELD"]

ECS_VERSION = ecs_schema().version
UNMAPPED = "botes.unmapped"        # original fields the table has no home for, kept under their name
ERRORS_FIELD = "botes.normalize.errors"  # values that could not take their ECS type (raw kept in event.original)


class Normalizer:
    """Loads the field tables once; ``normalize_line`` is then pure."""

    def __init__(self, default_timezone: str = "UTC") -> None:
        self._tables: dict[str, FieldTable] = {name: load_field_table(name) for name in SOURCE_TYPES}
        self._tz: tzinfo = ZoneInfo(default_timezone)

    def normalize_line(self, line: str | bytes, source_type: str, location: str | None = None
                       ) -> Event | Rejected:
        """One BOTES JSON line as an ECS event, or the reason it cannot be one."""
        source = resolve_source_type(source_type)
        if source is None:
            known = ", ".join(sorted(SOURCE_TYPES))
            text = line if isinstance(line, str) else line.decode("utf-8", "replace")
            return Rejected(f"unknown source type {source_type!r} (known: {known})", text,
                            source_type, location)
        record = parse_record(line)
        # Only a line that is not JSON at all may be another form (FortiGate key=value): a JSON line too
        # deep, or not an object, stays rejected with its reason, whatever key=value text it contains.
        if isinstance(record, Rejected) and source.parse_raw is not None and record.reason.startswith("not JSON"):
            record = source.parse_raw(record.raw) or record
        if isinstance(record, Rejected):
            return Rejected(record.reason, record.raw, source.name, location)
        original = line if isinstance(line, str) else line.decode("utf-8")
        return self.normalize_record(record, source, original.rstrip("\r\n"))

    def normalize_record(self, record: dict[str, Any], source: SourceType, original: str) -> Event:
        table = self._tables[source.name]
        event: Event = {}
        errors: list[str] = []
        for key, value in source.prepare(flatten(record)).items():
            if value is None or value == "" or value == []:
                continue
            spec = table.get(key) or table.get(key.replace("{}", "")) or table.get(f"{key}{{}}")
            if "{}" in key and not isinstance(value, list):
                value = [value]  # a Splunk multi-value field (name{}, ports{}.port) is an array even with one value
            if spec is None:
                set_path(event, f"{UNMAPPED}.{key.replace('{}', '')}", value)
                continue
            self._apply(event, spec, value, errors)
        self._add_common_fields(event, source, original, errors)
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
                           errors: list[str]) -> None:
        if "@timestamp" not in event:
            errors.append("no event time found; @timestamp is the time the event was read")
            event["@timestamp"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        set_path(event, "event.original", original)
        set_path(event, "event.dataset", source.name)
        set_path(event, "event.module", source.module)
        for key, value in source.observer.items():
            set_path(event, f"observer.{key}", value)
        set_path(event, "ecs.version", ECS_VERSION)
