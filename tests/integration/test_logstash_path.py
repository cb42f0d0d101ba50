"""The Logstash path for real, but for Logstash itself (no JVM download here): the messages the generated
pipelines send (run by tests/unit/normalize/logstash_interpreter.py) go through the Kafka-wire broker and the
real PyFlink job, whose parse step completes them (pipeline/normalize/complete.py). They must be indexed as
the same documents, with the same ids, as embedded mode makes of the same files, and the bad lines must end
as replay's dead letters."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Producer

from pipeline.events import Rejected, document_id
from pipeline.index.documents import storage_pattern
from pipeline.index.writer import open_client
from pipeline.normalize.logstash import render_pipeline, render_unknown_pipeline
from pipeline.normalize.sources import SOURCE_TYPES
from tests.conftest import isolated, settings_with
from tests.integration.kafka_topics import read_to_end, read_until
from tests.integration.streaming_job import (
    INPUTS,
    as_event,
    botes,
    expected_events,
    index_count,
    streaming_job,
    wait_for,
)
from tests.unit.normalize.logstash_grammar import parse_config
from tests.unit.normalize.logstash_interpreter import Output, Pipeline

pytestmark = pytest.mark.integration


@dataclass
class LogstashRun:
    sent: list[Output]
    documents: dict[str, dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    embedded: dict[str, dict[str, Any]]


def _logstash_messages(topic_prefix: str, dead_letter_topic: str) -> list[Output]:
    """What the pipelines (generated for this run's topics) send for every line of the inputs."""
    configs = {name: parse_config(render_pipeline(source, topic_prefix)) for name, source in SOURCE_TYPES.items()}
    configs["unknown"] = parse_config(render_unknown_pipeline(SOURCE_TYPES, topic_prefix,
                                                              dead_letter_topic=dead_letter_topic))
    sent: list[Output] = []
    for path in INPUTS:
        pipelines = [Pipeline(config, {"BOTES_DATA": str(path.parent)}) for config in configs.values()]
        readers = [p for p in pipelines if p.reads(str(path.parent), path.name)]
        assert len(readers) == 1, path
        sent += readers[0].run_file(str(path), path.read_bytes())
    return sent


@pytest.fixture(scope="module")
def logstash_run(services: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogstashRun]:
    env = {**isolated(f"ls{uuid.uuid4().hex[:8]}"), "BOTES_INDEX__FLUSH_INTERVAL": "0.5"}
    settings = settings_with(env)
    good, rejected = expected_events()
    setup = botes("setup", env=env)
    assert setup.returncode == 0, setup.stderr

    sent = _logstash_messages(settings.kafka.topic_prefix, settings.kafka.dead_letter_topic)
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for output in sent:
        producer.produce(output.topic, value=json.dumps(output.document).encode())
    assert producer.flush(30) == 0

    client = open_client(settings.index)
    log = tmp_path_factory.mktemp("job") / "job.log"
    with streaming_job(env, log) as job:
        wait_for(lambda: index_count(client, settings.index) >= len(good), "the Logstash messages", job, log)
        bootstrap, dead_letter_topic = settings.kafka.bootstrap_servers, settings.kafka.dead_letter_topic
        read_until(bootstrap, dead_letter_topic, lambda read: len(read) >= len(rejected), "the dead letters")
        dead = read_to_end(bootstrap, dead_letter_topic)
        hits = client.search(index=storage_pattern(settings.index), size=1000, query={"match_all": {}})
        documents = {hit["_id"]: as_event(hit["_source"]) for hit in hits["hits"]["hits"]}

    output = tmp_path_factory.mktemp("embedded") / "enriched.ndjson"
    embedded_run = botes("run", *(arg for path in INPUTS for arg in ("--input", str(path))), "--output", str(output),
                         env={})
    assert embedded_run.returncode == 1, embedded_run.stderr  # the bad lines are reported
    embedded = {document_id(d): d for d in map(json.loads, output.read_text().splitlines())}
    yield LogstashRun(sent, documents, [json.loads(d) for d in dead], embedded)


def test_logstash_sends_every_good_line_once_to_its_topic(logstash_run: LogstashRun) -> None:
    good, rejected = expected_events()
    marked = [o for o in logstash_run.sent if "botes" in o.document and "logstash" in o.document["botes"]]
    assert len(logstash_run.sent) == len(good) + len(rejected)
    # The good lines are all JSON records, which Logstash reads itself; it hands the job the bad lines of a type it
    # knows as whole lines (`read: line`), and sends those of an unknown type straight to the dead-letter topic.
    unknown_type = sum(r.reason.startswith("unknown source type") for r in rejected)
    assert Counter(o.document["botes"]["logstash"]["read"] for o in marked) == {
        "record": len(good), "line": len(rejected) - unknown_type}


def test_the_job_indexes_the_documents_embedded_mode_makes(logstash_run: LogstashRun) -> None:
    good, _ = expected_events()
    assert set(logstash_run.documents) == set(good) == set(logstash_run.embedded)
    for doc_id, document in logstash_run.embedded.items():
        assert logstash_run.documents[doc_id] == document, doc_id


def test_bad_lines_end_as_replays_dead_letters(logstash_run: LogstashRun) -> None:
    _, rejected = expected_events()

    def key(r: Rejected | dict[str, Any]) -> tuple[Any, ...]:
        if isinstance(r, Rejected):
            return r.reason, r.raw, r.source_type, (r.location or "").rsplit(":", 1)[0]
        return r["reason"], r["raw"], r.get("source_type"), r.get("location")

    assert {d["stage"] for d in logstash_run.dead_letters} == {"normalize"}
    assert Counter(map(key, logstash_run.dead_letters)) == Counter(map(key, rejected))
