"""Kafka: a topic per event family, and replay of BOTES files into those topics."""

from pipeline.kafka.replay import ReplayReport, replay_files
from pipeline.kafka.topics import create_topics, family_topics, topic_for

__all__ = ["ReplayReport", "replay_files", "create_topics", "family_topics", "topic_for"]
