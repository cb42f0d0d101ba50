"""The whole compose stack for real, where a Docker engine answers: build, `docker compose up`, drop the
bundled sample into the mounted BOTES folder, wait for enriched documents in Elasticsearch.

It needs a Docker engine and the images (Docker Hub, Elastic's registry, python.org for the Flink image's
Python): without an engine (`docker info` fails) it is skipped with the reason. It runs in its own compose
project, with its own folders and secrets, and removes the project's containers and volumes at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pipeline.config import bundled_data
from tests.conftest import REPO

pytestmark = pytest.mark.integration

UP_TIMEOUT_S = 1800.0    # first build compiles Python and pulls ~6 GB of images
DOCUMENTS_TIMEOUT_S = 600.0


def docker_engine() -> str | None:
    """Why the stack cannot run here, or None when `docker info` answers."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    result = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return f"no Docker engine answers `docker info` ({(result.stderr.strip().splitlines() or ['?'])[-1]})"
    return None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    reason = docker_engine()
    if reason:
        pytest.skip(f"compose stack not started: {reason}; docker-compose.yml is still validated offline by "
                    "tests/unit/test_compose.py")
    folders = tmp_path_factory.mktemp("stack")
    (folders / "botes").mkdir()
    (folders / "enrichment").mkdir()
    env = {**os.environ, "COMPOSE_PROJECT_NAME": f"botes-test-{uuid.uuid4().hex[:6]}",
           "ELASTIC_PASSWORD": "Test" + uuid.uuid4().hex[:12], "KIBANA_PASSWORD": "Kib" + uuid.uuid4().hex[:12],
           "KIBANA_ENCRYPTION_KEY": uuid.uuid4().hex + uuid.uuid4().hex, "REDIS_PASSWORD": uuid.uuid4().hex,
           "BOTES_DATA_DIR": str(folders / "botes"), "BOTES_ENRICHMENT_DIR": str(folders / "enrichment"),
           "ES_PORT": "19200", "KIBANA_PORT": "15601", "KAFKA_PORT": "19094", "FLINK_UI_PORT": "18081"}
    compose = ["docker", "compose", "--project-directory", str(REPO), "--env-file", str(REPO / ".env.example")]
    try:
        subprocess.run([*compose, "up", "-d", "--build", "--wait"], env=env, check=True, timeout=UP_TIMEOUT_S)
        yield env
    finally:
        subprocess.run([*compose, "down", "-v", "--remove-orphans"], env=env, timeout=600)


def test_the_sample_dropped_into_the_folder_is_enriched_into_elasticsearch(stack: dict[str, str]) -> None:
    for sample in bundled_data("sample").glob("botesv1.*.json"):
        shutil.copy(sample, Path(stack["BOTES_DATA_DIR"]) / sample.name)
    url = f"https://localhost:{stack['ES_PORT']}/logs-botes.*/_count"
    deadline = time.monotonic() + DOCUMENTS_TIMEOUT_S
    count = 0
    while time.monotonic() < deadline and count < 300:
        response = requests.get(url, auth=("elastic", stack["ELASTIC_PASSWORD"]), verify=False, timeout=30)
        count = response.json().get("count", 0) if response.ok else 0
        time.sleep(5)
    assert count == 300, f"{count} of the sample's 300 events enriched into Elasticsearch"
