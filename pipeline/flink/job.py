"""The production job: Kafka family topics -> parse -> enrich (cache in front) -> index; dead letters to Kafka."""

from __future__ import annotations

import json

from pyflink.common import Time, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import AsyncDataStream, DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)
from pyflink.java_gateway import get_gateway

from pipeline.config import Settings
from pipeline.flink.environment import make_environment
from pipeline.flink.functions import DEAD_LETTERS, Enrich, ParseEvents, WriteToIndex, index_shard
from pipeline.index.documents import storage_pattern
from pipeline.kafka.topics import family_topics

__all__ = ["build_kafka_job", "enrich_stream"]

JOB_NAME = "botes-enrichment"


def _starting_offsets(settings: Settings) -> KafkaOffsetsInitializer:
    # The committed offsets of the group, else earliest/latest. Built through the JVM gateway: the
    # connector jar is unshaded, and PyFlink's helper names the shaded OffsetResetStrategy class.
    jvm = get_gateway().jvm
    strategy = getattr(jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy,
                       settings.kafka.starting_offsets.upper())
    initializer = jvm.org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer
    return KafkaOffsetsInitializer(initializer.committedOffsets(strategy))


def enrich_stream(events: DataStream, settings: Settings, summary_dir: str | None = None) -> DataStream:
    """Event JSON -> enriched event JSON, many lookups in flight (order not kept)."""
    return AsyncDataStream.unordered_wait(
        events, Enrich(settings, summary_dir), Time.milliseconds(0), settings.flink.async_capacity,
        Types.STRING(),
    ).name("enrich")


def build_kafka_job(settings: Settings) -> StreamExecutionEnvironment:
    env = make_environment(settings.flink, with_kafka=True)
    source = (
        KafkaSource.builder()
        .set_bootstrap_servers(settings.kafka.bootstrap_servers)
        .set_topics(*family_topics(settings.kafka))
        .set_group_id(settings.kafka.group_id)
        .set_starting_offsets(_starting_offsets(settings))
        .set_value_only_deserializer(SimpleStringSchema())
        .set_property("commit.offsets.on.checkpoint", "true")
        .set_property("partition.discovery.interval.ms", "30000")
        .build()
    )
    messages = env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka-events")
    parsed = messages.process(ParseEvents(), output_type=Types.STRING()).name("parse")
    shards = settings.flink.parallelism
    refused = (
        enrich_stream(parsed, settings)
        .key_by(lambda value: index_shard(value, shards), key_type=Types.INT())
        .process(WriteToIndex(settings), output_type=Types.STRING())
        .name("index")
    )
    dead_letters = parsed.get_side_output(DEAD_LETTERS).union(refused)
    dead_letters.sink_to(_dead_letter_sink(settings)).name("dead-letters")
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
