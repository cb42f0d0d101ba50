"""`botes run` checks its sources before starting Flink: a bad setting stops it with the setting's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app


def test_a_missing_geoip_database_stops_the_embedded_run_before_flink(tmp_path: Path) -> None:
    env = {**os.environ, "BOTES_GEOIP__CITY_DB": str(tmp_path / "missing.mmdb"), "BOTES_ENRICHERS": '["geoip"]'}
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", "--output", str(tmp_path / "out.ndjson")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "geoip.city_db: cannot open MaxMind database" in result.stderr
    assert not (tmp_path / "out.ndjson").exists()


def test_input_without_output_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--input", str(tmp_path)])
    assert result.exit_code == 2
    assert "embedded mode needs --output" in result.stderr
