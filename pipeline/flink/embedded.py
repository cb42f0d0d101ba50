"""Embedded mode: the same enrichment on the local Flink MiniCluster, BOTES files in, NDJSON out.

    per file: FileSource (lines) -> NormalizeAndEnrich (normalise, enrich what memory answers) --> events
                                      |-- NEEDS_IO -> FinishEnrichment (async: lookups that wait) --> events
                                      `-- DEAD_LETTERS (rejected lines, with file:line) --> rejected

No Kafka, Redis or index server: the cache is in-process. The job runs in batch mode and writes part
files with Flink's FileSink (collecting results through the client is ~10x slower); they are then
joined into the one output file. Records that cannot be normalised are kept with their reason.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyflink.common import Encoder, Time, Types, WatermarkStrategy
from pyflink.datastream import AsyncDataStream, DataStream, RuntimeExecutionMode
from pyflink.datastream.connectors.file_system import BucketAssigner, FileSink, FileSource, StreamFormat

from pipeline.cache.metrics import merge_summaries
from pipeline.config import Settings
from pipeline.flink.environment import make_environment
from pipeline.flink.functions import DEAD_LETTERS, NEEDS_IO, FinishEnrichment, NormalizeAndEnrich
from pipeline.normalize import BotesFile

__all__ = ["EmbeddedReport", "run_embedded"]


@dataclass(slots=True)
class EmbeddedReport:
    events: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    lookups: dict[str, Any] = field(default_factory=dict)  # cache and source metrics, all workers


def _file_sink(directory: Path) -> FileSink:
    return (FileSink.for_row_format(str(directory), Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .build())


def _read_lines(source: BotesFile, env: Any) -> DataStream:
    # ISO-8859-1 maps each byte to one character, so NormalizeAndEnrich recovers the file's exact bytes.
    file_source = FileSource.for_record_stream_format(
        StreamFormat.text_line_format("ISO-8859-1"), str(source.path.resolve())).build()
    # Parallelism 1: a text file is one split anyway, and NormalizeAndEnrich counts its lines in order.
    return (env.from_source(file_source, WatermarkStrategy.no_watermarks(), f"read {source.path.name}")
            .set_parallelism(1))


def _union(streams: list[DataStream]) -> DataStream:
    return streams[0].union(*streams[1:]) if len(streams) > 1 else streams[0]


def _part_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))


def run_embedded(settings: Settings, files: Sequence[BotesFile], output: Path) -> EmbeddedReport:
    settings = settings.model_copy(update={"cache": settings.cache.model_copy(update={"backend": "memory"})})
    env = make_environment(settings.flink, with_kafka=False)
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    work = output.parent / f".{output.name}.parts"
    shutil.rmtree(work, ignore_errors=True)

    summaries = str(work / "lookups")
    per_file = [
        _read_lines(botes_file, env)
        .process(NormalizeAndEnrich(settings, botes_file.source_type, str(botes_file.path), summaries),
                 output_type=Types.STRING())
        .set_parallelism(1)
        .name(f"normalise + enrich {botes_file.source_type}")
        for botes_file in files
    ]
    # No operator timeout: every lookup has its own.
    finished = AsyncDataStream.unordered_wait(
        _union([stream.get_side_output(NEEDS_IO) for stream in per_file]), FinishEnrichment(settings, summaries),
        Time.milliseconds(0), settings.flink.async_capacity, Types.STRING(),
    ).name("finish enrichment (lookups with I/O)")
    _union([*per_file, finished]).sink_to(_file_sink(work / "events")).name("enriched events")
    _union([stream.get_side_output(DEAD_LETTERS) for stream in per_file]).sink_to(
        _file_sink(work / "rejected")).name("rejected records")
    env.execute("botes-embedded")

    report = EmbeddedReport()
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as out:
        for part in _part_files(work / "events"):
            with part.open(encoding="utf-8") as lines:
                for line in lines:
                    out.write(line)
                    report.events += 1
    for part in _part_files(work / "rejected"):
        report.rejected.extend(json.loads(line) for line in part.open(encoding="utf-8"))
    report.lookups = merge_summaries(json.loads(p.read_text()) for p in _part_files(work / "lookups"))
    shutil.rmtree(work, ignore_errors=True)
    return report
