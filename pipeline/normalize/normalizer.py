"""BOTES record -> ECS event, driven by the field table of its source type."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.events import Event, Rejected, set_at, split_path
from pipeline.normalize.ecs import ecs_schema
from pipeline.normalize.maps import FieldTable, load_field_table
from pipeline.normalize.plan import UNMAPPED, FieldPlan, find_spec, is_empty
from pipeline.normalize.records import flatten, parse_record
from pipeline.normalize.related import related_fields
from pipeline.normalize.sources import SOURCE_TYPES, SourceType, resolve_source_type

__all__ = ["Normalizer", "ECS_VERSION", "UNMAPPED", "ERRORS_FIELD", "find_spec", "is_empty"]

ECS_VERSION = ecs_schema().version
ERRORS_FIELD = "botes.normalize.errors"  # values that could not take their ECS type (raw kept in event.original)
_ERRORS_AT = split_path(ERRORS_FIELD)
_ORIGINAL_AT, _DATASET_AT, _MODULE_AT, _ECS_VERSION_AT = (
    split_path(path) for path in ("event.original", "event.dataset", "event.module", "ecs.version"))


def _utf8(line: bytes) -> str | None:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:  # parse_record says why
        return None


class Normalizer:
    """Compiles the field tables once (``FieldPlan``); ``normalize_line`` is then pure."""

    def __init__(self, default_timezone: str = "UTC") -> None:
        self._tz: tzinfo = ZoneInfo(default_timezone)
        self._tables: dict[str, FieldTable] = {name: load_field_table(name) for name in SOURCE_TYPES}
        self._plans: dict[str, FieldPlan] = {name: FieldPlan(table, self._tz) for name, table in self._tables.items()}
        self._observers: dict[str, list[tuple[tuple[str, ...], str, str]]] = {
            name: [(*split_path(f"observer.{key}"), value) for key, value in source.observer.items()]
            for name, source in SOURCE_TYPES.items()}

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
        decoded = line if isinstance(line, str) else _utf8(line)
        record = self.read_record(line if decoded is None else decoded, source)
        if isinstance(record, Rejected):
            return Rejected(record.reason, record.raw, source.name, location)
        assert decoded is not None  # parse_record rejects a line that is not UTF-8
        return self.normalize_record(record, source, decoded.rstrip("\r\n"))

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
        event: Event = {}
        errors: list[str] = []
        self._plans[source.name].apply(event, prepared, errors, converted)
        self._add_common_fields(event, source, original, errors, read_time)
        source.finish(event)
        for kind, values in related_fields(event).items():
            set_at(event, ("related",), kind, values)
        if errors:
            set_at(event, *_ERRORS_AT, errors)
        return event

    def _add_common_fields(self, event: Event, source: SourceType, original: str,
                           errors: list[str], read_time: str | None) -> None:
        if "@timestamp" not in event:
            errors.append("no event time found; @timestamp is the time the event was read")
            event["@timestamp"] = read_time or datetime.now(UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z")
        set_at(event, *_ORIGINAL_AT, original)
        set_at(event, *_DATASET_AT, source.name)
        set_at(event, *_MODULE_AT, source.module)
        for parents, leaf, value in self._observers[source.name]:
            set_at(event, parents, leaf, value)
        set_at(event, *_ECS_VERSION_AT, ECS_VERSION)
