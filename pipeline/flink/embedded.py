"""Embedded mode: the same enrichment on the local Flink MiniCluster, BOTES files in, NDJSON out.

No Kafka, Redis or index server: the cache is in-process. Records that cannot be normalised are
collected with their reason and written next to the output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyflink.common import Types, WatermarkStrategy
from pyflink.datastream import DataStream
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat

from pipeline.config import Settings
from pipeline.flink.environment import make_environment
from pipeline.flink.functions import DEAD_LETTERS, NormalizeLines
from pipeline.flink.job import enrich_stream
from pipeline.normalize import BotesFile

__all__ = ["EmbeddedReport", "run_embedded"]

_EVENT, _REJECTED = "event", "rejected"


@dataclass(slots=True)
class EmbeddedReport:
    events: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)


def _tagged(stream: DataStream, tag: str) -> DataStream:
    return stream.map(lambda value: (tag, value),
                      output_type=Types.TUPLE([Types.STRING(), Types.STRING()]))


def run_embedded(settings: Settings, files: Sequence[BotesFile], output: Path,
                 on_event: Callable[[], None] = lambda: None) -> EmbeddedReport:
    settings = settings.model_copy(update={"cache": settings.cache.model_copy(update={"backend": "memory"})})
    env = make_environment(settings.flink, with_kafka=False)
    normalized: list[DataStream] = []
    for botes_file in files:
        source = FileSource.for_record_stream_format(
            StreamFormat.text_line_format(), str(botes_file.path.resolve())).build()
        lines = env.from_source(source, WatermarkStrategy.no_watermarks(), f"read {botes_file.path.name}")
        normalized.append(lines.process(
            NormalizeLines(botes_file.source_type, str(botes_file.path)), output_type=Types.STRING()
        ).name(f"normalize {botes_file.source_type}"))
    events = normalized[0].union(*normalized[1:]) if len(normalized) > 1 else normalized[0]
    rejected = [stream.get_side_output(DEAD_LETTERS) for stream in normalized]
    results = _tagged(enrich_stream(events, settings), _EVENT).union(
        *(_tagged(stream, _REJECTED) for stream in rejected))

    report = EmbeddedReport()
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as out, results.execute_and_collect("botes-embedded") as rows:
        for tag, value in rows:
            if tag == _EVENT:
                out.write(value + "\n")
                report.events += 1
                on_event()
            else:
                report.rejected.append(json.loads(value))
    return report
