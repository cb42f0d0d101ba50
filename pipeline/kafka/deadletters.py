"""Dead letters: records that could not go on, as JSON in the dead-letter topic, and the tools to read
them (`botes dlq show`) and send back the ones that can go again (`botes dlq replay`).

A dead letter says what failed and why, and carries the original payload and where it came from::

    {"stage": "parse" | "index" | "normalize", "reason": "...", "raw": "<the original message>",
     "origin": {"topic": "botes.ids", "partition": 0, "offset": 1234, "timestamp": 1470866400000},
     "raw_bytes": 52, ...}

``raw`` is cut (``raw_truncated``: true) only where the whole record would exceed what a Kafka broker
accepts by default; the original then stays at ``origin`` in its topic for as long as the topic keeps it.
A payload that is not UTF-8 also travels exactly, as ``raw_base64``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from pipeline.config import KafkaSettings
from pipeline.errors import DependencyError
from pipeline.events import Rejected, document_id
from pipeline.kafka.messages import parse_message

__all__ = ["Origin", "DeadLetter", "dead_letter_record", "encode_dead_letter", "read_dead_letters",
           "replay_dead_letters", "ReplayOutcome", "MAX_DEAD_LETTER_BYTES"]

# Under Kafka's default message.max.bytes (1,000,012) and the Java producer's max.request.size (1 MiB),
# with room for the record's headers: a dead letter must never be a message the broker refuses.
MAX_DEAD_LETTER_BYTES = 900_000


@dataclass(frozen=True, slots=True)
class Origin:
    topic: str
    partition: int
    offset: int
    # The message's Kafka timestamp, ms since the epoch; not part of its identity (topic, partition, offset).
    timestamp: int | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "timestamp": self.timestamp}

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


def dead_letter_record(stage: str, rejected: Rejected, origin: Origin | None = None,
                       payload: bytes | None = None, **extra: Any) -> dict[str, Any]:
    """``payload``: the message as it was read. When it is not UTF-8, ``raw`` (JSON text) can only show it
    with replacement characters, so the exact bytes go along as ``raw_base64``."""
    record = rejected.as_record(stage)
    kept = len(rejected.raw.encode("utf-8", "replace"))
    record["raw_bytes"] = len(payload) if payload is not None else kept
    if payload is not None and record["raw_bytes"] == len(payload) and not _is_utf8(payload):
        record["raw_base64"] = base64.b64encode(payload).decode()
    elif record["raw_bytes"] > kept:  # only the start of a message too large to read was kept
        record["raw_truncated"] = True
    if origin is not None:
        record["origin"] = origin.as_dict()
    record.update(extra)
    return record


def _is_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def encode_dead_letter(record: dict[str, Any], max_bytes: int = MAX_DEAD_LETTER_BYTES) -> str:
    """The record as JSON of at most ``max_bytes``; ``raw`` is cut to fit if it must be."""
    text = json.dumps(record)
    if len(text.encode()) <= max_bytes:
        return text
    record = {key: value for key, value in record.items() if key != "raw_base64"}
    raw = str(record.get("raw", ""))

    def with_raw(keep: int) -> str:
        return json.dumps({**record, "raw": raw[:keep], "raw_truncated": True})

    # The longest start of raw that fits (escaping makes a character 1 to 12 bytes of JSON).
    low, high = 0, len(raw)
    while low < high:
        middle = (low + high + 1) // 2
        if len(with_raw(middle).encode()) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return with_raw(low)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message of the dead-letter topic: where it is, when it was written, and the record."""

    partition: int
    offset: int
    timestamp: int | None
    record: dict[str, Any]

    @property
    def payload(self) -> bytes:
        """The original message's bytes, as far as the record holds them."""
        if "raw_base64" in self.record:
            return base64.b64decode(self.record["raw_base64"])
        return str(self.record.get("raw", "")).encode()

    @property
    def origin(self) -> Origin | None:
        origin = self.record.get("origin")
        if not isinstance(origin, dict) or "topic" not in origin:
            return None
        return Origin(str(origin["topic"]), int(origin["partition"]), int(origin["offset"]), origin.get("timestamp"))


def _decode(value: bytes | None) -> dict[str, Any]:
    try:
        record = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"stage": "?", "reason": "not a dead-letter record", "raw": (value or b"").decode("utf-8", "replace")}
    return record if isinstance(record, dict) else {"stage": "?", "reason": "not a dead-letter record",
                                                    "raw": json.dumps(record)}


