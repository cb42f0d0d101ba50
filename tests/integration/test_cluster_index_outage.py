"""The index server unreachable for 30 s in the middle of a run: the job on the cluster waits (it neither
fails nor dead-letters good documents) and goes on when the index is back; nothing is lost."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipeline.index.writer import open_client
from tests.conftest import settings_with
from tests.fakes.tcp_proxy import FaultyProxy
from tests.integration.cluster_support import ClusterJob, botes, check_delivery, cluster_env, publish, write_botes_files

pytestmark = pytest.mark.integration

OUTAGE = 30.0


class TaskManagerLogs:
    """What the TaskManagers logged (the job's Python workers log there) since the last look."""

    def __init__(self, cluster: Any) -> None:
        self._directory = cluster.layout.log_dir
        self._offsets = {path: path.stat().st_size for path in self._files()}

    def _files(self) -> list[Path]:
        return sorted(self._directory.glob("flink-*-taskexecutor-*.log"))

    def new_text(self) -> str:
        text = []
        for path in self._files():
            with path.open("rb") as log:
                log.seek(self._offsets.get(path, 0))
                text.append(log.read().decode(errors="replace"))
        return "".join(text)


def test_an_index_outage_holds_the_job_back_and_loses_nothing(flink_cluster: Any, tmp_path: Path) -> None:
    index = settings_with({}).index
    target = urlsplit(index.url)
    proxy = FaultyProxy(target.hostname or "127.0.0.1", target.port or 9200).start()
    job = ClusterJob(flink_cluster, cluster_env("outage", flink_cluster, BOTES_INDEX__URL=proxy.url,
                                                BOTES_INDEX__RETRY_MAX_BACKOFF="2"))
    job.client = open_client(index)  # the test itself looks at the index directly, outage or not
    expected = write_botes_files(tmp_path / "input", 6_000, seed="outage")
    assert botes("setup", env=job.env).returncode == 0
    assert publish(job.settings, tmp_path / "input") == 6_000
    job.submit()
    try:
        job.wait(lambda: job.indexed() >= len(expected) // 3, "a third of the events in the index")
        logs = TaskManagerLogs(flink_cluster)
        proxy.cut()
        cut_at = time.monotonic()
        # A bulk request the server had read before the cut may still be written: let it end.
        time.sleep(10)
        during = job.indexed()
        time.sleep(OUTAGE - (time.monotonic() - cut_at))
        after = job.indexed()
        logged = logs.new_text()
        assert job.state() == "RUNNING"
        failures = job.failures()
        proxy.restore()
        restored_at = time.monotonic()
        print(f"index unreachable for {OUTAGE:.0f} s at {during} of {len(expected)} indexed; "
              f"indexed during the outage: {after - during}; job failures: {len(failures)}")
        assert during < len(expected), "the job finished before the outage: nothing was tested"
        assert after == during, "documents reached the index through a cut line"
        assert failures == [], "the job failed (and restarted) instead of waiting"
        assert "index unavailable" in logged
        waiting = [int(n) for n in re.findall(r"(\d+) waiting for the index", logged)]
        assert waiting and max(waiting) > 0, "the health line did not show documents waiting for the index"
        lag = [int(n) for n in re.findall(r"consumer lag (\d+)", logged)]
        assert lag and max(lag) > 0, "the health line did not show the messages left to read"
        assert job.dead_letters() == [], "good documents were dead-lettered during the outage"

        job.wait(lambda: job.indexed() > after, "indexing to resume after the outage")
        print(f"indexing resumed within {time.monotonic() - restored_at:.1f} s of the index coming back")
        job.wait(lambda: job.indexed() >= len(expected), "every event in the index")
        assert "index available again after" in logs.new_text()
        check_delivery(job, expected)
    finally:
        proxy.stop()
        job.cancel()
