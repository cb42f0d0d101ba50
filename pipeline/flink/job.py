"""The production job: Kafka family topics -> parse -> enrich (cache in front) -> index; dead letters to Kafka.

    kafka_messages (topic, partition, offset, timestamp, value), plus a tick a second (see kafka_messages)
      -> IndexMessages (async: parse, enrich, bulk-index; returns dead letters)
      -> KafkaSink (dead-letter topic)

The source is the Kafka connector's table source with the raw format and metadata columns, turned into a
DataStream: PyFlink's DataStream KafkaSource only hands Python the value, and a dead letter must say where
its message came from. It needs nothing beyond the connector jar (no compiled Java of our own), so it runs
the same on the local cluster and in the compose images; it reads as fast as the value-only source
(bench/cluster.py). Offsets are committed to the group when a checkpoint completes.
"""

from __future__ import annotations

import json

from pyflink.common import Time, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import AsyncDataStream, DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink
from pyflink.table import StreamTableEnvironment

from pipeline.config import KafkaSettings, Settings
from pipeline.flink.environment import make_environment
from pipeline.flink.functions import IndexMessages
from pipeline.index.documents import storage_pattern
from pipeline.kafka.topics import family_topics

__all__ = ["JOB_NAME", "build_kafka_job", "kafka_messages", "describe"]

JOB_NAME = "botes-enrichment"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def kafka_messages(env: StreamExecutionEnvironment, settings: KafkaSettings, ticks: bool = False) -> DataStream:
    """Every message of the family topics as a row (topic, partition, offset, timestamp, value bytes),
    from the group's committed offsets (else ``kafka.starting_offsets``).

    ``ticks``: mixed in, one row a second with no topic. PyFlink reports a Python operator's metrics only
    when it finishes a bundle, and an operator that receives nothing finishes none: without ticks an idle
    job's metrics (the consumer lag above all) would stay at their last value for ever.
    """
    t_env = StreamTableEnvironment.create(env)
    options = {
        "connector": "kafka",
        "topic": ";".join(family_topics(settings)),
        "properties.bootstrap.servers": settings.bootstrap_servers,
        "properties.group.id": settings.group_id,
        "properties.auto.offset.reset": settings.starting_offsets,
        "properties.commit.offsets.on.checkpoint": "true",
        # A message can be as large as kafka.max_message_bytes; the parse step refuses anything larger.
        "properties.max.partition.fetch.bytes": str(max(1_048_576, settings.max_message_bytes)),
        "scan.startup.mode": "group-offsets",
        "scan.topic-partition-discovery.interval": "30 s",
        "format": "raw",
    }
    t_env.execute_sql(
        "CREATE TEMPORARY TABLE kafka_messages (`topic` STRING METADATA VIRTUAL, "
        "`partition` INT METADATA VIRTUAL, `offset` BIGINT METADATA VIRTUAL, "
        "`timestamp` TIMESTAMP_LTZ(3) METADATA VIRTUAL, `value` BYTES) WITH ("
        + ", ".join(f"{_sql_string(key)} = {_sql_string(value)}" for key, value in options.items()) + ")")
    query = "SELECT `topic`, `partition`, `offset`, `timestamp`, `value` FROM kafka_messages"
    if ticks:
        t_env.execute_sql("CREATE TEMPORARY TABLE ticks (n INT) WITH "
                          "('connector' = 'datagen', 'rows-per-second' = '1')")
        query += (" UNION ALL SELECT CAST(NULL AS STRING), CAST(NULL AS INT), CAST(NULL AS BIGINT), "
                  "CAST(NULL AS TIMESTAMP_LTZ(3)), CAST(NULL AS BYTES) FROM ticks")
    return t_env.to_data_stream(t_env.sql_query(query))


def build_kafka_job(settings: Settings, jobmanager: str | None = None,
                    savepoint: str | None = None) -> StreamExecutionEnvironment:
    env = make_environment(settings.flink, with_kafka=True, jobmanager=jobmanager, savepoint=savepoint)
    # No operator timeout: every lookup has its own, and an unreachable index must hold the job back.
    dead_letters = AsyncDataStream.unordered_wait(
        kafka_messages(env, settings.kafka, ticks=True), IndexMessages(settings), Time.milliseconds(0),
        settings.flink.async_capacity, Types.STRING(),
    ).name("parse, enrich, index").uid("botes-index-messages")
    dead_letters.sink_to(_dead_letter_sink(settings)).name("dead-letters").uid("botes-dead-letters")
    return env


def _dead_letter_sink(settings: Settings) -> KafkaSink:
    return (
        KafkaSink.builder()
        .set_bootstrap_servers(settings.kafka.bootstrap_servers)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(settings.kafka.dead_letter_topic)
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build()
    )


def describe(settings: Settings) -> str:
    return json.dumps({"topics": family_topics(settings.kafka), "index": storage_pattern(settings.index)})
