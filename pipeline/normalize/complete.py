"""Completing the events the generated Logstash pipelines send, so they become the documents ``botes replay``
would have made (same fields, same id).

A pipeline applies the field table where Logstash can do it exactly as the normaliser (renames, the
conversions mutate gets right, dates in shapes Joda reads alike) and marks its event (``botes.logstash``,
see :mod:`pipeline.normalize.handoff`). The completion runs the normaliser's own table loop over the record
in ``event.original`` (after the source's ``prepare`` hook), taking every ECS field the pipeline filled
exactly as it is, and converting only the others:

- fields whose original a ``prepare`` hook changes, drops or adds, except the keys the pipeline prepares
  itself (``handoff.REPRODUCED``);
- fields whose original the pipeline named in ``botes.logstash.deferred``;
- IP addresses (checked and canonicalised here);
- fields several originals fill, when the record's key order (the normaliser's rule: the last one wins)
  disagrees with the order the pipeline applied them in;
- fields the pipeline left missing, empty or of another type than the table's.

Then the normaliser's own steps follow: the common fields, the ``finish`` hook, ``related.*``,
``botes.unmapped`` and ``botes.normalize.errors``. A line the pipeline could not read is normalised here
as a whole, giving the same event or the same dead letter as ``botes replay``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from pipeline.events import Event, Rejected, get_path
from pipeline.normalize.handoff import (
    DEFERRED,
    LOCATION,
    MARKER,
    READ,
    READ_RECORD,
    TIMEZONE,
    precedence,
    reproduced_keys,
    spellings,
)
from pipeline.normalize.maps import FieldSpec, FieldTable
from pipeline.normalize.normalizer import Normalizer, find_spec, is_empty
from pipeline.normalize.records import flatten
from pipeline.normalize.sources import SourceType, resolve_source_type

__all__ = ["LogstashCompletion", "Completion", "is_from_logstash", "line_bytes"]

_TIMESTAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")  # convert.parse_timestamp's form
# Ruby's String#inspect escapes (string.c rb_str_inspect): named control characters, the quote, the
# backslash, "#" before "{", "$" or "@"; invalid bytes as \xHH, other unprintable characters as \uHHHH.
_INSPECT_ESCAPES = {"n": 0x0A, "t": 0x09, "r": 0x0D, "f": 0x0C, "v": 0x0B, "b": 0x08, "a": 0x07, "e": 0x1B,
                    '"': 0x22, "\\": 0x5C, "#": 0x23}
_NOT_INSPECT = re.compile(r'(?<!\\)"|(?<!\\)#[{$@]|[\x00-\x1f\x7f]')  # inspect escapes these
_INSPECT_TOKEN = re.compile(r'\\x([0-9A-F]{2})|\\u([0-9A-F]{4})|\\u\{([0-9A-F]+)\}|\\(.)|(")', re.DOTALL)


def is_from_logstash(message: Event) -> bool:
    """True for a message a generated Logstash pipeline sent."""
    return isinstance(get_path(message, MARKER), dict)


def line_bytes(original: str) -> str | bytes:
    """The line as it was in the file. Logstash's codec replaces a line that is not UTF-8 by its Ruby
    ``String#inspect`` without the quotes (logstash-core lib/logstash/util/charset.rb): such a text is
    turned back into the bytes, so the job rejects the line exactly as ``botes replay`` does."""
    if "\\" not in original or _NOT_INSPECT.search(original):
        return original
    data = bytearray()
    position = 0
    for match in _INSPECT_TOKEN.finditer(original):
        data += original[position:match.start()].encode()
        byte, code, long_code, escaped, quote = match.groups()
        if quote is not None:
            return original  # inspect always escapes a double quote: this text is the line itself
        if byte is not None:
            data.append(int(byte, 16))
        elif code is not None or long_code is not None:
            data += chr(int(code or long_code, 16)).encode()
        elif escaped in _INSPECT_ESCAPES:
            data.append(_INSPECT_ESCAPES[escaped])
        else:
            return original
        position = match.end()
    data += original[position:].encode()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data)  # only a line that is not UTF-8 is escaped by Logstash
    return original


@dataclass(frozen=True, slots=True)
class Completion:
    """A completed event, and which of the table's fields came from Logstash and which were converted here."""

    event: Event
    from_logstash: frozenset[str]
    converted_here: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Rules:
    """What the completion needs of one source type, computed once."""

    table: FieldTable
    ranks: dict[str, int]            # precedence of the originals of one field (handoff.precedence)
    renamed: dict[str, int]          # record key -> its place among its row's spellings, as the pipeline renames
    reproduced: frozenset[str]       # keys the pipeline prepares itself


