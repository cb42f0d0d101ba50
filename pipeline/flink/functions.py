"""PyFlink functions that adapt the pipeline's pure parts (normalise, enrich chain, index writer) to Flink.

Records travel between operators as JSON strings: cheap to pickle and the wire form everything else uses.
No decision about an event is made here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pyflink.common import Types
from pyflink.datastream import (
    AsyncFunction,
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    RuntimeContext,
)

from pipeline.cache import Cache, open_cache, with_cache
from pipeline.cache.metrics import metrics_summary
from pipeline.config import Settings
from pipeline.enrich import EnrichmentChain, build_enrichers
from pipeline.events import Event, Rejected
from pipeline.index.documents import index_document
from pipeline.index.rollover import rollover_guard
from pipeline.index.writer import IndexDoc, IndexWriter, open_client
from pipeline.normalize import Normalizer
from pipeline.normalize.complete import LogstashCompletion, is_from_logstash
from pipeline.normalize.records import parse_record

__all__ = ["DEAD_LETTERS", "ParseEvents", "NormalizeLines", "Enrich", "WriteToIndex", "index_shard"]

log = logging.getLogger(__name__)

# Side output for records that cannot go on: they carry the stage, the reason and the original text.
DEAD_LETTERS = OutputTag("dead-letters", Types.STRING())


def _dead_letter(rejected: Rejected, stage: str) -> tuple[OutputTag, str]:
    return DEAD_LETTERS, json.dumps(rejected.as_record(stage))


class ParseEvents(ProcessFunction):  # type: ignore[misc]
    """Kafka message -> ECS event JSON (a Logstash pipeline's event completed first); anything else -> dead letters."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self._rejected = runtime_context.get_metrics_group().counter("events_rejected")
        self._logstash = LogstashCompletion()

    def process_element(self, value: str, ctx: ProcessFunction.Context) -> Iterator[Any]:
        record = parse_record(value)
        if isinstance(record, dict) and is_from_logstash(record):
            completed = self._logstash.complete(record)  # the document `botes replay` makes of the same line
            if isinstance(completed, Rejected):
                self._rejected.inc()
            yield _dead_letter(completed, "normalize") if isinstance(completed, Rejected) else json.dumps(completed)
            return
        if isinstance(record, Rejected):
            reason = record.reason
        elif not isinstance(record.get("event"), dict) or "dataset" not in record["event"]:
            reason = "not an ECS event from `botes replay` (no event.dataset)"
        else:
            yield value
            return
        self._rejected.inc()
        yield _dead_letter(Rejected(reason, value), "parse")


class NormalizeLines(ProcessFunction):  # type: ignore[misc]
    """BOTES line of one file -> ECS event JSON (embedded mode reads the files itself).

    Lines arrive decoded as ISO-8859-1, which maps every byte to one character, so encoding them back
    gives the exact bytes of the file: bad UTF-8 is then rejected exactly as `botes replay` rejects it.

    Flink's text format gives no line numbers, so this operator counts them: a text file is one split,
    read from its start by one reader, and the file's source and this operator both run at parallelism 1
    (see embedded.py), so every line of the file arrives here, blank ones included, in file order.
    The count is kept per element (one add); the "file:line" text is built only for a rejected line.
    (Flink's reader also ends a line at a lone CR, which `read_lines` does not: in a file with bare CRs
    inside lines the numbers differ from `botes replay`'s after the first one.)
    """

    def __init__(self, source_type: str, file_name: str, default_timezone: str = "UTC") -> None:
        self._source_type = source_type
        self._file_name = file_name
        self._default_timezone = default_timezone

    def open(self, runtime_context: RuntimeContext) -> None:
        self._normalizer = Normalizer(self._default_timezone)
        self._line_number = 0

    def process_element(self, value: str, ctx: ProcessFunction.Context) -> Iterator[Any]:
        self._line_number += 1
        line = value.encode("latin-1")
        if not line.strip():
            return
        result = self._normalizer.normalize_line(line, self._source_type)
        if isinstance(result, Rejected):
            yield _dead_letter(replace(result, location=f"{self._file_name}:{self._line_number}"), "normalize")
        else:
            yield json.dumps(result)


class Enrich(AsyncFunction):  # type: ignore[misc]
    """Runs the enrichment chain; Flink drives it on its own event loop, many events in flight.

    Clients are built on the first call, inside that loop, because async clients bind to the loop
    that first uses them. Each source enforces its own timeout, so no operator timeout is set.
    """

    def __init__(self, settings: Settings, summary_dir: str | None = None) -> None:
        self._settings = settings
        self._summary_dir = summary_dir  # embedded mode: where each worker leaves its lookup summary
        self._chain: EnrichmentChain | None = None
        self._cache: Cache | None = None
        self._building: asyncio.Lock | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        metrics = runtime_context.get_metrics_group()
        self._enriched = metrics.counter("events_enriched")
        self._failures = metrics.counter("lookup_failures")
        self._register_lookup_gauges(metrics)

    def _register_lookup_gauges(self, metrics: Any) -> None:
        """Cache hits per tier and, per source, calls, failures, latency and breaker state."""
        def value(*path: str) -> Callable[[], int]:
            def read() -> int:
                try:
                    node: Any = self.summary()
                except RuntimeError:  # the event loop changed a counter while we read it: next time
                    return 0
                for part in path:
                    node = node.get(part, {}) if isinstance(node, dict) else {}
                if isinstance(node, dict):  # failures by reason: their total
                    return int(sum(node.values())) if node else 0
                return int(node) if isinstance(node, (int, float)) else int(node == "open")
            return read

        for tier in ("memory", "redis"):
            for stat in ("hits", "misses", "errors"):
                metrics.gauge(f"cache_{tier}_{stat}", value("cache", tier, stat))
        for name in self._settings.enrichers:
            for stat in ("calls", "failed", "latency_avg_ms", "latency_max_ms", "breaker", "rate_limit_wait_s"):
                metrics.gauge(f"{name}_{stat}", value("sources", name, stat))

    def summary(self) -> dict[str, Any]:
        if self._chain is None:
            return {}
        return metrics_summary(self._chain.enrichers, self._cache)

    def close(self) -> None:
        if self._summary_dir and self._chain is not None:
            path = Path(self._summary_dir) / f"lookups-{uuid.uuid4().hex}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(self.summary()))

    async def _get_chain(self) -> EnrichmentChain:
        if self._chain is None:
            if self._building is None:
                self._building = asyncio.Lock()
            async with self._building:
                if self._chain is None:
                    self._cache = open_cache(self._settings)
                    self._chain = EnrichmentChain(
                        with_cache(build_enrichers(self._settings), self._cache, self._settings))
        return self._chain

    async def async_invoke(self, value: str) -> list[str]:
        chain = await self._get_chain()
        event: Event = await chain.enrich(json.loads(value))
        self._enriched.inc()
        failures = event.get("botes", {}).get("enrichment", {}).get("failures")
        if failures:
            self._failures.inc(len(failures))
        return [json.dumps(event)]


def index_shard(value: str, shards: int) -> int:
    """Spreads documents over the writer's parallel instances."""
    return hash(value) % shards


class WriteToIndex(KeyedProcessFunction):  # type: ignore[misc]
    """Buffers documents and bulk-writes them when the batch is full or ``flush_interval`` has passed.

    Emits a dead-letter record for each document the index refuses (e.g. a mapping error).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings.index
        self._routing = settings.kafka.routing

    def open(self, runtime_context: RuntimeContext) -> None:
        client = open_client(self._settings)
        self._writer = IndexWriter(client)
        self._guard = rollover_guard(client, self._settings)  # None for plain indices
        self._buffer: list[IndexDoc] = []
        self._timer_due = False
        metrics = runtime_context.get_metrics_group()
        self._created = metrics.counter("documents_created")
        self._duplicates = metrics.counter("documents_duplicate")
        self._refused = metrics.counter("documents_refused")

    def process_element(self, value: str, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        event = json.loads(value)
        self._buffer.append(index_document(event, self._settings, self._routing))
        if len(self._buffer) >= self._settings.bulk_actions:
            yield from self._flush()
        elif not self._timer_due:
            self._timer_due = True
            due = ctx.timer_service().current_processing_time() + int(self._settings.flush_interval * 1000)
            ctx.timer_service().register_processing_time_timer(due)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        self._timer_due = False
        yield from self._flush()

    def _flush(self) -> Iterator[Any]:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        started = time.monotonic()
        batch, stored_before_rollover = self._guard.without_stored(batch) if self._guard else (batch, 0)
        result = self._writer.write(batch)
        log.debug("bulk wrote %d documents in %.3f s", len(batch), time.monotonic() - started)
        self._created.inc(result.created)
        self._duplicates.inc(result.duplicates + stored_before_rollover)
        self._refused.inc(len(result.rejected))
        for doc, reason in result.rejected:
            yield json.dumps({"stage": "index", "reason": reason, "raw": json.dumps(doc.source),
                              "index": doc.index, "id": doc.id})

    def close(self) -> None:
        # Timers flush normally; what is left at shutdown is written before the worker goes.
        for _ in self._flush():
            log.error("a document was refused by the index at shutdown; see the dead-letter topic")
