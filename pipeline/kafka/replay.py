"""Replay: BOTES files -> normaliser -> a Kafka topic per family. Bad lines go to the dead-letter topic."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

from pipeline.config import KafkaSettings
from pipeline.errors import DependencyError
from pipeline.events import Rejected, document_id
from pipeline.kafka.topics import create_topics, topic_for
from pipeline.normalize import BotesFile, Normalizer, read_lines, resolve_source_type
from pipeline.normalize.sources import families, family_of

__all__ = ["ReplayReport", "replay_files", "Pacer"]


@dataclass(slots=True)
class ReplayReport:
    per_topic: Counter[str] = field(default_factory=Counter)
    per_type: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)
    delivery_errors: list[str] = field(default_factory=list)

    @property
    def published(self) -> int:
        return sum(self.per_topic.values())


class Pacer:
    """Holds a replay to ``rate`` events per second on average (None: as fast as possible)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._count = 0

    def wait(self) -> None:
        if not self._interval:
            return
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._count * self._interval
        if due > now:
            self._sleep(due - now)
        self._count += 1


def _producer(settings: KafkaSettings) -> Producer:
    return Producer({
        "bootstrap.servers": settings.bootstrap_servers,
        "enable.idempotence": True,    # no duplicates from the producer's own retries
        "linger.ms": 20,
        "message.timeout.ms": 60_000,
    })


def replay_files(
    files: Iterable[BotesFile],
    settings: KafkaSettings,
    normalizer: Normalizer,
    on_line: Callable[[BotesFile, Rejected | None], None] = lambda f, r: None,
    rate: float | None = None,
    limit: int | None = None,
    pacer: Pacer | None = None,
) -> ReplayReport:
    """Publish the lines of ``files`` (at most ``limit`` lines, at most ``rate`` per second);
    ``on_line`` is called once per line (for progress bars)."""
    create_topics(settings, [*(topic_for(f, settings) for f in families(settings.routing)),
                             settings.dead_letter_topic])
    producer = _producer(settings)
    report = ReplayReport()
    pacer = pacer or Pacer(rate)
    lines = ((botes_file, number, line) for botes_file in files for number, line in read_lines(botes_file.path))

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            report.delivery_errors.append(f"{msg.topic()}: {err.str()}")

    for botes_file, number, line in itertools.islice(lines, limit):
        pacer.wait()
        result = normalizer.normalize_line(line, botes_file.source_type, f"{botes_file.path}:{number}")
        if isinstance(result, Rejected):
            report.rejected.append(result)
            _produce(producer, settings.dead_letter_topic, None,
                     json.dumps(result.as_record("normalize")), delivered)
        else:
            source = resolve_source_type(botes_file.source_type)
            assert source is not None  # a known type, or the line would be Rejected
            topic = topic_for(family_of(source, settings.routing), settings)
            _produce(producer, topic, document_id(result), json.dumps(result), delivered)
            report.per_topic[topic] += 1
            report.per_type[source.name] += 1
        on_line(botes_file, result if isinstance(result, Rejected) else None)
    undelivered = producer.flush(60)
    if undelivered:
        raise DependencyError(f"kafka.bootstrap_servers: {undelivered} messages not delivered within 60 s")
    return report


def _produce(producer: Producer, topic: str, key: str | None, value: str,
             on_delivery: Callable[[KafkaError | None, Message], None]) -> None:
    while True:
        try:
            producer.produce(topic, value=value.encode(), key=key.encode() if key else None,
                             on_delivery=on_delivery)
            producer.poll(0)
            return
        except BufferError:  # local queue full: let deliveries drain, then try again
            producer.poll(0.5)
            time.sleep(0)
