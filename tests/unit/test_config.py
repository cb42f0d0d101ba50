"""pipeline.config: YAML file + BOTES_* environment, secrets only from the environment, errors that name the setting."""

from __future__ import annotations

import json
import pickle
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from pipeline.config import Settings, bundled_data, load_settings, redacted
from pipeline.errors import ConfigError
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("no_botes_environment")


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "botes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class TestDefaults:
    def test_defaults_without_file_or_environment(self) -> None:
        settings = load_settings()
        assert settings.redis.url == "redis://127.0.0.1:6379/0"
        assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
        assert settings.enrichers == ["assets", "rdns", "geoip", "threatlists", "shodan", "onyphe",
                                      "virustotal"]
        assert settings.cache.backend == "redis"
        assert settings.index.password is None

    def test_default_data_files_are_bundled_and_exist(self) -> None:
        settings = load_settings()
        assert settings.geoip.city_db.is_file()
        assert settings.geoip.asn_db.is_file()
        assert settings.assets.path.is_file()
        assert settings.assets.path == bundled_data("assets.csv")

    def test_source_ttls(self) -> None:
        settings = load_settings()
        assert settings.geoip.ttl == timedelta(days=7)
        assert settings.geoip.negative_ttl == timedelta(days=1)
        assert settings.assets.ttl == timedelta(hours=1)
        assert settings.assets.negative_ttl == timedelta(minutes=10)


