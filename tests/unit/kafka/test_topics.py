"""kafka.topics.create_topics: what it says when Kafka is not there (creating them: the integration tests)."""

from __future__ import annotations

import pytest

from pipeline.config import KafkaSettings
from pipeline.errors import DependencyError
from pipeline.kafka.topics import create_topics
from tests.fakes.ports import closed_port


def test_no_broker_is_one_clear_error_naming_the_setting_and_nothing_on_stderr(
        capfd: pytest.CaptureFixture[str]) -> None:
    address = f"127.0.0.1:{closed_port()}"
    with pytest.raises(DependencyError, match=rf"^kafka\.bootstrap_servers: no Kafka broker answers at {address} "
                                              r"within 1 s \("):
        create_topics(KafkaSettings(bootstrap_servers=address), ["botes.ids"], timeout=1)
    assert capfd.readouterr().err == ""  # librdkafka's per-attempt connection logs stay quiet
