"""Hostile messages between good events: the good ones are indexed, each bad one is a dead letter with its
reason and its origin (topic, partition, offset), and the job keeps running, without a single restart.
The job's counters, scraped from its TaskManager's Prometheus endpoint and logged in its health line,
match; `botes dlq show` and `botes dlq replay` work on those dead letters."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer

from pipeline.kafka.deadletters import MAX_DEAD_LETTER_BYTES, Origin
from tests.integration.cluster_support import ClusterJob, botes, check_delivery, cluster_env, publish, write_botes_files
from tests.integration.test_cluster_index_outage import TaskManagerLogs

pytestmark = pytest.mark.integration

LARGE = 5 * 1024 * 1024
# An ECS-shaped message whose port the index's long mapping refuses (a wrong type only the index sees).
UNINDEXABLE = {"@timestamp": "2016-08-10T22:00:00.000Z", "source": {"port": "eighty"},
               "event": {"dataset": "suricata", "original": "SYNTHETIC event with a wrong type"}}

# Each hostile message (all SYNTHETIC), and the reason its dead letter must give.
HOSTILE: list[tuple[bytes | None, str]] = [
    (b'{"event": {"dataset": "suricata"', r"^not JSON"),
    (b'{"event": {"dataset": 42}, "message": "wrong type"}', r"^event\.dataset is not a source type name"),
    (json.dumps(UNINDEXABLE).encode(), r"^400 .*source\.port"),
    (b'{"event": {"dataset": "suricata", "original": "' + b"A" * LARGE + b'"}}',
     r"larger than kafka\.max_message_bytes"),
    (b'{"event": {"dataset": "suricata"}, "deep": ' + b"[" * 1000 + b"]" * 1000 + b"}",
     r"^nested deeper than 100 levels"),
    (b'{"event": {"dataset": "suricata", "original": "\xff\xfe"}}', r"^not UTF-8"),
    (b'{"event": {"dataset": "suricata", "original": "a\x00b"}}', r"^not JSON"),
    (b"\x00" * 16, r"^not JSON"),
    (b'{"event": {"dataset": "suricata", "original": "SYNTHETIC"}, "tags": [' + b",".join([b"0"] * 100_000) + b"]}",
     r"^an array of 100000 elements"),
    (None, r"^empty message"),
]


def produce_hostile(bootstrap: str, topic: str) -> dict[Origin, str]:
    """Send every hostile message (alternating partitions); returns where each landed -> its reason.

    A broker with Kafka's default limits refuses the 5 MB message itself (tansu takes it): then it never
    reaches the job and is not expected among the dead letters."""
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 2 * LARGE})
    landed: dict[int, Origin] = {}

    def delivered(number: int) -> Any:
        def callback(err: Any, message: Any) -> None:
            if err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                print(f"the broker refused hostile message {number} itself: {err.str()}")
                return
            assert err is None, err
            landed[number] = Origin(topic, message.partition(), message.offset())
        return callback

    for number, (value, _) in enumerate(HOSTILE):
        producer.produce(topic, value=value, partition=number % 2, on_delivery=delivered(number))
        producer.poll(0)
    assert producer.flush(60) == 0
    return {landed[number]: reason for number, (_, reason) in enumerate(HOSTILE) if number in landed}


def test_hostile_messages_become_dead_letters_and_the_job_runs_on(flink_cluster: Any, tmp_path: Path) -> None:
    job = ClusterJob(flink_cluster, cluster_env("hostile", flink_cluster))
    expected = write_botes_files(tmp_path / "before", 1_000, seed="hostile-before")
    after = write_botes_files(tmp_path / "after", 1_000, seed="hostile-after")
    assert not expected.keys() & after.keys()
    expected |= after
    assert botes("setup", env=job.env).returncode == 0
    publish(job.settings, tmp_path / "before")
    bad = produce_hostile(job.settings.kafka.bootstrap_servers, f"{job.settings.kafka.topic_prefix}ids")
    publish(job.settings, tmp_path / "after")
    logs = TaskManagerLogs(flink_cluster)
    job.submit()
    try:
        job.wait(lambda: job.indexed() >= len(expected), "every good event in the index")
        job.wait(lambda: len(job.dead_letters()) >= len(bad), "every hostile message in the dead-letter topic")
        check_delivery(job, expected, bad)

        assert job.state() == "RUNNING"
        assert job.failures() == [], "the job failed (and restarted) on a hostile message"
        letters = {letter.origin: letter.record for letter in job.dead_letters()}
        for record in letters.values():
            assert len(json.dumps(record).encode()) <= MAX_DEAD_LETTER_BYTES
            assert record.get("raw_truncated", False) == (record["raw_bytes"] > LARGE)
        refused = [record for record in letters.values() if record["stage"] == "index"]
        assert len(refused) == 1 and json.loads(refused[0]["raw"]) == UNINDEXABLE and refused[0]["id"]
        assert all(record["stage"] == "parse" for record in letters.values() if record["stage"] != "index")

        # The same counts as Flink metrics, scraped from the TaskManager's Prometheus endpoint ...
        port = flink_cluster.metrics_ports[flink_cluster.taskmanagers[-1].name]
        want = {"events_in": len(expected) + len(bad), "documents_indexed": len(expected),
                "documents_duplicate": 0, "dead_lettered": len(bad), "events_rejected": len(bad) - 1,
                "documents_refused": 1, "consumer_lag": 0}
        seen: dict[str, float] = {}

        def scraped() -> bool:  # Python metrics reach Flink when a bundle ends (checkpoints end one)
            seen.update(job.metrics(port))
            return all(seen.get(name) == value for name, value in want.items())

        with contextlib.suppress(pytest.fail.Exception):
            job.wait(scraped, "the job's Prometheus metrics", 60)
        assert {name: seen.get(name) for name in want} == want
        # ... and in the job's health line.
        line = (f"health: {len(expected) + len(bad)} events in, {len(expected)} indexed (+0 already there), "
                f"{len(bad)} dead-lettered")
        job.wait(lambda: line in logs.new_text(), f"a health line starting {line!r}", 60)

        shown = botes("dlq", "show", "--limit", "20", env=job.env)
        assert shown.returncode == 0, shown.stderr
        for origin, reason in bad.items():
            told = reason[1:] if reason.startswith("^") else f".*{reason}"
            assert re.search(rf"{re.escape(str(origin))}  (parse|index): {told}", shown.stdout), \
                f"{origin} not shown with its reason:\n{shown.stdout}"
        assert "\x00" not in shown.stdout, "control characters must be shown escaped"

        # Only the message the index refused is a valid event: it goes back to its topic, and (its type
        # still wrong) returns as a new dead letter; the others are skipped, each with why.
        # (Dead letters are at-least-once too: a duplicate of one, from a producer retry, is skipped.)
        written = len(job.dead_letters())
        replayed = botes("dlq", "replay", env=job.env)
        assert replayed.returncode == 0, replayed.stderr
        assert f"1 sent again, {written - 1} skipped" in replayed.stderr
        assert "would be refused again" in replayed.stderr and "payload cut" in replayed.stderr
        job.wait(lambda: len(job.dead_letters()) > written, "the replayed message to come back")
        again = botes("dlq", "replay", env=job.env)
        assert "1 sent again" in again.stderr, again.stderr
        assert "would be refused again" not in again.stderr, "a second replay looks only at new dead letters"
    finally:
        job.cancel()
