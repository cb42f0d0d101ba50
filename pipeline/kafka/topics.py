"""Topic names (``<prefix><family>``, e.g. botes.firewall) and creating them."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from pipeline.config import KafkaSettings
from pipeline.errors import DependencyError
from pipeline.normalize.sources import families

__all__ = ["topic_for", "family_topics", "create_topics"]


def topic_for(family: str, settings: KafkaSettings) -> str:
    return f"{settings.topic_prefix}{family}"


def family_topics(settings: KafkaSettings) -> list[str]:
    """Every topic the enrichment job reads."""
    return [topic_for(family, settings) for family in families(settings.routing)]


def create_topics(settings: KafkaSettings, topics: Iterable[str], timeout: float = 15.0) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created. DependencyError, naming
    kafka.bootstrap_servers, when no broker answers or one refuses."""
    # librdkafka would log every failed connection attempt to stderr; the error below says it once.
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise DependencyError(f"kafka.bootstrap_servers: no Kafka broker answers at {settings.bootstrap_servers} "
                              f"within {timeout:g} s ({exc.args[0].str()})") from None
    wanted = list(dict.fromkeys(topics))
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=settings.partitions, replication_factor=1) for t in wanted],
        operation_timeout=timeout, request_timeout=timeout,
    )
    created: list[str] = []
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout)
            created.append(topic)
        except TimeoutError:
            raise DependencyError(f"kafka.bootstrap_servers: creating topic {topic} at {settings.bootstrap_servers} "
                                  f"took more than {timeout:g} s") from None
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise DependencyError(
                    f"kafka.bootstrap_servers: cannot create topic {topic}: {exc.args[0].str()}"
                ) from None
    return created
