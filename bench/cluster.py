"""Events/s of the Kafka -> enrich -> index job on a real Flink cluster, for each way of writing to the index
that was considered, on the same input in the same run (issue 11). Also the Kafka sources considered.

    .venv/bin/python bench/cluster.py [--events 10000] [--rounds 2] [--parallelism 2] [--only writers|sources]

Servers and a Flink session cluster (one TaskManager) come from scripts/services.py. Input: SYNTHETIC
events from scripts/make_sample.py (half FortiGate traffic, half Suricata), published once; each job reads
them with its own consumer group into its own indices, parallelism 1, checkpoints every 10 s.

Writers (the job's last step), rate = events / (last document indexed - first document indexed):

- memory-buffer: the design issue 11 replaces (a keyed function buffering documents in a Python list,
  flushed by count or by a timer). The baseline, and unsafe: a checkpoint can pass documents still in the
  list, which a crash then loses.
- keyed-state: candidate (a), the same batch kept in Flink keyed ListState with a processing-time timer,
  restored with the checkpoint; the bulk write blocks the operator.
- async: candidate (b), the job as built (pipeline/flink/job.py): parse, enrich and index in one async
  operator, documents of in-flight events sharing bulk requests; Flink drains it before every barrier.
- async-10s-bundles: (b) with Python bundles of 10 s instead of PyFlink's 1 s: the async operator waits
  for its in-flight events at every bundle end, and fewer ends looked like a saving. Measured, it was not
  (so the shared settings keep PyFlink's default).
- async-capacity-256: (b) with 256 events in flight per worker instead of flink.async_capacity (1000):
  the events waiting for a bulk request take slots that enrichment could use.

--parallelism (default 2: one TaskManager's two slots, every core of this kind of machine busy, as a
cluster is meant to run) sets the job's parallelism. At parallelism 1 on a 2-core machine the keyed
designs have a core to themselves for their second Python process, which the async design does not use.

Sources (the job's first step: --source-messages SYNTHETIC messages of one topic, read up to their end
offsets and parsed in Python, nothing else), rate = messages / (first task start to last task end):

- value-only: PyFlink's KafkaSource with SimpleStringSchema (the value alone, as before issue 11).
- table-raw-metadata: the Kafka table source, raw format, topic/partition/offset/timestamp columns (used).

Machines shared with other work make single runs noisy: each candidate runs --rounds times, interleaved,
and the median is reported. Ratios are against the first candidate of each group, measured in the run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from make_sample import fgt_traffic, suricata  # noqa: E402
from services import start_flink_cluster, start_services  # noqa: E402

from pipeline.config import Settings, load_settings  # noqa: E402
from pipeline.flink.jars import fetch_jars  # noqa: E402


def write_input(directory: Path, count: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, make in (("fgt_traffic", fgt_traffic), ("suricata", suricata)):
        rng = random.Random(f"bench-cluster-{name}")
        with (directory / f"botesv1.{name}.json").open("w") as out:
            for n in range(count // 2):
                out.write(json.dumps(make(rng, n), separators=(",", ":")) + "\n")


# --------------------------------------------------------------------------- the writers considered


def _parse_and_enrich(settings: Settings) -> Any:
    """An async step that parses and enriches (as the job does) and hands documents to a keyed writer."""
    from pipeline.events import Rejected
    from pipeline.flink.functions import Enrich
    from pipeline.kafka.messages import parse_message

    class ParseEnrich(Enrich):  # type: ignore[misc]
        async def async_invoke(self, message: Any) -> list[str]:
            event = parse_message(message[4], self._settings.kafka.max_message_bytes)
            return [] if isinstance(event, Rejected) else [json.dumps(await self._enrich(event))]

    return ParseEnrich(settings)


def _keyed_writer(settings: Settings, in_state: bool) -> Any:
    from pyflink.common import Types
    from pyflink.datastream import KeyedProcessFunction
    from pyflink.datastream.state import ListStateDescriptor, ValueStateDescriptor

    from pipeline.index.documents import index_document
    from pipeline.index.writer import IndexWriter, open_client

    index = settings.index

    class Buffered(KeyedProcessFunction):  # type: ignore[misc]
        def open(self, runtime_context: Any) -> None:
            self._writer = IndexWriter(open_client(index))
            if in_state:
                self._docs = runtime_context.get_list_state(ListStateDescriptor("docs", Types.STRING()))
                self._count = runtime_context.get_state(ValueStateDescriptor("count", Types.INT()))
            else:
                self._list: list[str] = []

        def process_element(self, value: str, ctx: Any) -> Iterator[Any]:
            if in_state:
                self._docs.add(value)
                count = (self._count.value() or 0) + 1
                self._count.update(count)
            else:
                self._list.append(value)
                count = len(self._list)
            if count >= index.bulk_actions:
                yield from self._flush()
            elif count == 1:
                ctx.timer_service().register_processing_time_timer(
                    ctx.timer_service().current_processing_time() + int(index.flush_interval * 1000))

        def on_timer(self, timestamp: int, ctx: Any) -> Iterator[Any]:
            yield from self._flush()

        def _flush(self) -> Iterator[Any]:
            if in_state:
                values = list(self._docs.get() or [])
                self._docs.clear()
                self._count.clear()
            else:
                values, self._list = self._list, []
            docs = [json.loads(v) for v in values]
            result = self._writer.write([index_document(d, index) for d in docs])
            for doc, reason in result.rejected:
                yield json.dumps({"stage": "index", "reason": reason, "id": doc.id})

    return Buffered()


def keyed_job(settings: Settings, jobmanager: str, in_state: bool) -> Any:
    from pyflink.common import Time, Types
    from pyflink.datastream import AsyncDataStream

    from pipeline.flink.environment import make_environment
    from pipeline.flink.job import kafka_messages

    env = make_environment(settings.flink, with_kafka=True, jobmanager=jobmanager)
    shards = 4
    enriched = AsyncDataStream.unordered_wait(kafka_messages(env, settings.kafka), _parse_and_enrich(settings),
                                              Time.milliseconds(0), settings.flink.async_capacity, Types.STRING())
    (enriched.key_by(lambda value: hash(value) % shards, key_type=Types.INT())
     .process(_keyed_writer(settings, in_state), output_type=Types.STRING()).print())
    return env


def async_job(settings: Settings, jobmanager: str, bundle_ms: int | None = None) -> Any:
    from pyflink.common import Configuration

    from pipeline.flink.job import build_kafka_job

    env = build_kafka_job(settings, jobmanager)
    if bundle_ms is not None:
        configuration = Configuration()
        configuration.set_string("python.fn-execution.bundle.time", str(bundle_ms))
        env.configure(configuration)
    return env


WRITERS: dict[str, Callable[[Settings, str], Any]] = {
    "memory-buffer": lambda s, jm: keyed_job(s, jm, in_state=False),
    "keyed-state": lambda s, jm: keyed_job(s, jm, in_state=True),
    "async": async_job,
    "async-10s-bundles": lambda s, jm: async_job(s, jm, bundle_ms=10_000),
    "async-capacity-256": lambda s, jm: async_job(
        s.model_copy(update={"flink": s.flink.model_copy(update={"async_capacity": 256})}), jm),
}


# --------------------------------------------------------------------------- the sources considered


def publish_raw(settings: Settings, topic: str, count: int) -> dict[int, int]:
    """``count`` SYNTHETIC ECS-shaped messages over 2 partitions; returns each partition's end offset."""
    from confluent_kafka import Producer

    from pipeline.kafka.topics import create_topics

    create_topics(settings.kafka.model_copy(update={"partitions": 2}), [topic])
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers, "linger.ms": 20})
    ends: dict[int, int] = {}

    def delivered(err: Any, message: Any) -> None:
        if err is None:
            ends[message.partition()] = max(ends.get(message.partition(), 0), message.offset() + 1)

    for n in range(count):
        event = {"@timestamp": "2016-08-10T22:00:00Z", "event": {"dataset": "suricata", "original": f"SYNTHETIC {n}"},
                 "source": {"ip": "192.168.250.100", "port": n % 65536}, "message": "x" * 400}
        while True:
            try:
                producer.produce(topic, json.dumps(event).encode(), partition=n % 2, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    producer.flush(60)
    return ends


def source_job(settings: Settings, jobmanager: str, table: bool, topic: str, ends: dict[int, int]) -> Any:
    """Read ``topic`` up to ``ends`` and parse every message in Python, nothing else. The table source is
    kafka_messages' (pipeline/flink/job.py) with the same columns, bounded."""
    from pyflink.common import Types, WatermarkStrategy
    from pyflink.common.serialization import SimpleStringSchema
    from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource
    from pyflink.java_gateway import get_gateway
    from pyflink.table import StreamTableEnvironment
    from pyflink.util.java_utils import get_java_class

    from pipeline.flink.environment import make_environment

    env = make_environment(settings.flink, with_kafka=True, jobmanager=jobmanager)
    if table:
        t_env = StreamTableEnvironment.create(env)
        offsets = ";".join(f"partition:{p},offset:{o}" for p, o in sorted(ends.items()))
        t_env.execute_sql(
            "CREATE TEMPORARY TABLE m (`topic` STRING METADATA VIRTUAL, `partition` INT METADATA VIRTUAL, "
            "`offset` BIGINT METADATA VIRTUAL, `timestamp` TIMESTAMP_LTZ(3) METADATA VIRTUAL, `value` BYTES) "
            f"WITH ('connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = "
            f"'{settings.kafka.bootstrap_servers}', 'properties.group.id' = '{settings.kafka.group_id}', "
            "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'specific-offsets', "
            f"'scan.bounded.specific-offsets' = '{offsets}', 'format' = 'raw')")
        query = "SELECT `topic`, `partition`, `offset`, `timestamp`, `value` FROM m"
        rows = t_env.to_data_stream(t_env.sql_query(query))
        parsed = rows.map(lambda row: len(json.loads(row[4])) + row[2], output_type=Types.LONG())
    else:
        jvm = get_gateway().jvm
        wrapper = jvm.org.apache.flink.python.util.HashMapWrapper(None, get_java_class(jvm.Long))
        for partition, offset in ends.items():
            wrapper.put(jvm.org.apache.kafka.common.TopicPartition(topic, partition), offset)
        bounded = KafkaOffsetsInitializer(
            jvm.org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer.offsets(
                wrapper.asMap()))
        source = (KafkaSource.builder().set_bootstrap_servers(settings.kafka.bootstrap_servers)
                  .set_topics(topic).set_group_id(settings.kafka.group_id)
                  .set_starting_offsets(KafkaOffsetsInitializer.earliest()).set_bounded(bounded)
                  .set_value_only_deserializer(SimpleStringSchema()).build())
        parsed = env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka").map(
            lambda value: len(json.loads(value)), output_type=Types.LONG())
    parsed.filter(lambda _: False).print()
    return env


