"""docker/setup/stack_setup.py: what the `setup` service hands to `botes`."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import REPO, load_script


def stack_setup() -> ModuleType:
    return load_script(REPO / "docker" / "setup" / "stack_setup.py")


def test_empty_botes_settings_mean_the_default_and_secrets_become_settings(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "BOTES_SHODAN__API_KEY").write_text("shodan-key\n")
    (secrets / "BOTES_ONYPHE__API_KEY").write_text("")          # not set: the source stays off
    (secrets / "OTHER").write_text("ignored")
    env = stack_setup().botes_environment(
        {"BOTES_GEOIP__CITY_DB": "", "BOTES_REDIS__URL": "redis://redis:6379/0", "KIBANA_URL": "", "PATH": "/bin"},
        secrets)
    assert env == {"BOTES_REDIS__URL": "redis://redis:6379/0", "KIBANA_URL": "", "PATH": "/bin",
                   "BOTES_SHODAN__API_KEY": "shodan-key"}


def test_without_a_secrets_folder_the_environment_is_kept(tmp_path: Path) -> None:
    env = stack_setup().botes_environment({"BOTES_KAFKA__BOOTSTRAP_SERVERS": "kafka:9092"}, tmp_path / "none")
    assert env == {"BOTES_KAFKA__BOOTSTRAP_SERVERS": "kafka:9092"}


def botes_commands() -> list[list[str]]:
    """The `botes` command lines stack_setup.py runs (a variable argument as VALUE)."""
    tree = ast.parse((REPO / "docker" / "setup" / "stack_setup.py").read_text())
    return [[part.value if isinstance(part, ast.Constant) else "VALUE" for part in node.elts[1:]]
            for node in ast.walk(tree)
            if isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant)
            and node.elts[0].value == "botes"]


@pytest.mark.parametrize("command", botes_commands(), ids=" ".join)
def test_the_botes_commands_it_runs_exist(command: list[str]) -> None:
    """The stack cannot be run here (no Docker engine): at least each command it gives `botes` must parse."""
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_it_runs_setup_and_submits_the_job() -> None:
    assert botes_commands() == [["setup"], ["run", "--jobmanager", "VALUE"]]
