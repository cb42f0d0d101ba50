"""kafka.messages.parse_message: what the job accepts from a family topic, and why it refuses the rest."""

from __future__ import annotations

import json

import pytest

from pipeline.events import Rejected
from pipeline.kafka.messages import MAX_ARRAY_ELEMENTS, parse_message

EVENT = {"@timestamp": "2016-08-10T22:00:00Z", "event": {"dataset": "suricata", "original": "SYNTHETIC"},
         "related": {"ip": ["10.0.0.1", "10.0.0.2"]}}


def test_an_ecs_event_from_botes_replay_is_accepted_as_it_is() -> None:
    assert parse_message(json.dumps(EVENT).encode(), 1_048_576) == EVENT


@pytest.mark.parametrize("value, reason", [
    (None, "empty message (no value)"),
    (b"", "not JSON: Expecting value at column 1"),
    (b'{"event": {"dataset": "suricata"', "not JSON: Expecting ',' delimiter at column 33"),
    (b'{"event": {"original": "a\x00b", "dataset": "x"}}', "not JSON: Invalid control character at"),
    (b"\xff\xfe{}", "not UTF-8: invalid start byte at byte 0"),
    (b"[1, 2]", "not a JSON object but a list"),
    (b'{"message": "no event"}', "not an ECS event from `botes replay` (no event.dataset)"),
    (b'{"event": "suricata"}', "not an ECS event from `botes replay` (no event.dataset)"),
    (b'{"event": {"dataset": 42}}', "event.dataset is not a source type name but 42"),
    (b'{"event": {"dataset": ""}}', "event.dataset is not a source type name but ''"),
    (b'{"event": {"dataset": "x"}, "deep": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nested deeper than 100 levels"),
])
def test_what_is_not_an_event_is_refused_with_its_reason(value: bytes | None, reason: str) -> None:
    rejected = parse_message(value, 1_048_576)
    assert isinstance(rejected, Rejected)
    assert rejected.reason.startswith(reason)


def test_a_message_over_the_size_limit_is_refused_unread_keeping_only_its_start() -> None:
    value = b'{"event": {"dataset": "suricata", "original": "' + b"A" * 2_000_000 + b'"}}'
    rejected = parse_message(value, 1_048_576)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == f"message of {len(value)} bytes is larger than kafka.max_message_bytes (1048576)"
    assert rejected.raw == value[:4096].decode()
    assert isinstance(parse_message(value, 3_000_000), dict)  # the limit is the setting's


@pytest.mark.parametrize("path", ["tags", "deep.inside.list"])
def test_an_array_too_long_anywhere_in_the_event_is_refused(path: str) -> None:
    record: dict[str, object] = {"event": {"dataset": "suricata"}}
    node = record
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})  # type: ignore[assignment]
    node[leaf] = [0] * (MAX_ARRAY_ELEMENTS + 1)
    rejected = parse_message(json.dumps(record).encode(), 10_000_000)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == f"an array of {MAX_ARRAY_ELEMENTS + 1} elements (more than {MAX_ARRAY_ELEMENTS})"
    node[leaf] = [0] * MAX_ARRAY_ELEMENTS
    assert isinstance(parse_message(json.dumps(record).encode(), 10_000_000), dict)


def test_a_logstash_pipelines_event_is_accepted_for_completion_even_before_it_has_a_dataset() -> None:
    # The generated pipelines mark their events (botes.logstash); the job completes them (the normaliser's
    # steps), so a line the pipeline could not read, with no event.dataset yet, is still the job's to judge.
    unread = {"event": {"original": "SYNTHETIC unreadable"}, "botes": {"logstash": {"version": 1}}}
    assert parse_message(json.dumps(unread).encode(), 1_048_576) == unread
    unmarked = {"event": {"original": "SYNTHETIC unreadable"}, "botes": {"other": {}}}
    assert isinstance(parse_message(json.dumps(unmarked).encode(), 1_048_576), Rejected)


def test_a_logstash_pipelines_event_is_still_held_to_the_array_limit() -> None:
    hostile = {"botes": {"logstash": {}}, "tags": list(range(MAX_ARRAY_ELEMENTS + 1))}
    rejected = parse_message(json.dumps(hostile).encode(), 1_048_576)
    assert isinstance(rejected, Rejected) and rejected.reason.startswith(f"an array of {MAX_ARRAY_ELEMENTS + 1}")
