"""`botes replay` against the real broker: --limit, --rate and the configurable routing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from pipeline.config import bundled_data
from tests.integration.test_end_to_end import read_topic

pytestmark = pytest.mark.integration

SAMPLE = bundled_data("sample")


def replay(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "replay", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_limit_rate_and_routing(isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "BOTES_KAFKA__ROUTING": json.dumps({"suricata": "firewall"})}
    started = time.monotonic()
    result = replay("--limit", "20", "--rate", "40", str(SAMPLE / "botesv1.suricata.json"), env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed >= 19 / 40  # 20 events at 40/s: at least 0.475 s between the first and the last
    topic = f"{isolated_env['BOTES_KAFKA__TOPIC_PREFIX']}firewall"
    events = [json.loads(v) for v in read_topic(os.environ["BOTES_KAFKA__BOOTSTRAP_SERVERS"], topic, 20, 30)]
    assert len(events) == 20
    assert {e["event"]["dataset"] for e in events} == {"suricata"}
    assert "suricata" in result.stderr and "20" in result.stderr


def test_unknown_routing_source_is_refused_with_the_setting_named(isolated_env: dict[str, str]) -> None:
    result = replay(str(SAMPLE), env={**isolated_env, "BOTES_KAFKA__ROUTING": '{"nope": "x"}'})
    assert result.returncode == 2
    assert "kafka.routing: 'nope' is not a source type" in result.stderr
