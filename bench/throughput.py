"""Events/s of the embedded run and of the Kafka path, against a pass-through baseline measured in the same run.

    .venv/bin/python bench/throughput.py [--events-per-type 10000]

Input: the synthetic sample generator (scripts/make_sample.py) at the size asked for, fgt_traffic and
suricata. Three measurements on this machine, one after the other:

- baseline: a Flink job that reads the same files and writes the lines unchanged (FileSource -> FileSink),
  i.e. the cost of the engine alone;
- embedded: `botes run --input ... --output ...` (normalise + enrich with the in-process cache);
- index baseline: the embedded run's enriched documents bulk-written straight into the same index
  server by the pipeline's IndexWriter (500 per request): the ceiling the index server sets;
- kafka: `botes replay` into the broker, then `botes run` (Kafka -> enrich through Redis -> index) timed
  from the job's start until the index holds every event. Servers come from scripts/services.py.

Wall times include Flink's job start (~5-10 s), as a user sees them; the ratios say what the pipeline
costs over the bare engine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from make_sample import fgt_traffic, suricata  # noqa: E402
from services import start_services  # noqa: E402

from pipeline.config import Settings, load_settings  # noqa: E402
from pipeline.index.documents import storage_pattern  # noqa: E402
from pipeline.index.writer import open_client  # noqa: E402


def write_input(directory: Path, per_type: int) -> int:
    for name, make in (("fgt_traffic", fgt_traffic), ("suricata", suricata)):
        rng = random.Random(f"bench-{name}")
        with (directory / f"botesv1.{name}.json").open("w") as f:
            for n in range(per_type):
                f.write(json.dumps(make(rng, n), separators=(",", ":")) + "\n")
    return 2 * per_type


def baseline(inputs: Path, out: Path) -> float:
    """Runs in its own process: a PyFlink client leaves gateway variables in the environment that
    would make later `botes` subprocesses believe they are Flink workers."""
    started = time.monotonic()
    subprocess.run([sys.executable, __file__, "--baseline-job", str(inputs), str(out)], check=True)
    return time.monotonic() - started


def baseline_job(inputs: Path, out: Path) -> None:
    from pyflink.common import Encoder, WatermarkStrategy
    from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
    from pyflink.datastream.connectors.file_system import FileSink, FileSource, StreamFormat

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_executable(sys.executable)
    env.set_parallelism(1)
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    files = [str(p) for p in sorted(inputs.glob("botesv1.*.json"))]
    lines = env.from_source(FileSource.for_record_stream_format(StreamFormat.text_line_format(), *files).build(),
                            WatermarkStrategy.no_watermarks(), "read")
    lines.map(lambda line: line).sink_to(FileSink.for_row_format(str(out), Encoder.simple_string_encoder()).build())
    env.execute("baseline")


def botes(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, check=False)


def embedded(inputs: Path, out: Path) -> float:
    started = time.monotonic()
    result = botes("run", "--input", str(inputs), "--output", str(out))
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return time.monotonic() - started


def bulk_write(documents: Path, settings: Settings) -> float:
    from pipeline.index.documents import index_document
    from pipeline.index.writer import IndexWriter

    writer = IndexWriter(open_client(settings.index))
    baseline = settings.index.model_copy(update={"prefix": "bulkbaseline"})  # outside the template's pattern
    events = [json.loads(line) for line in documents.open()]
    started = time.monotonic()
    for i in range(0, len(events), 500):
        writer.write([index_document(e, baseline) for e in events[i:i + 500]])
    return time.monotonic() - started


def kafka_path(inputs: Path, total: int, workdir: Path, documents: Path) -> tuple[float, float, float]:
    services = start_services(workdir / "services")
    env = {**services.env, "BOTES_FLINK__JARS_DIR": str(REPO / ".cache" / "jars")}
    try:
        for command in (("setup",), ("replay", str(inputs))):
            started = time.monotonic()
            result = botes(*command, env=env)
            if result.returncode != 0:
                raise SystemExit(result.stderr)
        replay_seconds = time.monotonic() - started
        os.environ.update(env)
        settings = load_settings()
        client = open_client(settings.index)
        bulk_seconds = bulk_write(documents, settings)
        started = time.monotonic()
        job = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while True:
                client.indices.refresh(index=storage_pattern(settings.index))
                if client.count(index=storage_pattern(settings.index))["count"] >= total:
                    break
                if job.poll() is not None or time.monotonic() - started > 900:
                    raise SystemExit("the job stopped or took over 15 minutes")
                time.sleep(0.5)
            return replay_seconds, bulk_seconds, time.monotonic() - started
        finally:
            os.killpg(job.pid, signal.SIGTERM)
            job.wait(30)
    finally:
        services.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events-per-type", type=int, default=10_000)
    parser.add_argument("--baseline-job", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_job:
        baseline_job(*args.baseline_job)
        return
    work = Path(tempfile.mkdtemp(prefix="botes-bench-"))
    try:
        inputs = work / "input"
        inputs.mkdir()
        total = write_input(inputs, args.events_per_type)
        base = baseline(inputs, work / "baseline")
        emb = embedded(inputs, work / "embedded.ndjson")
        replay_s, bulk_s, kafka_s = kafka_path(inputs, total, work, work / "embedded.ndjson")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{total} events (synthetic fgt_traffic + suricata), parallelism 1, wall time incl. job start")
    print(f"{'run':<34}{'seconds':>9}{'events/s':>10}{'vs baseline':>13}")
    for name, seconds in (("baseline: Flink read -> write", base), ("embedded: normalise + enrich", emb),
                          ("replay: normalise -> Kafka", replay_s),
                          ("index baseline: bulk write only", bulk_s),
                          ("kafka: Kafka -> enrich -> index", kafka_s)):
        print(f"{name:<34}{seconds:>9.1f}{total / seconds:>10.0f}{base / seconds:>13.2f}")
    print(f"kafka path vs index baseline: {bulk_s / kafka_s:.2f} (1.00 = as fast as the index server takes documents)")


if __name__ == "__main__":
    main()
