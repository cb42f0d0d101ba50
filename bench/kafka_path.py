"""The Kafka path measured: replay into the broker, the job until the index holds every event, raw bulk indexing.

A streaming job never ends by itself, so a run is timed from the job's start until the index server counts
every event, then stopped. Besides that wall time (with the job's start-up), the **sustained** rate is taken
from the first indexed document to the last: what the path keeps up once it runs, comparable with raw bulk
indexing (which has no start-up).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from machine import ProcessTree

from pipeline.config import IndexSettings

__all__ = ["JobRun", "botes", "run_until_indexed", "raw_bulk", "index_count", "BULK_ACTIONS"]

REPO = Path(__file__).resolve().parent.parent
BULK_ACTIONS = 500  # documents per bulk request, as the pipeline's writer (index.bulk_actions)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def botes(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "pipeline", *args], env=dict(env), cwd=REPO,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"botes {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def _request(url: str, body: bytes | None = None, method: str = "GET",
             content_type: str = "application/json") -> object:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
    with _OPENER.open(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def index_count(index_url: str, pattern: str) -> int:
    try:
        _request(f"{index_url}/{pattern}/_refresh", b"", "POST")
        answer = _request(f"{index_url}/{pattern}/_count")
    except OSError:
        return 0
    return int(answer.get("count", 0)) if isinstance(answer, dict) else 0


@dataclass(slots=True)
class JobRun:
    events: int
    seconds: float             # job start -> every event indexed
    first_doc: float           # job start -> first document indexed
    sustained: float           # events/s from the first indexed document to the last
    tree: ProcessTree
    finished: bool

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def run_until_indexed(command: list[str], env: Mapping[str, str], index_url: str, pattern: str, total: int,
                      timeout: float = 900, poll: float = 0.5) -> JobRun:
    """Starts ``command`` (a job that runs until stopped) and stops it once ``pattern`` counts ``total``."""
    started = time.monotonic()
    # Its log goes to a file: a pipe nobody reads while the job runs would fill and stall the job.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=dict(env), cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=log, start_new_session=True)
        tree = ProcessTree(process.pid)
        first_at, first_count, count, finished = 0.0, 0, 0, False
        try:
            while True:
                tree.sample()
                count = index_count(index_url, pattern)
                now = time.monotonic() - started
                if count and not first_at:
                    first_at, first_count = now, count
                if count >= total:
                    finished = True
                    break
                if process.poll() is not None or now > timeout:
                    break
                time.sleep(poll)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if not finished:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(command)}: {count} of {total} documents indexed before it stopped or "
                               f"{timeout:.0f} s passed\n{tail}")
        seconds = time.monotonic() - started
        span = seconds - first_at
        sustained = (total - first_count) / span if span > 0 and total > first_count else total / seconds
    return JobRun(total, seconds, first_at, sustained, tree, finished)


def raw_bulk(settings: IndexSettings, documents: Path) -> tuple[int, float]:
    """Bulk-``create`` the documents of an NDJSON file where the pipeline would store them under
    ``settings`` (its index names and document ids), ``BULK_ACTIONS`` per request, with plain HTTP (bodies
    built before the clock starts): the index server's own ceiling for these documents."""
    from pipeline.index.documents import index_document

    bodies: list[bytes] = []
    batch: list[str] = []
    count = 0
    with documents.open(encoding="utf-8") as f:
        for line in f:
            doc = index_document(json.loads(line), settings)
            action = {"create": {"_index": doc.index, "_id": doc.id}}
            batch.append(json.dumps(action) + "\n" + json.dumps(doc.source) + "\n")
            count += 1
            if len(batch) == BULK_ACTIONS:
                bodies.append("".join(batch).encode())
                batch = []
    if batch:
        bodies.append("".join(batch).encode())
    started = time.monotonic()
    for body in bodies:
        answer = _request(f"{settings.url}/_bulk", body, "POST", "application/x-ndjson")
        if isinstance(answer, dict) and answer.get("errors"):
            raise RuntimeError("raw bulk baseline: the index server refused documents")
    return count, time.monotonic() - started