class LogstashCompletion:
    """Completes events from the Logstash pipelines; keeps one normaliser per time zone they name."""

    def __init__(self) -> None:
        self._normalizers: dict[str, Normalizer] = {}
        self._rules: dict[str, _Rules] = {}

    def complete(self, message: Event) -> Event | Rejected:
        """The document ``botes replay`` would have made of the same line, or its dead letter."""
        result = self.completion(message)
        return result.event if isinstance(result, Completion) else result

    def completion(self, message: Event) -> Completion | Rejected:
        """The completed event with which fields came from Logstash, or the dead letter."""
        message = {**message, "botes": dict(message.get("botes") or {})}
        marker: dict[str, Any] = message["botes"].pop("logstash", {})
        location = marker.get(LOCATION)
        where = location if isinstance(location, str) else None
        dataset, original = get_path(message, "event.dataset"), get_path(message, "event.original")
        if not isinstance(dataset, str) or not isinstance(original, str):
            return Rejected("a Logstash event without event.dataset and event.original", json.dumps(message),
                            None, where)
        timezone = str(marker.get(TIMEZONE) or "UTC")
        try:
            normalizer = self._normalizer(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return Rejected(f"the Logstash pipeline's time zone {timezone!r} (BOTES_NORMALIZE__DEFAULT_TIMEZONE) "
                            "is not a time zone", original, dataset, where)
        source = resolve_source_type(dataset)
        if marker.get(READ) != READ_RECORD or source is None:  # Logstash could not read the line: all of it here
            whole = normalizer.normalize_line(line_bytes(original), dataset, where)
            return whole if isinstance(whole, Rejected) else Completion(whole, frozenset(), frozenset())
        deferred = marker.get(DEFERRED, [])
        return self._complete_record(message, original, source, normalizer, where,
                                     {deferred} if isinstance(deferred, str) else set(deferred))

    def _complete_record(self, message: Event, original: str, source: SourceType, normalizer: Normalizer,
                         where: str | None, deferred: set[str]) -> Completion | Rejected:
        record = normalizer.read_record(original, source)
        if isinstance(record, Rejected):  # Logstash read what Python does not (e.g. two JSON values on a line)
            return Rejected(record.reason, record.raw, source.name, where)
        rules = self._rules_of(source, normalizer)
        flat = flatten(record)
        prepared = source.prepare(dict(flat))
        taken = self._taken(message, flat, prepared, deferred, rules)
        read_time = message.get("@timestamp")
        event = normalizer.normalize_prepared(prepared, source, original, taken,
                                              read_time if isinstance(read_time, str) else None)
        fields = {spec.ecs for key, value in prepared.items()
                  if not is_empty(value) and (spec := find_spec(rules.table, key)) is not None}
        return Completion(event, frozenset(taken), frozenset(fields - set(taken)))

    def _normalizer(self, timezone: str) -> Normalizer:
        if timezone not in self._normalizers:
            self._normalizers[timezone] = Normalizer(timezone)
        return self._normalizers[timezone]

    def _rules_of(self, source: SourceType, normalizer: Normalizer) -> _Rules:
        if source.name not in self._rules:
            table = normalizer.table(source)
            renamed = {spelling: place for original in table
                       for place, spelling in enumerate(spellings(table, original))}
            self._rules[source.name] = _Rules(table, precedence(source, table), renamed, reproduced_keys(source))
        return self._rules[source.name]

    def _taken(self, message: Event, flat: dict[str, Any], prepared: dict[str, Any], deferred: set[str],
               rules: _Rules) -> dict[str, Any]:
        """ECS field -> the value the pipeline gave it, for every field it filled exactly as the normaliser.

        The normaliser fills a field from the last key of the prepared record; the pipeline from the
        highest-ranked of the keys it sees (the raw record, with the keys it prepares itself as the hook
        leaves them). They agree when that is the same key, its value is not one a prepare hook changed
        and the pipeline did not defer any key of the field."""
        changed = _changed_by_prepare(flat, prepared) - rules.reproduced
        seen = {key: value for key, value in flat.items() if key not in rules.reproduced}
        seen.update((key, value) for key, value in prepared.items() if key in rules.reproduced)
        applied: dict[str, tuple[tuple[int, int], str]] = {}  # field -> (rank, key) the pipeline applies last
        unsure: set[str] = {rules.table[original].ecs for original in deferred if original in rules.table}
        for key in seen:
            if (spec := find_spec(rules.table, key)) is None:
                continue
            place = rules.renamed.get(key)
            if place is None:  # a spelling the pipeline does not rename
                unsure.add(spec.ecs)
                continue
            rank = (rules.ranks[spec.original], place)
            if spec.ecs not in applied or rank > applied[spec.ecs][0]:
                applied[spec.ecs] = (rank, key)
        last: dict[str, tuple[str, FieldSpec]] = {}
        for key, value in prepared.items():
            if not is_empty(value) and (spec := find_spec(rules.table, key)) is not None:
                last[spec.ecs] = (key, spec)
        taken: dict[str, Any] = {}
        for field, (key, spec) in last.items():
            if field in unsure or spec.type == "ip" or key in changed or applied.get(field, (None, None))[1] != key:
                continue
            value = get_path(message, field) if field != "@timestamp" else message.get(field)
            if _has_type(value, spec.type):
                taken[field] = value
        return taken


def _changed_by_prepare(flat: Mapping[str, Any], prepared: Mapping[str, Any]) -> set[str]:
    """Keys a prepare hook added, dropped or gave another value."""
    changed = set(flat) ^ set(prepared)
    for key in set(flat) & set(prepared):
        before, after = flat[key], prepared[key]
        if type(before) is not type(after) or before != after:
            changed.add(key)
    return changed


def _is_long(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_keyword(value: Any) -> bool:
    return isinstance(value, (str, dict))


_SCALAR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "long": _is_long, "float": lambda v: isinstance(v, float), "boolean": lambda v: isinstance(v, bool),
    "keyword": _is_keyword,
}


def _has_type(value: Any, kind: str) -> bool:
    """Whether a value the pipeline set has the form the normaliser's converter gives for the table type."""
    if is_empty(value):
        return False
    if kind == "object":
        return True
    if kind == "date":
        return isinstance(value, str) and _TIMESTAMP.match(value) is not None
    check = _SCALAR_CHECKS.get(kind, _is_keyword)
    return all(check(item) for item in (value if isinstance(value, list) else [value]))
