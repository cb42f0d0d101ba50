"""Shared fixtures. Integration tests get real servers from scripts/services.py (or testcontainers)."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pipeline.config import Settings, load_settings

# tests/airflow/ runs in Airflow's own virtualenv, by `bash scripts/test_airflow.sh` (which sets this variable).
collect_ignore = [] if os.environ.get("BOTES_AIRFLOW_TESTS") else ["airflow"]

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(REPO / "scripts"))

_USED: list[str] = []


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Redis, a Kafka-wire broker and an index server on loopback, for the whole run.

    A server that cannot start fails the run: integration tests never skip silently.
    """
    from services import start_services  # scripts/services.py

    from pipeline.flink.jars import fetch_jars

    jars_dir = REPO / ".cache" / "jars"
    fetch_jars(jars_dir)
    started = start_services(tmp_path_factory.mktemp("services"))
    _USED.append(started.description)
    saved = {key: os.environ.get(key) for key in (*started.env, "BOTES_FLINK__JARS_DIR")}
    os.environ.update(started.env)
    os.environ["BOTES_FLINK__JARS_DIR"] = str(jars_dir)
    try:
        yield started
    finally:
        started.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def flink_cluster(services: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A Flink session cluster (one JobManager, one TaskManager) from scripts/services.py, shared by the
    cluster tests; a test that kills the TaskManager starts a new one. Jobs get the address through
    BOTES_FLINK__JOBMANAGER in their own environment only, so other tests keep running jobs in-process."""
    from services import start_flink_cluster  # scripts/services.py

    cluster = start_flink_cluster(tmp_path_factory.mktemp("flink"), taskmanagers=1)
    _USED.append(f"Flink {cluster_version()} session cluster on {cluster.rest_address}")
    try:
        yield cluster
    finally:
        cluster.stop()


def cluster_version() -> str:
    from pyflink.version import __version__

    return str(__version__)


@pytest.fixture
def no_botes_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read BOTES_* variables: start a test without any from the caller's shell (or the services)."""
    for name in list(os.environ):
        if name.upper().startswith("BOTES_"):
            monkeypatch.delenv(name)


@pytest.fixture
def isolated_env(services: object) -> dict[str, str]:
    """Settings for one test: its own topics, index prefix and cache key prefix."""
    return isolated(f"t{uuid.uuid4().hex[:10]}")


def settings_with(env: dict[str, str]) -> Settings:
    """The settings a `botes` subprocess started with ``env`` added to this process's environment sees."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return load_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value


def isolated(name: str) -> dict[str, str]:
    return {
        "BOTES_KAFKA__TOPIC_PREFIX": f"{name}.",
        "BOTES_KAFKA__DEAD_LETTER_TOPIC": f"{name}.dead-letter",
        "BOTES_KAFKA__GROUP_ID": f"{name}-job",
        "BOTES_INDEX__PREFIX": name,
        "BOTES_REDIS__KEY_PREFIX": name,
    }


def load_script(path: Path) -> ModuleType:
    """A script that is not part of a package (docker/*/...py), as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for description in _USED:
        terminalreporter.write_line(f"integration servers used: {description}")


@pytest.fixture
def provider() -> Iterator[object]:
    """A local HTTP server standing in for an external API (see tests/fakes/provider.py)."""
    from tests.fakes.provider import ProviderServer

    server = ProviderServer().start()
    try:
        yield server
    finally:
        server.stop()
