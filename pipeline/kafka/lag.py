"""Consumer lag of the job's group: how many messages its topics hold beyond the offsets it committed.

This is the lag Kafka's own tools report (kafka-consumer-groups --describe): the job commits its offsets
when a checkpoint completes, so the figure moves in steps of the checkpoint interval. (Flink's Kafka source
also exposes its fetch lag as the metric ``pendingRecords``.)
"""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaException, TopicPartition

from pipeline.config import KafkaSettings

__all__ = ["GroupLag"]


class GroupLag:
    def __init__(self, settings: KafkaSettings, topics: Sequence[str], timeout: float = 5.0) -> None:
        self._topics = list(topics)
        self._timeout = timeout
        # Asks for offsets only: never subscribes, so it never joins (or disturbs) the job's group.
        self._consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": settings.group_id,
                                   "enable.auto.commit": False})

    def measure(self) -> int | None:
        """Messages not yet committed, over every partition of the topics; None if Kafka does not answer."""
        try:
            partitions = [TopicPartition(topic, partition)
                          for topic, meta in self._consumer.list_topics(timeout=self._timeout).topics.items()
                          if topic in self._topics for partition in meta.partitions]
            committed = self._consumer.committed(partitions, timeout=self._timeout)
            lag = 0
            for tp in committed:
                low, high = self._consumer.get_watermark_offsets(tp, timeout=self._timeout, cached=False)
                lag += max(0, high - (tp.offset if tp.offset >= 0 else low))
            return lag
        except KafkaException:
            return None

    def close(self) -> None:
        self._consumer.close()
