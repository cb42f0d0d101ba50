"""What the cluster tests share: SYNTHETIC input, submitting the job with `botes run --jobmanager`, reading
back the index and the dead-letter topic, and the one check each test ends with:

    input = indexed + dead-lettered, exactly, by document id (and dead letters by their origin offset)
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers
from make_sample import fgt_traffic, suricata  # scripts/, on sys.path through tests/conftest.py

from pipeline.config import IndexSettings, Settings
from pipeline.events import Rejected, document_id
from pipeline.index.documents import storage_pattern
from pipeline.index.writer import open_client
from pipeline.kafka.deadletters import DeadLetter, Origin, read_dead_letters
from pipeline.kafka.replay import replay_files
from pipeline.normalize import Normalizer, find_botes_files, read_lines
from tests.conftest import isolated, settings_with
from tests.integration.streaming_job import botes, index_count

TIMEOUT = 300.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def cluster_env(name: str, cluster: Any, **extra: str) -> dict[str, str]:
    """Settings for one test's job: its own topics, group, index prefix and cache keys, on the cluster."""
    return {**isolated(f"{name}{uuid.uuid4().hex[:6]}"), "BOTES_FLINK__JOBMANAGER": cluster.rest_address,
            "BOTES_FLINK__CHECKPOINT_INTERVAL": "2", "BOTES_FLINK__HEALTH_INTERVAL": "2",
            "BOTES_KAFKA__PARTITIONS": "2", **extra}


def write_botes_files(directory: Path, count: int, seed: str) -> dict[str, dict[str, Any]]:
    """``count`` SYNTHETIC events (half FortiGate traffic, half Suricata, from scripts/make_sample.py),
    as BOTES files in ``directory``; returns the ECS events they must become, by document id."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, make in (("fgt_traffic", fgt_traffic), ("suricata", suricata)):
        rng = random.Random(f"{seed}-{name}")
        with (directory / f"botesv1.{name}.json").open("w") as out:
            for n in range(count // 2 if name == "fgt_traffic" else count - count // 2):
                out.write(json.dumps(make(rng, n), separators=(",", ":")) + "\n")
    normalizer = Normalizer()
    expected: dict[str, dict[str, Any]] = {}
    for botes_file in find_botes_files([directory]):
        for number, line in read_lines(botes_file.path):
            event = normalizer.normalize_line(line, botes_file.source_type, f"{botes_file.path}:{number}")
            assert not isinstance(event, Rejected), event
            expected[document_id(event)] = event
    assert len(expected) == count, "the synthetic events must be distinct"
    return expected


def publish(settings: Settings, directory: Path) -> int:
    report = replay_files(find_botes_files([directory]), settings.kafka, Normalizer())
    assert not report.rejected and not report.delivery_errors
    return report.published


def indexed_documents(client: Elasticsearch, settings: IndexSettings, source: bool = False) -> dict[str, Any]:
    """Every document in the test's indices: id -> source (or None)."""
    client.indices.refresh(index=storage_pattern(settings))
    return {hit["_id"]: hit.get("_source") for hit in helpers.scan(
        client, index=storage_pattern(settings), query={"query": {"match_all": {}}}, _source=source, size=1000)}


