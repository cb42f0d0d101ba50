"""The scot.* settings (pipeline/config.py): secrets only from the environment, patterns checked at load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.config import ScotSettings, load_settings, redacted
from pipeline.errors import ConfigError
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("no_botes_environment")


def test_defaults() -> None:
    scot = load_settings().scot
    assert scot.listen == "127.0.0.1:8089"
    assert scot.username is None and scot.password is None and scot.api_keys == {}
    for dag_id, entity_type in [("scot4_entity_ipaddr_enrichment", "ipaddr"),  # SCOT4's Helm chart
                                ("scot_entity_ipaddr_enrichment", "ipaddr"),   # SCOT4's documentation
                                ("scot4_entity_sha256_enrichment", "sha256")]:
        found = re.fullmatch(scot.dag_id_pattern, dag_id)
        assert found is not None and found.group("entity_type") == entity_type
    assert re.fullmatch(scot.dag_id_pattern, "scot5_entity_ipaddr_enrichment") is None


def test_secrets_from_the_environment_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTES_SCOT__USERNAME", "scot4-enrichment")
    monkeypatch.setenv("BOTES_SCOT__PASSWORD", "pw-1f2e")
    monkeypatch.setenv("BOTES_SCOT__API_KEYS", json.dumps({"scot.example.com": "key-9d8c", "10.0.0.5:8443": "k2"}))
    settings = load_settings()
    assert settings.scot.password is not None and settings.scot.password.get_secret_value() == "pw-1f2e"
    assert settings.scot.api_keys["scot.example.com"].get_secret_value() == "key-9d8c"
    shown = json.dumps(redacted(settings))
    assert "pw-1f2e" not in shown and "key-9d8c" not in shown
    assert redacted(settings)["scot"]["api_keys"] == {"scot.example.com": "**********", "10.0.0.5:8443": "**********"}


@pytest.mark.parametrize(("section", "env"), [("password: pw", "BOTES_SCOT__PASSWORD"),
                                              ("api_keys: {scot.example.com: k}", "BOTES_SCOT__API_KEYS")])
def test_secrets_in_the_file_are_refused(tmp_path: Path, section: str, env: str) -> None:
    path = tmp_path / "botes.yaml"
    path.write_text(f"scot:\n  {section}\n")
    with pytest.raises(ConfigError, match=env):
        load_settings(path)


@pytest.mark.parametrize(("env", "value", "why"), [
    ("BOTES_SCOT__DAG_ID_PATTERN", "scot4_entity_(\\w+)_enrichment", "entity_type"),
    ("BOTES_SCOT__DAG_ID_PATTERN", "scot4_entity_(?P<entity_type>", "not a regular expression"),
    ("BOTES_SCOT__AIRFLOW_DAG_ID", "enrich_{entity_type}", "dag_id_pattern does not read"),
    ("BOTES_SCOT__AIRFLOW_DAG_ID", "scot4_entity_{kind}_enrichment", "the only field"),
    ("BOTES_SCOT__LISTEN", "8089", "not HOST:PORT"),
    ("BOTES_SCOT__SOURCES", '{"email": ["threatlists"]}', "scot.sources.email"),
    ("BOTES_SCOT__SOURCES", '{"domain": ["whois"]}', "scot.sources.domain"),
])
def test_bad_settings_name_themselves(monkeypatch: pytest.MonkeyPatch, env: str, value: str, why: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=why):
        load_settings()


def test_example_config_shows_the_defaults() -> None:
    example = load_settings(REPO / "config.example.yaml").scot
    assert example.model_dump(exclude={"username"}) == ScotSettings().model_dump(exclude={"username"})
    assert example.username == "scot4-enrichment"
