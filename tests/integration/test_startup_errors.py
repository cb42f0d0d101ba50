"""`botes run` refuses to start, naming the setting, when something it needs is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.fakes.ports import closed_port

pytestmark = pytest.mark.integration


def botes_run(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *(command or ("run",))], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_run_without_the_index_template_asks_for_setup(isolated_env: dict[str, str]) -> None:
    result = botes_run(isolated_env)
    assert result.returncode == 2
    assert f"index template {isolated_env['BOTES_INDEX__PREFIX']}-ecs is not installed" in result.stderr
    assert "botes setup" in result.stderr


def test_run_without_redis_names_the_setting(isolated_env: dict[str, str]) -> None:
    result = botes_run({**isolated_env, "BOTES_REDIS__URL": f"redis://127.0.0.1:{closed_port()}/0"})
    assert result.returncode == 2
    assert "redis.url: Redis does not answer" in result.stderr


def test_run_without_an_index_server_names_the_setting(isolated_env: dict[str, str]) -> None:
    result = botes_run({**isolated_env, "BOTES_INDEX__URL": f"http://127.0.0.1:{closed_port()}"})
    assert result.returncode == 2
    assert "index.url: the index server does not answer" in result.stderr
    assert "Traceback" not in result.stderr  # the client's retries are not logged with theirs


@pytest.mark.parametrize("command", [("run",), ("setup",), ("index", "stats")])
def test_an_index_server_of_the_other_kind_names_the_setting(isolated_env: dict[str, str], services: Any,
                                                             command: tuple[str, ...]) -> None:
    """The templates of one kind do not install on the other: say which to set instead of a traceback."""
    actual = services.env["BOTES_INDEX__SERVER"]
    other = "opensearch" if actual == "elasticsearch" else "elasticsearch"
    result = botes_run({**isolated_env, "BOTES_INDEX__SERVER": other}, *command)
    assert result.returncode == 2, result.stderr
    said = " ".join(result.stderr.split())
    assert f"index.server is {other}, but {services.env['BOTES_INDEX__URL']} is {actual} " in said
    assert f"BOTES_INDEX__SERVER={actual}" in said and "Traceback" not in said
