"""One BOTES line nested 1,000 deep, between good lines, at the three entry points that run on servers
or Flink (`botes normalize` is tested in tests/unit/test_cli_normalize.py): `botes replay` against the
real broker, the Kafka job against the real broker and index server, and the embedded run. Each must
reject that line with its reason and let every good line through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.events import document_id
from pipeline.index.documents import storage_pattern
from pipeline.index.writer import open_client
from pipeline.normalize import Normalizer
from tests.conftest import settings_with
from tests.deep_input import DEEP_LINE, DEEP_REASON, write_deep_input
from tests.integration.kafka_topics import SENTINEL, read_to_end, read_until
from tests.integration.streaming_job import botes, index_count, streaming_job, wait_for

pytestmark = pytest.mark.integration


def test_replay_publishes_every_good_line_and_dead_letters_the_deep_one(
        isolated_env: dict[str, str], tmp_path: Path) -> None:
    deep = write_deep_input(tmp_path)
    env = {**isolated_env, "BOTES_KAFKA__PARTITIONS": "1"}
    settings = settings_with(env)
    result = botes("replay", str(deep.path), env=env)
    assert result.returncode == 1, result.stderr
    assert f"{deep.path}:{deep.deep_line_number}: {DEEP_REASON}" in result.stderr
    assert "Traceback" not in result.stderr
    bootstrap = settings.kafka.bootstrap_servers
    events = [json.loads(v) for v in read_to_end(bootstrap, f"{settings.kafka.topic_prefix}ids")]
    assert [e["event"]["original"] for e in events] == deep.good  # one partition: file order
    assert [json.loads(v) for v in read_to_end(bootstrap, settings.kafka.dead_letter_topic)] == [
        {"stage": "normalize", "reason": DEEP_REASON, "raw": DEEP_LINE, "source_type": "suricata",
         "location": f"{deep.path}:{deep.deep_line_number}"}]


def test_the_kafka_job_indexes_every_good_message_and_dead_letters_the_deep_one(
        isolated_env: dict[str, str], tmp_path: Path) -> None:
    from confluent_kafka import Producer

    deep = write_deep_input(tmp_path)
    env = {**isolated_env, "BOTES_KAFKA__PARTITIONS": "1", "BOTES_INDEX__FLUSH_INTERVAL": "0.5"}
    settings = settings_with(env)
    assert botes("setup", env=env).returncode == 0
    normalizer = Normalizer()
    good = [normalizer.normalize_line(line, "suricata") for line in deep.good]
    assert all(isinstance(event, dict) for event in good)
    topic, bootstrap = f"{settings.kafka.topic_prefix}ids", settings.kafka.bootstrap_servers
    producer = Producer({"bootstrap.servers": bootstrap})
    # A message no `botes replay` would send, written straight into the topic, then a sentinel that
    # becomes a dead letter once the job has read past everything before it.
    last = f"{SENTINEL} after the deep message"
    for value in [*map(json.dumps, good[:3]), DEEP_LINE, *map(json.dumps, good[3:]), last]:
        producer.produce(topic, value=value.encode())
    assert producer.flush(30) == 0

    log = tmp_path / "job.log"
    client = open_client(settings.index)
    with streaming_job(env, log) as job:
        wait_for(lambda: index_count(client, settings.index) >= len(good), "the good events", job, log)
        read_until(bootstrap, settings.kafka.dead_letter_topic,
                   lambda read: any(json.loads(v).get("raw") == last for v in read), "the sentinel's dead letter")
        dead = [json.loads(v) for v in read_to_end(bootstrap, settings.kafka.dead_letter_topic)]
        hits = client.search(index=storage_pattern(settings.index), size=100, query={"match_all": {}})["hits"]["hits"]
    assert sorted(hit["_id"] for hit in hits) == sorted(document_id(event) for event in good)
    assert [(d["stage"], d["reason"], d["raw"]) for d in dead] == [
        ("parse", DEEP_REASON, DEEP_LINE),
        ("parse", "not JSON: Expecting value at column 1", last)]
    assert "RecursionError" not in log.read_text()


def test_the_embedded_run_writes_every_good_line_and_reports_the_deep_one(tmp_path: Path) -> None:
    deep = write_deep_input(tmp_path)
    output = tmp_path / "enriched.ndjson"
    result = botes("run", "--input", str(deep.path), "--output", str(output), env={})
    assert result.returncode == 1, result.stderr
    assert f"{deep.path}:{deep.deep_line_number}: {DEEP_REASON}" in result.stderr
    assert "6 enriched events" in result.stderr and "1 rejected" in result.stderr
    originals = [json.loads(line)["event"]["original"] for line in output.read_text().splitlines()]
    assert sorted(originals) == sorted(deep.good)  # the enrichment keeps no order
