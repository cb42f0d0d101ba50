"""kafka.deadletters: the dead-letter record (reason, exact payload, origin), always small enough for a
broker to take, and which dead letters `botes dlq replay` may send again."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline.events import Rejected
from pipeline.kafka.deadletters import (
    MAX_DEAD_LETTER_BYTES,
    DeadLetter,
    Origin,
    _why_not_replayable,
    dead_letter_record,
    encode_dead_letter,
)

ORIGIN = Origin("botes.ids", 1, 1234, 1470866400000)
EVENT = {"event": {"dataset": "suricata", "original": "SYNTHETIC"}, "source": {"port": "eighty"}}


def test_a_dead_letter_says_what_failed_why_and_where_the_message_came_from() -> None:
    payload = b"this is not JSON"
    record = dead_letter_record("parse", Rejected("not JSON: Expecting value at column 1", payload.decode()),
                                ORIGIN, payload=payload)
    assert record == {"stage": "parse", "reason": "not JSON: Expecting value at column 1", "raw": "this is not JSON",
                      "raw_bytes": 16, "origin": {"topic": "botes.ids", "partition": 1, "offset": 1234,
                                                  "timestamp": 1470866400000}}
    assert str(ORIGIN) == "botes.ids[1]@1234"
    assert Origin("botes.ids", 1, 1234) == ORIGIN  # the timestamp is not part of where it came from


def test_a_payload_that_is_not_utf8_travels_exactly() -> None:
    payload = b'{"a": "\xff\xfe"}'
    record = dead_letter_record("parse", Rejected("not UTF-8", payload.decode("utf-8", "replace")), ORIGIN,
                                payload=payload)
    letter = DeadLetter(0, 0, None, json.loads(encode_dead_letter(record)))
    assert letter.payload == payload
    assert base64.b64decode(record["raw_base64"]) == payload


def test_a_message_only_partly_kept_is_marked_cut() -> None:
    record = dead_letter_record("parse", Rejected("too large", "A" * 4096), ORIGIN, payload=b"A" * 5_000_000)
    assert record["raw_bytes"] == 5_000_000 and record["raw_truncated"] is True


@pytest.mark.parametrize("raw", ["A" * 2_000_000, "\x00" * 400_000])  # escaping makes a NUL 6 bytes of JSON
def test_an_encoded_dead_letter_always_fits_in_a_broker_message(raw: str) -> None:
    record = dead_letter_record("index", Rejected("400 mapper_parsing_exception", raw), ORIGIN, id="abc")
    text = encode_dead_letter(record)
    assert len(text.encode()) <= MAX_DEAD_LETTER_BYTES
    decoded = json.loads(text)
    assert decoded["raw_truncated"] is True and raw.startswith(decoded["raw"]) and len(decoded["raw"]) > 100_000
    assert decoded["raw_bytes"] == len(raw.encode()) and decoded["id"] == "abc"


def test_a_small_dead_letter_is_not_touched() -> None:
    record = dead_letter_record("index", Rejected("400 x", json.dumps(EVENT)), ORIGIN)
    assert json.loads(encode_dead_letter(record)) == record


def letter(record: dict[str, object]) -> DeadLetter:
    return DeadLetter(0, 7, None, json.loads(encode_dead_letter(record)))


def test_an_event_the_index_refused_can_go_again() -> None:
    record = dead_letter_record("index", Rejected("400 mapper_parsing_exception", json.dumps(EVENT)), ORIGIN)
    assert _why_not_replayable(letter(record), 1_048_576) is None


@pytest.mark.parametrize("record, reason", [
    (dead_letter_record("parse", Rejected("not JSON", "garbage"), ORIGIN), "would be refused again: not JSON"),
    (dead_letter_record("parse", Rejected("not UTF-8", "\ufffd"), ORIGIN, payload=b"\xff"),
     "would be refused again: not UTF-8"),
    (dead_letter_record("parse", Rejected("too large", "A"), ORIGIN, payload=b"AA"), "payload cut"),
    (dead_letter_record("normalize", Rejected("unknown source type", "{}", location="f.json:3")), "no origin topic"),
])
def test_what_would_fail_again_or_cannot_be_sent_back_is_skipped(record: dict[str, object], reason: str) -> None:
    why = _why_not_replayable(letter(record), 1_048_576)
    assert why is not None and why.startswith(reason)