SOURCES: dict[str, Callable[..., Any]] = {
    "value-only": lambda s, jm, topic, ends: source_job(s, jm, False, topic, ends),
    "table-raw-metadata": lambda s, jm, topic, ends: source_job(s, jm, True, topic, ends),
}


def measure_source(cluster: Any, settings: Settings, build: Callable[..., Any], topic: str,
                   ends: dict[int, int]) -> float:
    """messages/s over the job's run, first task started to last task finished (the same start-up cost,
    Python workers included, for every candidate)."""
    cluster.replace_taskmanagers()
    job_id = str(build(settings, cluster.rest_address, topic, ends).execute_async("bench").get_job_id())
    deadline = time.monotonic() + 1800
    while (job := _rest(cluster, f"/jobs/{job_id}"))["state"] != "FINISHED":
        if job["state"] in ("FAILED", "CANCELED") or time.monotonic() > deadline:
            raise RuntimeError(f"source job {job_id} is {job['state']}")
        time.sleep(0.5)
    span = (max(v["end-time"] for v in job["vertices"]) - min(v["start-time"] for v in job["vertices"])) / 1000
    return sum(ends.values()) / span


# --------------------------------------------------------------------------- measuring


def _rest(cluster: Any, path: str) -> Any:
    import urllib.request
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://{cluster.rest_address}{path}", timeout=10) as response:
        return json.loads(response.read())