class TestEnvironment:
    def test_nested_env_override(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_REDIS__URL", "redis://cache.example:6380/2")
        monkeypatch.setenv("BOTES_KAFKA__BOOTSTRAP_SERVERS", "broker1:9092,broker2:9092")
        monkeypatch.setenv("BOTES_GEOIP__CITY_DB", "/data/GeoLite2-City.mmdb")
        settings = load_settings()
        assert settings.redis.url == "redis://cache.example:6380/2"
        assert settings.kafka.bootstrap_servers == "broker1:9092,broker2:9092"
        assert settings.geoip.city_db == Path("/data/GeoLite2-City.mmdb")

    def test_env_values_are_typed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_KAFKA__PARTITIONS", "6")
        monkeypatch.setenv("BOTES_GEOIP__TTL", "PT1H")          # ISO 8601 duration
        monkeypatch.setenv("BOTES_INDEX__VERIFY_CERTS", "false")
        monkeypatch.setenv("BOTES_ENRICHERS", '["geoip"]')
        settings = load_settings()
        assert settings.kafka.partitions == 6
        assert settings.geoip.ttl == timedelta(hours=1)
        assert settings.index.verify_certs is False
        assert settings.enrichers == ["geoip"]

    def test_secret_from_env_is_secret_str(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_INDEX__PASSWORD", "hunter2-index")
        settings = load_settings()
        assert settings.index.password is not None
        assert settings.index.password.get_secret_value() == "hunter2-index"
        assert "hunter2-index" not in repr(settings)
        assert "hunter2-index" not in str(settings.index.password)

    def test_botes_config_variable_used_by_the_cli_is_not_a_setting(self, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
        # The CLI reads BOTES_CONFIG for --config; Settings forbids extra fields and must not choke on it.
        monkeypatch.setenv("BOTES_CONFIG", "/nonexistent/botes.yaml")
        assert load_settings().redis.url == "redis://127.0.0.1:6379/0"


class TestFile:
    def test_yaml_values(self, tmp_path: Path) -> None:
        path = write_yaml(tmp_path, """
kafka:
  bootstrap_servers: kafka.internal:9092
  group_id: from-file
redis:
  key_prefix: lab
geoip:
  ttl: 7200
network:
  internal_networks: ["81.2.69.0/24"]
enrichers: [geoip]
""")
        settings = load_settings(path)
        assert settings.kafka.bootstrap_servers == "kafka.internal:9092"
        assert settings.kafka.group_id == "from-file"
        assert settings.redis.key_prefix == "lab"
        assert settings.geoip.ttl == timedelta(hours=2)
        assert settings.network.internal_networks == ["81.2.69.0/24"]
        assert settings.enrichers == ["geoip"]
        # Untouched settings keep their defaults.
        assert settings.redis.url == "redis://127.0.0.1:6379/0"

    def test_empty_file_gives_defaults(self, tmp_path: Path) -> None:
        assert load_settings(write_yaml(tmp_path, "")).kafka.group_id == "botes-enrichment"

    def test_env_beats_file_and_both_merge_within_a_section(self, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
        path = write_yaml(tmp_path, "kafka:\n  bootstrap_servers: file:9092\n  group_id: from-file\n")
        monkeypatch.setenv("BOTES_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
        settings = load_settings(path)
        assert settings.kafka.bootstrap_servers == "env:9092"
        assert settings.kafka.group_id == "from-file"

    def test_loaded_settings_are_plain_settings_and_pickle(self, tmp_path: Path) -> None:
        settings = load_settings(write_yaml(tmp_path, "redis:\n  key_prefix: lab\n"))
        assert type(settings) is Settings
        assert pickle.loads(pickle.dumps(settings)).redis.key_prefix == "lab"

    @pytest.mark.parametrize(("yaml_text", "env_name"), [
        ("index:\n  password: s3cret\n", "BOTES_INDEX__PASSWORD"),
        ("index:\n  api_key: abc123\n", "BOTES_INDEX__API_KEY"),
        ("redis:\n  password: s3cret\n", "BOTES_REDIS__PASSWORD"),
    ])
    def test_secret_in_file_is_refused_naming_the_env_variable(self, tmp_path: Path, yaml_text: str,
                                                               env_name: str) -> None:
        with pytest.raises(ConfigError) as excinfo:
            load_settings(write_yaml(tmp_path, yaml_text))
        assert env_name in str(excinfo.value)
        assert "s3cret" not in str(excinfo.value) and "abc123" not in str(excinfo.value)

    def test_null_secret_in_file_is_allowed(self, tmp_path: Path) -> None:
        assert load_settings(write_yaml(tmp_path, "index:\n  password: null\n")).index.password is None

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="not found"):
            load_settings(tmp_path / "nope.yaml")

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="not valid YAML"):
            load_settings(write_yaml(tmp_path, "kafka:\n  partitions: [\n"))

    def test_unknown_key_in_file_names_it(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=r"kafka\.bogus"):
            load_settings(write_yaml(tmp_path, "kafka:\n  bogus: 1\n"))

    def test_file_that_is_not_a_mapping(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError):
            load_settings(write_yaml(tmp_path, "- a\n- b\n"))


class TestBadValues:
    @pytest.mark.parametrize(("name", "value", "setting"), [
        ("BOTES_KAFKA__PARTITIONS", "0", "kafka.partitions"),
        ("BOTES_KAFKA__PARTITIONS", "many", "kafka.partitions"),
        ("BOTES_CACHE__BACKEND", "disk", "cache.backend"),
        ("BOTES_INDEX__SERVER", "solr", "index.server"),
        ("BOTES_ENRICHERS", '["no-such-source"]', "enrichers"),
        ("BOTES_INDEX__FLUSH_INTERVAL", "0", "index.flush_interval"),
    ])
    def test_bad_env_value_names_the_setting(self, monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                             setting: str) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError) as excinfo:
            load_settings()
        assert setting in str(excinfo.value)

    def test_bad_file_value_names_the_setting(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=r"cache\.memory_max_entries"):
            load_settings(write_yaml(tmp_path, "cache:\n  memory_max_entries: 0\n"))

    def test_non_json_env_value_for_list_setting_is_config_error(self, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
        monkeypatch.setenv("BOTES_ENRICHERS", "geoip")
        with pytest.raises(ConfigError, match="enrichers"):
            load_settings()

    def test_bad_internal_network_is_config_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_NETWORK__INTERNAL_NETWORKS", '["not-a-network"]')
        with pytest.raises(ConfigError, match=r"network\.internal_networks"):
            load_settings()


class TestRedacted:
    def test_url_passwords_are_masked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_REDIS__URL", "redis://botes:redis-pw-123@cache.example:6379/0")
        monkeypatch.setenv("BOTES_INDEX__URL", "https://elastic:index-pw-456@search.example:9200")
        data = redacted(load_settings())
        assert data["redis"]["url"] == "redis://botes:**********@cache.example:6379/0"
        assert data["index"]["url"] == "https://elastic:**********@search.example:9200"
        dumped = json.dumps(data)
        assert "redis-pw-123" not in dumped and "index-pw-456" not in dumped

    def test_url_password_without_username_is_masked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_REDIS__URL", "redis://:only-pw@cache.example:6379/0")
        assert redacted(load_settings())["redis"]["url"] == "redis://:**********@cache.example:6379/0"

    def test_url_without_password_is_unchanged(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_INDEX__URL", "https://elastic@search.example:9200")
        data = redacted(load_settings())
        assert data["index"]["url"] == "https://elastic@search.example:9200"
        assert data["redis"]["url"] == "redis://127.0.0.1:6379/0"

    def test_secret_values_never_appear_in_the_dump(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_INDEX__PASSWORD", "index-secret-789")
        monkeypatch.setenv("BOTES_INDEX__API_KEY", "apikey-secret-012")
        monkeypatch.setenv("BOTES_REDIS__PASSWORD", "redis-secret-345")
        settings = load_settings()
        # The secrets were read (so the check below is not vacuous) ...
        assert settings.index.api_key is not None
        assert settings.index.api_key.get_secret_value() == "apikey-secret-012"
        dumped = json.dumps(redacted(settings))
        # ... and none of them is in the JSON.
        for secret in ("index-secret-789", "apikey-secret-012", "redis-secret-345"):
            assert secret not in dumped
        data = json.loads(dumped)
        assert data["index"]["password"] not in (None, "")
        assert data["redis"]["password"] not in (None, "")

    def test_redacted_is_json_serialisable_and_complete(self) -> None:
        data = json.loads(json.dumps(redacted(load_settings())))
        assert set(data) == {"enrichers", "kafka", "redis", "cache", "index", "network", "geoip", "assets",
                             "normalize", "rdns", "threatlists", "shodan", "onyphe", "virustotal", "flink",
                             "download", "scot"}
        assert data["geoip"]["city_db"].endswith("GeoLite2-City-Test.mmdb")



EXAMPLE = REPO / "config.example.yaml"


def setting_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every setting as section.key (or key, at the top)."""
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            paths |= setting_paths(section, f"{prefix}{name}.")
        else:
            paths.add(prefix + name)
    return paths


def shown_paths(example: str) -> set[str]:
    """The keys an example file shows, and its `# key: ...` lines (secrets, which the file may not hold)."""
    shown: dict[str, Any] = yaml.safe_load(re.sub(r"^(\s*)#\s*([a-z_]+):.*$", r"\1\2: null", example,
                                                  flags=re.MULTILINE))
    return {f"{name}.{key}" if isinstance(value, dict) else name
            for name, value in shown.items() for key in (value if isinstance(value, dict) else [None])}


class TestExampleFile:
    """README: "config.example.yaml lists every setting with its default or an example"."""

    def test_every_setting_is_shown_and_nothing_else(self) -> None:
        settings, shown = setting_paths(Settings), shown_paths(EXAMPLE.read_text())
        assert not settings - shown, f"config.example.yaml does not show {sorted(settings - shown)}"
        assert not shown - settings, f"config.example.yaml shows what is no setting: {sorted(shown - settings)}"

    def test_a_setting_left_out_or_misspelt_is_found(self) -> None:
        example = EXAMPLE.read_text()
        assert "index.request_timeout" not in shown_paths(example.replace("  request_timeout: 30.0", "  # (gone)"))
        assert "redis.pasword" in shown_paths(example.replace("  # password:", "  # pasword:", 1))

    def test_it_loads_as_it_is(self) -> None:
        """No secret in it (refused in a file), every value valid, no unknown key (extra="forbid")."""
        example = load_settings(EXAMPLE)
        assert example.threatlists.lists[2].column == "sha256_hash"
