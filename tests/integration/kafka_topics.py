"""Reading a real topic to its end.

The broker's end offsets cannot be trusted (tansu reports a "latest" offset that is too low), and
waiting for "at least N" messages passes when more arrive than should. So the end is marked: a unique
sentinel is written to every partition, and the topic has been read to its end once each partition's
sentinel has come back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

__all__ = ["SENTINEL", "produce_sentinels", "read_until", "read_to_end"]

SENTINEL = "botes-test-sentinel"


def produce_sentinels(bootstrap: str, topic: str) -> set[str]:
    """One unique sentinel per partition of ``topic``; their values."""
    producer = Producer({"bootstrap.servers": bootstrap})
    run = uuid.uuid4().hex
    values = set()
    for partition in producer.list_topics(topic, timeout=10).topics[topic].partitions:
        value = f"{SENTINEL} {run} {topic}/{partition}"
        producer.produce(topic, value=value.encode(), partition=partition)
        values.add(value)
    assert producer.flush(30) == 0, f"sentinels not delivered to {topic}"
    return values


def read_until(bootstrap: str, topic: str, done: Callable[[list[str]], bool], what: str,
               timeout: float = 120.0) -> list[str]:
    """Every message of ``topic`` from the start, read until ``done(messages so far)``; the test fails
    (showing what was read) if that does not happen within ``timeout`` seconds."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        values: list[str] = []
        deadline = time.monotonic() + timeout
        while not done(values):
            if time.monotonic() > deadline:
                pytest.fail(f"{topic}: timed out waiting for {what}; read {len(values)}: {values[-5:]}")
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value().decode())
        return values
    finally:
        consumer.close()


def read_to_end(bootstrap: str, topic: str, timeout: float = 120.0) -> list[str]:
    """Every message written to ``topic`` before this call (sentinels left out)."""
    sentinels = produce_sentinels(bootstrap, topic)
    values = read_until(bootstrap, topic, lambda read: sentinels <= set(read), "the end-of-topic sentinels",
                        timeout)
    return [value for value in values if not value.startswith(SENTINEL)]
