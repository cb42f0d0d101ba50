"""The Kafka job as the tests run it: `botes run` in a process of its own, stopped when the test is done; the
inputs they replay, what those must give, and reading the index and the topics around it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from elasticsearch import Elasticsearch

from pipeline.config import IndexSettings, Settings, bundled_data
from pipeline.events import Rejected, document_id
from pipeline.index.documents import storage_pattern
from pipeline.normalize import Normalizer, find_botes_files, read_lines
from tests.conftest import DATA
from tests.integration.kafka_topics import SENTINEL

__all__ = ["streaming_job", "botes", "expected_events", "produce_to_every_partition", "produce_sentinel_events",
           "produce_one", "indexed", "index_count", "as_event", "wait_for", "INPUTS", "SAMPLE", "BAD",
           "UNINDEXABLE", "TIMEOUT"]


@contextmanager
def streaming_job(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """`botes run` (Kafka -> enrich -> index) with ``env`` added to this environment, its output in ``log``; on
    leaving, SIGTERM to its whole process group (the Flink JVM and Python workers with it)."""
    with log.open("w") as log_file:
        job = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], env={**os.environ, **env},
                               stdout=log_file, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield job
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(30)


SAMPLE = [bundled_data("sample") / "botesv1.fgt_traffic.json", bundled_data("sample") / "botesv1.suricata.json"]
BAD = [DATA / "bad" / "botesv1.suricata.json", DATA / "bad" / "botesv1.stream-unknown.json"]
INPUTS = [*SAMPLE, *BAD]
TIMEOUT = 180.0


def botes(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A `botes` command with ``env`` added to this environment, its output captured."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


def expected_events() -> tuple[dict[str, dict[str, Any]], list[Rejected]]:
    """What the inputs should give: good events by document id, and the rejected lines."""
    normalizer = Normalizer()
    good: dict[str, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    for botes_file in find_botes_files(INPUTS):
        for number, line in read_lines(botes_file.path):
            result = normalizer.normalize_line(line, botes_file.source_type, f"{botes_file.path}:{number}")
            if isinstance(result, Rejected):
                rejected.append(result)
            else:
                good[document_id(result)] = result
    return good, rejected


def produce_to_every_partition(settings: Settings, topics: list[str], value: str) -> int:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    count = 0
    for topic in topics:
        for partition in producer.list_topics(topic, timeout=10).topics[topic].partitions:
            producer.produce(topic, value=f"{value} {topic}/{partition}".encode(), partition=partition)
            count += 1
    producer.flush(10)
    return count


# An ECS-shaped message whose port the index's long mapping refuses: it must end as a dead letter.
UNINDEXABLE = {"@timestamp": "2016-08-10T22:00:00.000Z", "source": {"port": "not-a-number"},
               "event": {"dataset": "suricata", "original": "synthetic unindexable event"}}


def produce_sentinel_events(settings: Settings, topics: list[str]) -> list[str]:
    """An indexable ECS event in every partition of ``topics``, each unique; their document ids."""
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    run, ids = uuid.uuid4().hex, []
    for topic in topics:
        for partition in producer.list_topics(topic, timeout=10).topics[topic].partitions:
            event = {"@timestamp": "2016-08-10T22:00:00.000Z",
                     "event": {"dataset": "suricata", "original": f"{SENTINEL} {run} {topic}/{partition}"}}
            producer.produce(topic, value=json.dumps(event).encode(), partition=partition)
            ids.append(document_id(event))
    assert producer.flush(30) == 0
    return ids


def indexed(client: Elasticsearch, settings: IndexSettings, ids: list[str]) -> int:
    client.indices.refresh(index=storage_pattern(settings))
    return int(client.count(index=storage_pattern(settings), query={"ids": {"values": ids}})["count"])


def produce_one(settings: Settings, topic: str, value: str) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    producer.produce(topic, value=value.encode())
    producer.flush(10)


def index_count(client: Elasticsearch, settings: IndexSettings) -> int:
    client.indices.refresh(index=storage_pattern(settings))
    return int(client.count(index=storage_pattern(settings))["count"])


def as_event(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document without the data_stream.* fields a data stream adds (Elasticsearch only)."""
    return {key: value for key, value in document.items() if key != "data_stream"}


def wait_for(condition: Any, what: str, job: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        if job.poll() is not None:
            pytest.fail(f"the job exited ({job.returncode}) while waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
