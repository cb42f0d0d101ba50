"""The ``index`` section of pipeline.config: data stream names, retention and rollover, checked at load time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.errors import ConfigError

pytestmark = pytest.mark.usefixtures("no_botes_environment")


def test_defaults() -> None:
    index = load_settings().index
    assert (index.server, index.prefix, index.namespace) == ("elasticsearch", "botes", "default")
    assert index.retention == timedelta(days=90)
    assert index.rollover_max_age == timedelta(days=7)
    assert index.rollover_max_primary_shard_size == "50gb"
    assert index.dedup_across_rollover is True


def test_retention_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "botes.yaml"
    path.write_text("index:\n  retention: P365D\n  rollover_max_age: P1D\n  namespace: prod\n", encoding="utf-8")
    index = load_settings(path).index
    assert (index.retention, index.rollover_max_age, index.namespace) == (timedelta(days=365), timedelta(days=1),
                                                                          "prod")


def test_null_retention_keeps_data_for_ever(tmp_path: Path) -> None:
    path = tmp_path / "botes.yaml"
    path.write_text("index:\n  retention: null\n", encoding="utf-8")
    assert load_settings(path).index.retention is None


def test_forever_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTES_INDEX__RETENTION", "forever")
    assert load_settings().index.retention is None
    monkeypatch.setenv("BOTES_INDEX__RETENTION", str(30 * 86400))
    assert load_settings().index.retention == timedelta(days=30)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("BOTES_INDEX__NAMESPACE", "my-lab", "index.namespace"),
    ("BOTES_INDEX__NAMESPACE", "Prod", "index.namespace"),
    ("BOTES_INDEX__NAMESPACE", "x" * 101, "index.namespace"),
    ("BOTES_INDEX__RETENTION", "0", "index.retention"),
    ("BOTES_INDEX__ROLLOVER_MAX_AGE", "-60", "index.rollover_max_age"),
    ("BOTES_INDEX__ROLLOVER_MAX_PRIMARY_SHARD_SIZE", "50 GB", "index.rollover_max_primary_shard_size"),
    ("BOTES_INDEX__PREFIX", "Botes", "prefix 'Botes'"),
    ("BOTES_INDEX__PREFIX", "my-botes", "has no '-'"),   # part of the dataset with data streams
])
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_a_dash_in_the_prefix_is_fine_for_plain_indices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTES_INDEX__SERVER", "opensearch")
    monkeypatch.setenv("BOTES_INDEX__PREFIX", "my-botes")
    assert load_settings().index.prefix == "my-botes"
