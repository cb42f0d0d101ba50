"""The Flink execution environment: Python executable, parallelism, checkpoints and connector jars."""

from __future__ import annotations

import sys
from pathlib import Path

from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment

from pipeline.config import FlinkSettings
from pipeline.flink.jars import kafka_jars

__all__ = ["make_environment"]


def make_environment(settings: FlinkSettings, with_kafka: bool) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_executable(sys.executable)
    env.set_parallelism(settings.parallelism)
    if with_kafka:
        env.add_jars(*(Path(jar).resolve().as_uri() for jar in kafka_jars(settings.jars_dir)))
        env.enable_checkpointing(int(settings.checkpoint_interval * 1000), CheckpointingMode.AT_LEAST_ONCE)
    return env