def _consumer(settings: KafkaSettings, group: str) -> Consumer:
    return Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group,
                     "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "earliest"})


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise DependencyError(f"kafka.dead_letter_topic: cannot read topic {topic} "
                              f"({metadata.error if metadata is not None else 'unknown'})")
    return sorted(metadata.partitions)


def _read_to_end(consumer: Consumer, starts: list[TopicPartition], idle_timeout: float) -> Iterator[DeadLetter]:
    """Every message from ``starts`` up to the end of each partition (the end a fetch reports)."""
    consumer.assign(starts)
    open_partitions = {tp.partition for tp in starts}
    while open_partitions:
        message = consumer.poll(idle_timeout)
        if message is None:
            return  # nothing for a while: the broker has nothing more for us
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                open_partitions.discard(message.partition())
                continue
            raise DependencyError(f"kafka.dead_letter_topic: {error.str()}")
        partition, offset = message.partition(), message.offset()
        if partition is None or offset is None:  # not a record (the client's own events have none)
            continue
        kind, timestamp = message.timestamp()
        yield DeadLetter(partition, offset, timestamp if kind else None, _decode(message.value()))


def read_dead_letters(settings: KafkaSettings, limit: int | None = None,
                      idle_timeout: float = 10.0) -> list[DeadLetter]:
    """The last ``limit`` dead letters (all if None), oldest first."""
    consumer = _consumer(settings, f"{settings.group_id}-dlq-show")
    try:
        topic = settings.dead_letter_topic
        starts = []
        for partition in _partitions(consumer, topic):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            start = OFFSET_BEGINNING if limit is None else max(low, high - limit)
            starts.append(TopicPartition(topic, partition, start))
        letters = list(_read_to_end(consumer, starts, idle_timeout))
    finally:
        consumer.close()
    letters.sort(key=lambda letter: (letter.timestamp or 0, letter.partition, letter.offset))
    return letters if limit is None else letters[-limit:] if limit else []


@dataclass(slots=True)
class ReplayOutcome:
    sent: dict[str, int] = field(default_factory=dict)      # per topic
    skipped: dict[str, int] = field(default_factory=dict)   # per reason

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _why_not_replayable(letter: DeadLetter, max_message_bytes: int) -> str | None:
    if letter.origin is None:
        return "no origin topic (a bad line of a file: fix the file and run `botes replay` on it)"
    if letter.record.get("raw_truncated"):
        return "payload cut to fit the dead-letter topic (the original is at its origin offset)"
    parsed = parse_message(letter.payload, max_message_bytes)
    return f"would be refused again: {parsed.reason}" if isinstance(parsed, Rejected) else None


def replay_dead_letters(settings: KafkaSettings, on_letter: Callable[[DeadLetter, str | None], None] | None = None,
                        idle_timeout: float = 10.0) -> ReplayOutcome:
    """Send every dead letter not replayed before, that is now a valid event, back to its origin topic.

    Progress is kept as the committed offsets of the group ``<kafka.group_id>-dlq-replay``, so a second
    replay only looks at dead letters written since. Ids are deterministic, so an event that reached the
    index after all is not indexed twice.
    """
    outcome = ReplayOutcome()
    consumer = _consumer(settings, f"{settings.group_id}-dlq-replay")
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True})
    try:
        topic = settings.dead_letter_topic
        partitions = [TopicPartition(topic, p) for p in _partitions(consumer, topic)]
        committed = consumer.committed(partitions, timeout=10)
        starts = [TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                  for tp in committed]
        next_offsets: dict[int, int] = {}
        sent: set[Origin] = set()
        for letter in _read_to_end(consumer, starts, idle_timeout):
            next_offsets[letter.partition] = letter.offset + 1
            reason = _why_not_replayable(letter, settings.max_message_bytes)
            if reason is None and letter.origin in sent:
                reason = "sent already (dead letters are at-least-once: this one is a duplicate)"
            if on_letter is not None:
                on_letter(letter, reason)
            if reason is not None:
                outcome.skip(reason.split(":")[0])
                continue
            origin = letter.origin
            assert origin is not None
            payload = letter.payload
            producer.produce(origin.topic, value=payload, key=document_id(json.loads(payload)).encode())
            sent.add(origin)
            producer.poll(0)
            outcome.sent[origin.topic] = outcome.sent.get(origin.topic, 0) + 1
        if producer.flush(60):
            raise DependencyError("kafka.bootstrap_servers: replayed dead letters not delivered within 60 s")
        if next_offsets:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in next_offsets.items()],
                            asynchronous=False)
    finally:
        consumer.close()
    return outcome
