"""PyFlink functions that adapt the pipeline's pure parts (normalise, enrich chain, index writer) to Flink.

Records travel between operators as JSON strings: cheap to pickle and the wire form everything else uses.
No decision about an event is made here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pyflink.common import Types
from pyflink.datastream import AsyncFunction, OutputTag, ProcessFunction, RuntimeContext

from pipeline.cache import Cache, open_cache, with_cache
from pipeline.cache.metrics import metrics_summary
from pipeline.config import Settings
from pipeline.enrich import EnrichmentChain, build_enrichers
from pipeline.enrich.chain import FAILURES_FIELD, Progress, mark_chain_error
from pipeline.events import Event, Rejected, encode_event, get_path
from pipeline.index.documents import index_document
from pipeline.index.rollover import already_stored_lookup, rollover_guard
from pipeline.index.writer import BulkIndexer, Created, Refused, elasticsearch_sender, open_client
from pipeline.kafka.deadletters import Origin, dead_letter_record, encode_dead_letter
from pipeline.kafka.lag import GroupLag
from pipeline.kafka.messages import parse_message
from pipeline.kafka.topics import family_topics
from pipeline.normalize import Normalizer
from pipeline.normalize.complete import LogstashCompletion, is_from_logstash

__all__ = ["DEAD_LETTERS", "NEEDS_IO", "NormalizeAndEnrich", "Enrich", "FinishEnrichment", "IndexMessages",
           "health_line"]

log = logging.getLogger(__name__)

# Side output for records that cannot go on: they carry the stage, the reason and the original text.
DEAD_LETTERS = OutputTag("dead-letters", Types.STRING())


def _dead_letter(rejected: Rejected, stage: str) -> tuple[OutputTag, str]:
    return DEAD_LETTERS, json.dumps(rejected.as_record(stage))


class _EnrichingOperator:
    """What every operator that runs the enrichment chain has: its chain (one per operator instance, with its
    in-process cache), counts read by Flink gauges, and, in embedded mode, the lookup summary it leaves in
    ``summary_dir`` when it closes (`botes run` adds up the workers' summaries and prints them)."""

    def __init__(self, settings: Settings, summary_dir: str | None = None) -> None:
        self._settings = settings
        self._summary_dir = summary_dir
        self._chain: EnrichmentChain | None = None
        self._cache: Cache | None = None
        self._logged_bug = False

    def _build_chain(self) -> EnrichmentChain:
        self._cache = open_cache(self._settings)
        self._chain = EnrichmentChain(with_cache(build_enrichers(self._settings), self._cache, self._settings))
        return self._chain

    def _register_metrics(self, runtime_context: RuntimeContext) -> None:
        # Plain counts read by gauges: PyFlink counters only count in the harness's own thread, and an
        # async function runs on its event loop's thread (gauges are read when a bundle finishes).
        self._counts = dict.fromkeys(("events_enriched", "lookup_failures"), 0)
        metrics = runtime_context.get_metrics_group()
        for name in self._counts:
            metrics.gauge(name, lambda name=name: self._counts[name])
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

    def _write_summary(self) -> None:
        if self._summary_dir and self._chain is not None:
            path = Path(self._summary_dir) / f"lookups-{uuid.uuid4().hex}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(self.summary()))

    def _marked(self, event: Event, exc: Exception) -> Event:
        """The event the chain raised on, marked: it goes on instead of stopping the job."""
        if not self._logged_bug:
            self._logged_bug = True
            log.exception("the enrichment chain raised; such events are indexed with a failure marker",
                          exc_info=exc)
        return mark_chain_error(event, exc)

    def _counted(self, event: Event) -> Event:
        self._counts["events_enriched"] += 1
        failures = get_path(event, FAILURES_FIELD)
        if isinstance(failures, list):
            self._counts["lookup_failures"] += len(failures)
        return event


# Side output of NormalizeAndEnrich: events whose enrichment must wait for I/O, as Progress records (JSON).
NEEDS_IO = OutputTag("needs-io", Types.STRING())


class NormalizeAndEnrich(_EnrichingOperator, ProcessFunction):  # type: ignore[misc]
    """BOTES line of one file -> enriched ECS event JSON, in one operator (embedded mode reads the files itself).

    An event whose every lookup is answered in memory (the local sources, the in-process cache) is finished
    here (``EnrichmentChain.enrich_now``) and goes out as JSON; one that needs I/O goes to the ``NEEDS_IO``
    side output, part way through the chain, for FinishEnrichment. No JSON hop between normalising and
    enriching, and a warm event never crosses the async operator. Rejected lines go to ``DEAD_LETTERS``.

    Lines arrive decoded as ISO-8859-1, which maps every byte to one character, so encoding them back
    gives the exact bytes of the file: bad UTF-8 is then rejected exactly as `botes replay` rejects it.

    Flink's text format gives no line numbers, so this operator counts them: a text file is one split,
    read from its start by one reader, and the file's source and this operator both run at parallelism 1
    (see embedded.py), so every line of the file arrives here, blank ones included, in file order.
    The count is kept per element (one add); the "file:line" text is built only for a rejected line.
    (Flink's reader also ends a line at a lone CR, which `read_lines` does not: in a file with bare CRs
    inside lines the numbers differ from `botes replay`'s after the first one.)
    """

    def __init__(self, settings: Settings, source_type: str, file_name: str, summary_dir: str | None = None) -> None:
        super().__init__(settings, summary_dir)
        self._source_type = source_type
        self._file_name = file_name

    def open(self, runtime_context: RuntimeContext) -> None:
        self._normalizer = Normalizer(self._settings.normalize.default_timezone)
        self._line_number = 0
        self._build_chain()  # no I/O here: only its in-memory answers are used
        self._register_metrics(runtime_context)

    def close(self) -> None:
        self._write_summary()

    def process_element(self, value: str, ctx: ProcessFunction.Context) -> Iterator[Any]:
        self._line_number += 1
        line = value.encode("latin-1")
        if not line.strip():
            return
        event = self._normalizer.normalize_line(line, self._source_type)
        if isinstance(event, Rejected):
            yield _dead_letter(replace(event, location=f"{self._file_name}:{self._line_number}"), "normalize")
            return
        chain = self._chain
        assert chain is not None  # built in open()
        try:
            progress = chain.enrich_now(event)
            enriched = chain.done(progress)
        except Exception as exc:
            enriched = self._marked(event, exc)
        if enriched is None:
            yield NEEDS_IO, encode_event(progress.as_record())
        else:
            yield encode_event(self._counted(enriched))


class Enrich(_EnrichingOperator, AsyncFunction):  # type: ignore[misc]
    """Runs the enrichment chain on event JSON; Flink drives it on its own event loop, many events in flight.

    Clients are built on the first call, inside that loop, because async clients bind to the loop
    that first uses them. Each source enforces its own timeout, so no operator timeout is set.
    """

    def __init__(self, settings: Settings, summary_dir: str | None = None) -> None:
        super().__init__(settings, summary_dir)
        self._building: asyncio.Lock | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._register_metrics(runtime_context)

    def close(self) -> None:
        self._write_summary()

    async def _get_chain(self) -> EnrichmentChain:
        if self._chain is None:
            if self._building is None:
                self._building = asyncio.Lock()
            async with self._building:
                if self._chain is None:
                    self._build_chain()
        assert self._chain is not None
        return self._chain

    async def async_invoke(self, value: str) -> list[str]:
        return [json.dumps(await self._enrich(json.loads(value)))]

    async def _enrich(self, event: Event) -> Event:
        """The enriched event; a source that breaks on it (a bug, hostile field types) marks the event
        instead of stopping it, like any failed lookup."""
        chain = await self._get_chain()
        try:
            event = await chain.enrich(event)
        except Exception as exc:
            event = self._marked(event, exc)
        return self._counted(event)


class FinishEnrichment(Enrich):
    """The rest of the chain for the events NormalizeAndEnrich could not finish without I/O (``NEEDS_IO``):
    Progress JSON in, enriched event JSON out, many in flight."""

    async def async_invoke(self, value: str) -> list[str]:
        progress = Progress.from_record(json.loads(value))  # json, not orjson: exact integers beyond 64 bits
        chain = await self._get_chain()
        try:
            event = await chain.finish(progress)
        except Exception as exc:
            event = self._marked(progress.event, exc)
        return [encode_event(self._counted(event))]


# The job's counts, as Flink metrics (gauges: see Enrich.open) and in the health line.
_COUNTERS = ("events_in", "events_rejected", "documents_indexed", "documents_duplicate", "documents_refused",
             "dead_lettered")


def _cache_hit_ratio(summary: dict[str, Any]) -> float | None:
    """Share of cached lookups answered by a cache tier (memory, then Redis) instead of the source."""
    tiers = summary.get("cache", {})
    first = tiers.get("memory") or next(iter(tiers.values()), None)
    if not first:
        return None
    lookups = first["hits"] + first["misses"]
    hits = sum(tier["hits"] for tier in tiers.values())
    return hits / lookups if lookups else None


def health_line(counts: dict[str, int], cache_hit_ratio: float | None, consumer_lag: int | None) -> str:
    ratio = "-" if cache_hit_ratio is None else f"{cache_hit_ratio:.1%}"
    lag = "-" if consumer_lag is None else str(consumer_lag)
    return (f"health: {counts['events_in']} events in, {counts['documents_indexed']} indexed "
            f"(+{counts['documents_duplicate']} already there), {counts['dead_lettered']} dead-lettered, "
            f"{counts['lookup_failures']} lookup "
            f"failures, cache hit ratio {ratio}, consumer lag {lag}, {counts['waiting']} waiting for the index")


class IndexMessages(Enrich):
    """The production job's one Python step: Kafka message -> parse (a Logstash pipeline's event completed)
    -> enrich -> index.

    Input rows are (topic, partition, offset, timestamp, value); the output is the message's dead letter,
    if it has one (not an event, or refused by the index), with its reason, payload and origin.

    At-least-once into the index, by construction: a call returns only once the index has taken the
    document (or refused it for good), and Flink never lets a checkpoint pass a call in flight. PyFlink's
    async operator does not store in-flight elements in the checkpoint (as Java's AsyncWaitOperator does);
    it drains them instead: before each checkpoint barrier the Java operator finishes the current bundle
    (AbstractPythonFunctionOperator.prepareSnapshotPreBarrier -> invokeFinishBundle, flink-python), and the
    Python side only finishes a bundle once its queue of in-flight elements is empty
    (pyflink/fn_execution/datastream/process/async_function/operation.py: AsyncOperation.finish ->
    _wait_for_in_flight_inputs_finished). So every message before a completed checkpoint's offsets is in
    the index or in the dead-letter topic (the Kafka sink flushes on the same checkpoint); after a crash
    the job re-reads from those offsets, and ``create`` with the deterministic id makes re-reads harmless.
    Nothing is buffered across calls: the documents of in-flight calls share bulk requests (BulkIndexer).
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._indexer: BulkIndexer | None = None
        self._consumer_lag: int | None = None
        self._logstash = LogstashCompletion()

    def open(self, runtime_context: RuntimeContext) -> None:
        super().open(runtime_context)
        metrics = runtime_context.get_metrics_group()
        for name in _COUNTERS:
            self._counts[name] = 0
            metrics.gauge(name, lambda name=name: self._counts[name])
        # Lag is the group's, over all partitions: one worker measures it (-1 until it has), the others
        # report 0, so the workers' values add up.
        measures_lag = runtime_context.get_index_of_this_subtask() == 0
        metrics.gauge("consumer_lag", lambda: -1 if self._consumer_lag is None else self._consumer_lag)
        if not measures_lag:
            self._consumer_lag = 0
        self._measures_lag = measures_lag
        metrics.gauge("index_waiting", lambda: self._indexer.stats.waiting if self._indexer else 0)
        metrics.gauge("index_retries", lambda: self._indexer.stats.retries if self._indexer else 0)
        metrics.gauge("cache_hit_ratio_percent", lambda: round(100 * (self._hit_ratio() or 0)))
        self._stop_health = threading.Event()
        self._health = threading.Thread(target=self._report_health, name="botes-health", daemon=True)
        self._health.start()

    def close(self) -> None:
        self._stop_health.set()
        super().close()

    def _hit_ratio(self) -> float | None:
        try:
            return _cache_hit_ratio(self.summary())
        except RuntimeError:  # the event loop changed a counter while we read it
            return None

    def _report_health(self) -> None:
        """The health thread: measures the lag (off the event loop: it asks Kafka) and logs the line."""
        lag = GroupLag(self._settings.kafka, family_topics(self._settings.kafka)) if self._measures_lag else None
        try:
            while not self._stop_health.wait(self._settings.flink.health_interval):
                if lag is not None:
                    self._consumer_lag = lag.measure()
                counts = {**self._counts, "waiting": self._indexer.stats.waiting if self._indexer else 0}
                log.info(health_line(counts, self._hit_ratio(), self._consumer_lag))
        finally:
            if lag is not None:
                lag.close()

    def _get_indexer(self) -> BulkIndexer:
        if self._indexer is None:  # inside the event loop: its tasks and futures belong to it
            index = self._settings.index
            client = open_client(index, max_retries=0)
            guard = rollover_guard(client, index)  # None for plain indices
            self._indexer = BulkIndexer(
                elasticsearch_sender(client), max_actions=index.bulk_actions,
                max_bytes=index.bulk_bytes, max_requests=index.bulk_requests, linger=index.flush_interval,
                backoff=index.retry_backoff, max_backoff=index.retry_max_backoff,
                already_stored=already_stored_lookup(guard) if guard else None)
        return self._indexer

    def _count(self, *names: str) -> None:
        for name in names:
            self._counts[name] += 1

    async def async_invoke(self, message: Any) -> list[str]:
        topic, partition, offset, timestamp, value = message[0], message[1], message[2], message[3], message[4]
        if topic is None:  # a tick: it only lets the operator finish bundles, and so report its metrics
            return []
        origin = Origin(topic, partition, offset, timestamp.to_epoch_milli() if timestamp is not None else None)
        self._count("events_in")
        event = parse_message(value, self._settings.kafka.max_message_bytes)
        if isinstance(event, Rejected):
            self._count("events_rejected", "dead_lettered")
            return [encode_dead_letter(dead_letter_record("parse", event, origin, payload=value))]
        if is_from_logstash(event):
            event = self._logstash.complete(event)  # the document `botes replay` makes of the same line
            if isinstance(event, Rejected):
                self._count("events_rejected", "dead_lettered")
                return [encode_dead_letter(dead_letter_record("normalize", event, origin, payload=value))]
        event = await self._enrich(event)
        doc = index_document(event, self._settings.index, self._settings.kafka.routing)
        outcome = await self._get_indexer().index(doc)
        if isinstance(outcome, Refused):
            self._count("documents_refused", "dead_lettered")
            rejected = Rejected(outcome.reason, value.decode("utf-8") if value else "")
            return [encode_dead_letter(dead_letter_record("index", rejected, origin, payload=value,
                                                          index=doc.index, id=doc.id))]
        self._count("documents_indexed" if isinstance(outcome, Created) else "documents_duplicate")
        return []