def _cancel(cluster: Any, job_id: str) -> None:
    import urllib.request
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.open(urllib.request.Request(f"http://{cluster.rest_address}/jobs/{job_id}?mode=cancel",
                                       method="PATCH"), timeout=10)
    while _rest(cluster, f"/jobs/{job_id}")["state"] not in ("CANCELED", "FAILED", "FINISHED"):
        time.sleep(0.5)


def _indexed(settings: Settings) -> int:
    from pipeline.index.documents import storage_pattern
    from pipeline.index.writer import open_client

    client = open_client(settings.index)
    client.indices.refresh(index=storage_pattern(settings.index))
    return int(client.count(index=storage_pattern(settings.index))["count"])


def measure(cluster: Any, settings: Settings, build: Callable[[Settings, str], Any], events: int,
            progress: Callable[[Settings, str], int], poll: float) -> float:
    """events/s between the first progress and the last, submission and job start excluded."""
    # A fresh TaskManager per run: no run inherits another's Python workers or memory (and PyFlink 2.3 can
    # bring a TaskManager down while it cancels a job that followed another kind of job in its slots).
    cluster.replace_taskmanagers()
    env = build(settings, cluster.rest_address)
    job_id = str(env.execute_async("bench").get_job_id())
    try:
        first = None
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            done = progress(settings, job_id)
            now = time.monotonic()
            if done and first is None:
                first = (now, done)
            if done >= events:
                assert first is not None
                return (done - first[1]) / max(now - first[0], 1e-3)
            time.sleep(poll)
        raise RuntimeError("the job did not finish within 30 minutes")
    finally:
        _cancel(cluster, job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=("writers", "sources"))
    parser.add_argument("--candidates", help="comma-separated names, to run only these")
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--source-messages", type=int, default=100_000)
    args = parser.parse_args()

    import os

    from pipeline.kafka import replay_files
    from pipeline.normalize import Normalizer, find_botes_files

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    jars = REPO / ".cache" / "jars"
    fetch_jars(jars)
    services = start_services(work / "services")
    cluster = start_flink_cluster(work, taskmanagers=1)
    os.environ.update(services.env)
    os.environ["BOTES_FLINK__JARS_DIR"] = str(jars)
    run = uuid.uuid4().hex[:6]
    os.environ["BOTES_KAFKA__TOPIC_PREFIX"] = f"bench{run}."
    os.environ["BOTES_FLINK__PARALLELISM"] = str(args.parallelism)
    base = load_settings()
    write_input(work / "input", args.events)
    replay_files(find_botes_files([work / "input"]), base.kafka, Normalizer())
    print(f"{args.events} SYNTHETIC events published; parallelism {args.parallelism}; {services.description}; "
          f"Flink on {cluster.rest_address}")

    try:
        if args.only != "sources":
            measure_group("writers", WRITERS, args, base, run, lambda settings, build: measure(
                cluster, settings, build, args.events, lambda s, job: _indexed(s), 0.5))
        if args.only != "writers":
            topic = f"bench{run}.sources"
            ends = publish_raw(base, topic, args.source_messages)
            print(f"{sum(ends.values())} SYNTHETIC messages in {topic} for the sources")
            measure_group("sources", SOURCES, args, base, run, lambda settings, build: measure_source(
                cluster, settings, build, topic, ends))
    finally:
        cluster.stop()
        services.stop()


def measure_group(group: str, candidates: dict[str, Any], args: argparse.Namespace, base: Settings, run: str,
                  measure_one: Callable[[Settings, Any], float]) -> None:
    """Each candidate --rounds times, interleaved; medians and ratios to the first candidate."""
    if args.candidates:
        candidates = {name: build for name, build in candidates.items() if name in args.candidates.split(",")}
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    for round_number in range(args.rounds):
        for name, build in candidates.items():
            tag = f"{name.replace('-', '')}{round_number}{run}"
            settings = base.model_copy(update={
                "kafka": base.kafka.model_copy(update={"group_id": tag}),
                "index": base.index.model_copy(update={"prefix": tag}),
                "redis": base.redis.model_copy(update={"key_prefix": tag})})
            rate = measure_one(settings, build)
            rates[name].append(rate)
            print(f"  {group} round {round_number + 1}: {name}: {rate:.0f} events/s", flush=True)
    baseline = statistics.median(next(iter(rates.values())))
    print(f"{group} (median of {args.rounds}, ratio to {next(iter(rates))}):")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:<20} {median:8.0f} events/s  x{median / baseline:.2f}", flush=True)


if __name__ == "__main__":
    main()
