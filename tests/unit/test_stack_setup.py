"""docker/setup/stack_setup.py: what the `setup` service hands to `botes`."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def stack_setup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stack_setup", REPO / "docker" / "setup" / "stack_setup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
