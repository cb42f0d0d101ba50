"""The Airflow suite's fixtures. It runs in Airflow's own virtualenv (`bash scripts/test_airflow.sh` sets
AIRFLOW_HOME to a fresh directory, migrates its database and names scot/dags/ as the DAG folder)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.scot_world import World, scot_world


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (the Debian binary, as scripts/services.py runs it) for the DAGs' shared cache."""
    from services import ensure_redis_server, free_loopback_ports, redis_process  # scripts/services.py

    server = redis_process(ensure_redis_server(), free_loopback_ports(1)[0], tmp_path_factory.mktemp("redis"),
                           detached=False)
    server.launch()
    try:
        server.wait_until_healthy()
        yield f"redis://{server.host}:{server.port}/0"
    finally:
        server.stop()


@pytest.fixture
def world(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The SCOT side and the providers running, and their BOTES_* settings in this process's environment,
    where the DAG file and its tasks read them."""
    with scot_world(tmp_path, {"BOTES_REDIS__URL": redis_url, "BOTES_REDIS__KEY_PREFIX": f"af{uuid.uuid4().hex[:8]}"}
                    ) as built:
        for name, value in built.env.items():
            monkeypatch.setenv(name, value)
        yield built