@dataclass
class ClusterJob:
    """One test's job on the cluster, from submission (`botes run`) to cancellation."""

    cluster: Any
    env: dict[str, str]
    settings: Settings = field(init=False)
    client: Elasticsearch = field(init=False)
    job_id: str = ""

    def __post_init__(self) -> None:
        # PyFlink 2.3 can bring a TaskManager down while it cancels a job (a reference-count check in
        # Beam's bundle factory); the shared cluster must not fail the next test because of it.
        self.cluster.ensure_taskmanager()
        self.settings = settings_with(self.env)
        self.client = open_client(self.settings.index)

    def rest(self, path: str) -> Any:
        with _NO_PROXY.open(f"http://{self.cluster.rest_address}{path}", timeout=10) as response:
            return json.loads(response.read())

    def submit(self, *args: str) -> str:
        result = botes("run", *args, env=self.env)
        assert result.returncode == 0, result.stderr
        self.job_id = result.stdout.strip().splitlines()[-1]
        assert len(self.job_id) == 32, result.stdout
        return self.job_id

    def state(self) -> str:
        return str(self.rest(f"/jobs/{self.job_id}")["state"])

    def running_tasks(self) -> bool:
        job = self.rest(f"/jobs/{self.job_id}")
        return job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"])

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> float:
        """Seconds until ``condition`` held; fails the test (with the job's state) after ``timeout``."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; job {self.job_id} is "
                            f"{self.state() if self.job_id else 'not submitted'}")
            time.sleep(0.2)
        return time.monotonic() - started

    def failures(self) -> list[Any]:
        """The job's failures so far (each made it restart); the exception history, newest first."""
        return list(self.rest(f"/jobs/{self.job_id}/exceptions")["exceptionHistory"]["entries"])

    def indexed(self) -> int:
        return index_count(self.client, self.settings.index)

    def dead_letters(self) -> list[DeadLetter]:
        return read_dead_letters(self.settings.kafka, idle_timeout=5.0)

    def metrics(self, port: int) -> dict[str, float]:
        """This job's operator metrics on one TaskManager's Prometheus endpoint, summed over subtasks."""
        for attempt in range(3):  # the reporter's small HTTP server now and then drops a connection
            try:
                with _NO_PROXY.open(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                    text = response.read().decode()
                break
            except OSError:
                if attempt == 2:
                    raise
                time.sleep(1)
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("flink_taskmanager_job_task_operator_") and f'job_id="{self.job_id}"' in line:
                name = line.split("{", 1)[0].removeprefix("flink_taskmanager_job_task_operator_")
                values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        return values

    def cancel(self) -> None:
        if self.job_id and self.state() not in ("FINISHED", "CANCELED", "FAILED"):
            _NO_PROXY.open(urllib.request.Request(
                f"http://{self.cluster.rest_address}/jobs/{self.job_id}?mode=cancel", method="PATCH"), timeout=10)
            self.wait(lambda: self.state() in ("CANCELED", "FAILED", "FINISHED"), "the job to be cancelled", 60)


def check_delivery(job: ClusterJob, expected: dict[str, Any], bad: dict[Origin, str] | None = None) -> dict[str, Any]:
    """input = indexed + dead-lettered, exactly: every good event's document id once in the index and
    nothing else there; every bad message's origin in the dead-letter topic (its reason matching the
    pattern given) and no other dead letter. Returns the indexed documents."""
    bad = bad or {}
    documents = indexed_documents(job.client, job.settings.index, source=True)
    count = job.indexed()
    letters = job.dead_letters()
    origins = {letter.origin: letter for letter in letters if letter.origin is not None}
    total = len(expected) + len(bad)
    print(f"input {total} = indexed {len(documents)} (index count {count}) + dead-lettered {len(origins)} "
          f"({len(letters)} dead-letter messages)")
    missing = expected.keys() - documents.keys()
    unexpected = documents.keys() - expected.keys()
    assert not missing, f"{len(missing)} events never reached the index, e.g. {sorted(missing)[:3]}"
    assert not unexpected, f"{len(unexpected)} documents nobody sent, e.g. {sorted(unexpected)[:3]}"
    assert count == len(expected), "a document is in the index more than once"
    assert origins.keys() == bad.keys(), (
        f"dead letters for {sorted(map(str, origins.keys() - bad.keys()))[:5]} that should not be, none for "
        f"{sorted(map(str, bad.keys() - origins.keys()))[:5]}")
    for origin, pattern in bad.items():
        reason = str(origins[origin].record.get("reason"))
        assert re.search(pattern, reason), f"{origin}: reason {reason!r} does not match {pattern!r}"
    assert total == len(documents) + len(origins)
    return documents
