"""The shared Flink settings (pipeline/flink/conf/config.yaml), the local cluster's folder and options, and
what `botes run` sends with a job (no JVM is started here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from pipeline.errors import ConfigError
from pipeline.flink.cluster import (
    FLINK_HOME,
    SHARED_CONFIG,
    flink_python_jar,
    jobmanager_options,
    prepare_layout,
    taskmanager_options,
)
from pipeline.flink.environment import job_settings, resolve_savepoint
from pipeline.flink.rest import rest_url


def flat(options: list[str]) -> dict[str, str]:
    assert options[0::2] == ["-D"] * (len(options) // 2)
    return dict(pair.split("=", 1) for pair in options[1::2])


def test_the_shared_settings_keep_checkpoints_restart_for_ever_and_serve_prometheus() -> None:
    settings = yaml.safe_load(SHARED_CONFIG.read_text())
    checkpointing = settings["execution"]["checkpointing"]
    assert checkpointing["externalized-checkpoint-retention"] == "RETAIN_ON_CANCELLATION"
    assert settings["restart-strategy"]["type"] == "exponential-delay"
    assert settings["restart-strategy"]["exponential-delay"]["attempts-before-reset-backoff"] == 2**31 - 1
    reporter = settings["metrics"]["reporter"]["prom"]
    assert reporter["factory.class"] == "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
    assert (FLINK_HOME / "plugins" / "metrics-prometheus").is_dir()  # the wheel ships the reporter


def test_the_job_takes_its_part_of_the_shared_settings_and_leaves_the_cluster_its_own() -> None:
    settings = job_settings()
    assert settings["execution.checkpointing.externalized-checkpoint-retention"] == "RETAIN_ON_CANCELLATION"
    assert settings["execution.checkpointing.tolerable-failed-checkpoints"] == "3"
    assert "execution.checkpointing.dir" not in settings  # the folder is each deployment's
    assert not any(key.startswith(("restart-strategy.", "metrics.", "heartbeat.")) for key in settings)


def test_a_cluster_folder_holds_the_shared_settings_and_flinks_logging(tmp_path: Path) -> None:
    layout = prepare_layout(tmp_path / "flink")
    assert (layout.conf_dir / "config.yaml").read_text() == SHARED_CONFIG.read_text()
    assert (layout.conf_dir / "log4j-console.properties").is_file()
    assert layout.checkpoints.is_dir() and layout.savepoints.is_dir()
    environment = layout.environment()
    assert environment["FLINK_CONF_DIR"] == str(layout.conf_dir)
    assert environment["FLINK_LOG_DIR"] == str(layout.log_dir) and environment["PATH"] == os.environ["PATH"]


def test_each_process_gets_its_addresses_ports_and_the_clusters_own_checkpoint_folder(tmp_path: Path) -> None:
    layout = prepare_layout(tmp_path / "flink")
    jobmanager = flat(jobmanager_options(layout, rest_port=18081, rpc_port=16123, prometheus_port=19249))
    assert jobmanager["rest.port"] == "18081" and jobmanager["jobmanager.rpc.port"] == "16123"
    assert jobmanager["metrics.reporter.prom.port"] == "19249"
    assert jobmanager["execution.checkpointing.dir"] == layout.checkpoints.as_uri()
    taskmanager = flat(taskmanager_options(layout, rpc_port=16123, resource_id="taskmanager-3", slots=4))
    assert taskmanager["jobmanager.rpc.port"] == "16123" and taskmanager["taskmanager.resource-id"] == "taskmanager-3"
    assert taskmanager["taskmanager.numberOfTaskSlots"] == "4"
    assert taskmanager["execution.checkpointing.dir"] == layout.checkpoints.as_uri()
    assert "metrics.reporter.prom.port" not in taskmanager  # the shared range then


def test_the_python_operators_jar_ships_with_each_job() -> None:
    assert flink_python_jar().name.startswith("flink-python-") and flink_python_jar().is_file()


@pytest.mark.parametrize("address, url", [("jobmanager:8081", "http://jobmanager:8081"),
                                          ("http://127.0.0.1:8081/", "http://127.0.0.1:8081")])
def test_rest_url(address: str, url: str) -> None:
    assert rest_url(address) == url


def test_a_savepoint_folder_resolves_to_its_newest_savepoint_or_checkpoint(tmp_path: Path) -> None:
    older, newer = tmp_path / "savepoint-aa-1", tmp_path / "job" / "chk-7"
    for number, folder in enumerate((older, newer)):
        folder.mkdir(parents=True)
        (folder / "_metadata").write_bytes(b"x")
        os.utime(folder / "_metadata", (1000 + number, 1000 + number))
    assert resolve_savepoint(str(tmp_path)) == str(newer)
    assert resolve_savepoint(str(older)) == str(older)
    assert resolve_savepoint(f"file://{older}") == str(older)
    assert resolve_savepoint(f"file:{older}") == str(older)  # how Flink prints a savepoint's location
    assert resolve_savepoint("s3://bucket/savepoints/savepoint-1") == "s3://bucket/savepoints/savepoint-1"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no savepoint or checkpoint"):
        resolve_savepoint(str(tmp_path / "empty"))
