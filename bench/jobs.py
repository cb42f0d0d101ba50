"""The Flink baselines: jobs that do what the pipeline's jobs do, minus the pipeline's own work.

    python bench/jobs.py passthrough INPUT_DIR OUTPUT_DIR PARALLELISM
    python bench/jobs.py kafka-identity          # settings from BOTES_* as for `botes run`

- ``passthrough``: FileSource over the ``botesv1.*.json`` files -> ``json.dumps(json.loads(line))`` ->
  FileSink, in batch mode: the engine's own ceiling for a Python job over these lines.
- ``kafka-identity``: the production Kafka job (Kafka -> parse, enrich, index in one operator) with the
  enrichment step doing nothing.

Each runs in its own process: a PyFlink client leaves gateway variables in its environment that would make
later ``botes`` subprocesses believe they are Flink workers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def passthrough(inputs: Path, out: Path, parallelism: int) -> None:
    from pyflink.common import Encoder, Types, WatermarkStrategy
    from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
    from pyflink.datastream.connectors.file_system import FileSink, FileSource, StreamFormat

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_executable(sys.executable)
    env.set_parallelism(parallelism)
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    files = [str(p) for p in sorted(inputs.glob("botesv1.*.json"))]
    lines = env.from_source(FileSource.for_record_stream_format(StreamFormat.text_line_format(), *files).build(),
                            WatermarkStrategy.no_watermarks(), "read")
    (lines.map(lambda line: json.dumps(json.loads(line)), output_type=Types.STRING())
     .sink_to(FileSink.for_row_format(str(out), Encoder.simple_string_encoder()).build()))
    env.execute("bench-passthrough")


def kafka_identity() -> None:
    from pipeline.config import load_settings
    from pipeline.flink import job
    from pipeline.flink.functions import IndexMessages

    class IndexWithoutEnrichment(IndexMessages):
        async def _enrich(self, event: Any) -> Any:
            return event

    # The job's own graph with one step swapped: its operator parses and indexes, but enriches nothing.
    job.IndexMessages = IndexWithoutEnrichment  # type: ignore[attr-defined]
    job.build_kafka_job(load_settings()).execute(job.JOB_NAME + "-identity")


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "passthrough":
        passthrough(Path(args[0]), Path(args[1]), int(args[2]))
    elif command == "kafka-identity":
        kafka_identity()
    else:
        raise SystemExit(f"unknown job {command!r}")


if __name__ == "__main__":
    main()
