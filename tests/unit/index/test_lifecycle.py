"""pipeline.index.lifecycle: the ILM policy follows the retention and rollover settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.config import IndexSettings
from pipeline.index.lifecycle import es_duration, lifecycle_policy, policy_name


@pytest.mark.parametrize(("age", "text"), [
    (timedelta(days=90), "90d"), (timedelta(hours=36), "36h"), (timedelta(minutes=90), "90m"),
    (timedelta(seconds=61), "61s"), (timedelta(seconds=1.5), "1500ms"), (timedelta(microseconds=1500), "1500micros"),
])
def test_durations_in_elasticsearch_units(age: timedelta, text: str) -> None:
    assert es_duration(age) == text


def test_default_policy_rolls_over_weekly_or_at_50gb_and_deletes_after_90_days() -> None:
    assert lifecycle_policy(IndexSettings()) == {"phases": {
        "hot": {"min_age": "0ms", "actions": {"rollover": {"max_age": "7d", "max_primary_shard_size": "50gb"}}},
        "delete": {"min_age": "90d", "actions": {"delete": {}}},
    }}


def test_settings_change_the_policy() -> None:
    policy = lifecycle_policy(IndexSettings(retention=timedelta(days=400), rollover_max_age=timedelta(days=1),
                                            rollover_max_primary_shard_size="10gb"))
    assert policy["phases"]["hot"]["actions"]["rollover"] == {"max_age": "1d", "max_primary_shard_size": "10gb"}
    assert policy["phases"]["delete"]["min_age"] == "400d"


def test_no_retention_no_delete_phase() -> None:
    assert "delete" not in lifecycle_policy(IndexSettings(retention=None))["phases"]


def test_policy_name_follows_the_prefix() -> None:
    assert policy_name(IndexSettings(prefix="lab")) == "lab@lifecycle"
