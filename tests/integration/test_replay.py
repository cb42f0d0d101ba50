"""`botes replay` against the real broker: --limit, --rate and the configurable routing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from pipeline.config import bundled_data
from tests.integration.kafka_topics import read_to_end

pytestmark = pytest.mark.integration

SAMPLE = bundled_data("sample")


def replay(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "replay", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def table_row(output: str, first_cell: str) -> list[str]:
    """The cells of the table row (rich box drawing) whose first cell is ``first_cell``."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃|]", line)[1:-1]]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row for {first_cell!r} in:\n{output}")


def test_limit_rate_and_routing(isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "BOTES_KAFKA__ROUTING": json.dumps({"suricata": "firewall"})}
    source = SAMPLE / "botesv1.suricata.json"
    assert sum(1 for line in source.open() if line.strip()) == 150  # the limit, not the file, stops it
    started = time.monotonic()
    result = replay("--limit", "20", "--rate", "40", str(source), env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed >= 19 / 40  # 20 events at 40/s: at least 0.475 s between the first and the last
    topic = f"{isolated_env['BOTES_KAFKA__TOPIC_PREFIX']}firewall"
    events = [json.loads(v) for v in read_to_end(os.environ["BOTES_KAFKA__BOOTSTRAP_SERVERS"], topic)]
    assert len(events) == 20
    assert {e["event"]["dataset"] for e in events} == {"suricata"}
    assert table_row(result.stderr, topic) == [topic, "20"]
    assert table_row(result.stderr, "suricata") == ["suricata", "20", "0"]


def test_unknown_routing_source_is_refused_with_the_setting_named(isolated_env: dict[str, str]) -> None:
    result = replay(str(SAMPLE), env={**isolated_env, "BOTES_KAFKA__ROUTING": '{"nope": "x"}'})
    assert result.returncode == 2
    assert "kafka.routing: 'nope' is not a source type" in result.stderr
