"""The Flink execution environment: where the job runs (in this process, or submitted to a cluster), its
Python executable, parallelism, checkpoints, connector jars and the savepoint it resumes from."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pyflink.common import Configuration
from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from pipeline.config import FlinkSettings
from pipeline.errors import ConfigError
from pipeline.flink.cluster import SHARED_CONFIG, flink_python_jar
from pipeline.flink.jars import kafka_jars
from pipeline.flink.rest import rest_url

__all__ = ["make_environment", "resolve_savepoint", "job_settings"]


def _remote(jobmanager: str, configuration: Configuration) -> StreamExecutionEnvironment:
    """An environment whose execute_async() submits the job to the cluster's REST API.

    PyFlink's get_execution_environment() always builds a local one outside `flink run`, so the Java
    environment is made directly, with the executor of ``execution.target: remote``. The jobs's jars go
    with the submission: the Kafka connector, and flink-python, which a cluster started from the plain
    distribution does not have on its classpath (``flink run --python`` ships it the same way).
    """
    url = rest_url(jobmanager)
    host, _, port = url.split("://", 1)[1].partition(":")
    if not port.isdigit():
        raise ConfigError(f"flink.jobmanager: {jobmanager!r} is not HOST:PORT of a Flink REST API")
    configuration.set_string("execution.target", "remote")
    configuration.set_string("rest.address", host)
    configuration.set_string("rest.port", port)
    configuration.set_string("pipeline.jars", flink_python_jar().as_uri())
    j_env = get_gateway().jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment(
        configuration._j_configuration)
    return StreamExecutionEnvironment(j_env)


# Settings of the shared file that belong to the job, not the cluster: a JobManager takes checkpoint
# retention, timeouts and tolerated failures from the submitted job, so they travel with it. The folders
# and the restart strategy stay the cluster's (they are deployment facts), and apply when unset here.
_JOB_PREFIXES = ("execution.checkpointing.",)
_CLUSTER_KEYS = {"execution.checkpointing.dir", "execution.checkpointing.savepoint-dir"}


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def job_settings() -> dict[str, str]:
    """The job's part of pipeline/flink/conf/config.yaml, as Flink configuration keys."""
    tree = yaml.safe_load(SHARED_CONFIG.read_text(encoding="utf-8")) or {}
    return {key: str(value) for key, value in _flatten(tree).items()
            if key.startswith(_JOB_PREFIXES) and key not in _CLUSTER_KEYS}


def make_environment(settings: FlinkSettings, with_kafka: bool, jobmanager: str | None = None,
                     savepoint: str | None = None) -> StreamExecutionEnvironment:
    configuration = Configuration()
    if with_kafka:
        for key, value in job_settings().items():
            configuration.set_string(key, value)
    if savepoint is not None:
        configuration.set_string("execution.state-recovery.path", savepoint)
    if jobmanager is not None:
        env = _remote(jobmanager, configuration)
    else:
        env = StreamExecutionEnvironment.get_execution_environment(configuration)
    env.set_python_executable(settings.python_executable or sys.executable)
    env.set_parallelism(settings.parallelism)
    if with_kafka:
        env.add_jars(*(Path(jar).resolve().as_uri() for jar in kafka_jars(settings.jars_dir)))
        env.enable_checkpointing(int(settings.checkpoint_interval * 1000), CheckpointingMode.AT_LEAST_ONCE)
    return env


def resolve_savepoint(path: str) -> str:
    """A savepoint or retained checkpoint to resume from: the folder holding ``_metadata``, or the newest
    such folder inside the one given (a savepoint directory, a job's checkpoint directory). A path this
    machine does not have (on a remote cluster's disk) is passed on unchanged."""
    location = Path(urlsplit(path).path if path.startswith("file:") else path)  # file:/x and file:///x alike
    if not location.exists():
        return path
    if (location / "_metadata").is_file():
        return str(location.resolve())
    found = sorted((m.parent for m in [*location.glob("*/_metadata"), *location.glob("*/*/_metadata")]),
                   key=lambda p: (p / "_metadata").stat().st_mtime)
    if not found:
        raise ConfigError(f"--from-savepoint: no savepoint or checkpoint (_metadata) in {location}")
    return str(found[-1].resolve())
