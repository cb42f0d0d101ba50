"""The cluster commands' errors: `botes stop` needs a cluster to talk to, and says so; `botes run`'s cluster
options belong to the Kafka job."""

from __future__ import annotations

import socket
import subprocess
import sys

from typer.testing import CliRunner

from pipeline.cli import app


def test_stop_without_a_cluster_says_which_setting_to_give() -> None:
    result = CliRunner().invoke(app, ["stop"], env={"BOTES_FLINK__JOBMANAGER": ""})
    assert result.exit_code == 2
    assert "pass --jobmanager HOST:PORT or set flink.jobmanager" in result.stderr


def test_stop_names_the_address_where_no_flink_answers() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = subprocess.run([sys.executable, "-m", "pipeline", "stop", "--jobmanager", f"127.0.0.1:{port}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"no Flink REST API at http://127.0.0.1:{port}" in result.stderr


def test_cluster_options_are_refused_in_embedded_mode(tmp_path: object) -> None:
    result = CliRunner().invoke(app, ["run", "--output", "x.ndjson", "--jobmanager", "127.0.0.1:8081"])
    assert result.exit_code == 2
    assert "--jobmanager and --from-savepoint are for the Kafka job" in result.stderr
