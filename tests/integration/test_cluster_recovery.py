"""The job on a real Flink cluster loses nothing and duplicates nothing when its TaskManager is killed, or
when it is stopped with a savepoint and resumed from it (at-least-once into the index, ids make it once)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cluster_support import ClusterJob, botes, check_delivery, cluster_env, publish, write_botes_files

pytestmark = pytest.mark.integration


def test_kill_9_of_the_taskmanager_loses_and_duplicates_nothing(flink_cluster: Any, tmp_path: Path) -> None:
    job = ClusterJob(flink_cluster, cluster_env("kill", flink_cluster))
    expected = write_botes_files(tmp_path / "input", 20_000, seed="kill")
    assert botes("setup", env=job.env).returncode == 0
    assert publish(job.settings, tmp_path / "input") == 20_000
    job.submit()
    try:
        job.wait(lambda: job.indexed() >= len(expected) // 3, "a third of the events in the index")
        checkpoints = job.rest(f"/jobs/{job.job_id}/checkpoints")["counts"]["completed"]
        killed_at, indexed_at_kill = time.monotonic(), job.indexed()
        flink_cluster.kill_taskmanager()
        assert indexed_at_kill < len(expected), "the job finished before the kill: nothing was tested"
        flink_cluster.start_taskmanager()

        def restored_checkpoint() -> Any:
            return job.rest(f"/jobs/{job.job_id}/checkpoints")["latest"]["restored"]

        job.wait(lambda: restored_checkpoint() is not None and job.running_tasks(),
                 "the job to restore its last checkpoint on the new TaskManager")
        running_again = time.monotonic() - killed_at
        restored = restored_checkpoint()
        assert not restored["is_savepoint"]
        job.wait(lambda: job.indexed() > indexed_at_kill, "indexing to resume")
        indexing_again = time.monotonic() - killed_at
        job.wait(lambda: job.indexed() >= len(expected), "every event in the index")
        print(f"killed the TaskManager at {indexed_at_kill} indexed (after {checkpoints} checkpoints); "
              f"restored checkpoint {restored['id']}; job running again after {running_again:.1f} s, "
              f"indexing again after {indexing_again:.1f} s")
        check_delivery(job, expected)
    finally:
        job.cancel()


def test_stop_with_savepoint_and_resume_loses_and_duplicates_nothing(flink_cluster: Any, tmp_path: Path) -> None:
    job = ClusterJob(flink_cluster, cluster_env("savepoint", flink_cluster))
    expected = write_botes_files(tmp_path / "input", 10_000, seed="savepoint")
    assert botes("setup", env=job.env).returncode == 0
    assert publish(job.settings, tmp_path / "input") == 10_000
    first = job.submit()
    try:
        job.wait(lambda: job.indexed() >= len(expected) // 3, "a third of the events in the index")
        stopped = botes("stop", "--savepoint", str(tmp_path / "savepoints"), env=job.env)
        assert stopped.returncode == 0, stopped.stderr
        savepoint = stopped.stdout.strip()
        job.wait(lambda: job.state() == "FINISHED", "the stopped job to finish", 60)
        indexed_at_stop = job.indexed()
        assert indexed_at_stop < len(expected), "the job finished before the savepoint: nothing was tested"
        time.sleep(3)  # a stopped job writes nothing more: the count must stay where it was
        assert job.indexed() == indexed_at_stop

        resumed = job.submit("--from-savepoint", str(tmp_path / "savepoints"))
        assert resumed != first
        restored = job.rest(f"/jobs/{resumed}/checkpoints")["latest"]["restored"]
        assert restored is not None and restored["is_savepoint"]
        assert Path(restored["external_path"].removeprefix("file:")) == Path(savepoint.removeprefix("file:"))
        job.wait(lambda: job.indexed() >= len(expected), "every event in the index")
        # The resumed job starts where the savepoint left off: it reads only the rest of the input.
        port = flink_cluster.metrics_ports[flink_cluster.taskmanagers[-1].name]
        job.wait(lambda: job.metrics(port).get("events_in", 0) >= len(expected) - indexed_at_stop,
                 "the resumed job's metrics")
        read_again = job.metrics(port)
        print(f"stopped at {indexed_at_stop} indexed with {savepoint}; the resumed job read "
              f"{read_again['events_in']:.0f} messages, {read_again['documents_duplicate']:.0f} already indexed")
        assert read_again["events_in"] == len(expected) - indexed_at_stop
        assert read_again["documents_duplicate"] == 0
        check_delivery(job, expected)
    finally:
        job.cancel()
