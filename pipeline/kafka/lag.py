"""Consumer lag of the job's group: how many messages its topics hold beyond the offsets it committed.

This is the lag Kafka's own tools report (kafka-consumer-groups --describe). The job commits its offsets
when a checkpoint completes, so the figure moves in steps of the checkpoint interval. (Flink's Kafka source
also exposes the lag of its own fetches as the metric ``pendingRecords``.)

The end of each partition is the high watermark a fetch reports, not the answer to a ListOffsets request:
some Kafka-compatible brokers (tansu among them) answer that one with an offset that is too low. So the
probe fetches one small batch at the committed offset of each partition (reading ends there).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from pipeline.config import KafkaSettings

__all__ = ["GroupLag"]


class GroupLag:
    def __init__(self, settings: KafkaSettings, topics: Sequence[str], timeout: float = 5.0) -> None:
        self._topics = list(topics)
        self._timeout = timeout
        # Never subscribes, so it never joins (or disturbs) the job's group; fetches stay tiny.
        self._consumer = Consumer({
            "bootstrap.servers": settings.bootstrap_servers, "group.id": settings.group_id,
            "enable.auto.commit": False, "enable.partition.eof": True, "queued.min.messages": 1,
            "message.max.bytes": 1000, "fetch.max.bytes": 65536, "max.partition.fetch.bytes": 65536,
            "fetch.wait.max.ms": 10})

    def measure(self) -> int | None:
        """Messages not yet committed, over every partition of the topics; None if Kafka does not answer."""
        try:
            partitions = [TopicPartition(topic, partition)
                          for topic, meta in self._consumer.list_topics(timeout=self._timeout).topics.items()
                          if topic in self._topics for partition in meta.partitions]
            starts = [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                      for tp in self._consumer.committed(partitions, timeout=self._timeout)]
            return self._lag_from(starts)
        except KafkaException:
            return None

    def _lag_from(self, starts: list[TopicPartition]) -> int | None:
        self._consumer.assign(starts)
        self._consumer.resume(starts)  # paused by the previous measurement
        waiting = {(tp.topic, tp.partition) for tp in starts}
        deadline = time.monotonic() + self._timeout
        while waiting and time.monotonic() < deadline:
            message = self._consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            key = (message.topic(), message.partition())
            if key in waiting and (error is None or error.code() == KafkaError._PARTITION_EOF):
                waiting.discard(key)
                # Paused, so that fetches for a partition with much to read do not starve the others.
                self._consumer.pause([TopicPartition(*key)])
        if waiting:
            return None
        lag = 0
        for tp in starts:
            low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            lag += max(0, high - (tp.offset if tp.offset >= 0 else max(low, 0)))
        return lag

    def close(self) -> None:
        self._consumer.close()
