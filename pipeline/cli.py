"""The ``botes`` command. Loads the settings once and passes them down."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.config import EntityType, Settings, bundled_data, load_settings, redacted
from pipeline.errors import ConfigError, PipelineError
from pipeline.events import Rejected
from pipeline.normalize import Normalizer, find_botes_files, read_lines
from pipeline.normalize.sources import check_routing, check_source_type

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

__all__ = ["main", "app"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="BOTES security-event enrichment pipeline: normalise -> Kafka -> enrich -> index.")
config_app = typer.Typer(no_args_is_help=True, help="Inspect the configuration.")
app.add_typer(config_app, name="config")
cache_app = typer.Typer(no_args_is_help=True, help="Inspect or empty the shared (Redis) cache.")
app.add_typer(cache_app, name="cache")
scot_app = typer.Typer(no_args_is_help=True, help="SCOT4 entity enrichment (Airflow's REST API as SCOT calls it).")
app.add_typer(scot_app, name="scot")
index_app = typer.Typer(no_args_is_help=True, help="Inspect the stored events (data streams or indices).")
app.add_typer(index_app, name="index")
err = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", envvar="BOTES_CONFIG", help="YAML config file; BOTES_* environment overrides it.")]


def _settings(config: Path | None) -> Settings:
    settings = load_settings(config)
    check_routing(settings.kafka.routing)
    return settings


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _counts_table(title: str, what: str, published: Counter[str], rejected: Counter[str] | None = None) -> Table:
    table = Table(what, "published", *(["rejected"] if rejected is not None else []), title=title)
    for name in sorted(set(published) | set(rejected or {})):
        row = [name, str(published[name])]
        if rejected is not None:
            row.append(str(rejected[name]))
        table.add_row(*row)
    return table


def _line_count(paths: list[Path]) -> int:
    return sum(1 for path in paths for _ in read_lines(path))


def _index_client(settings: Settings) -> tuple[Elasticsearch, str]:
    """The index client and the server's name and version, once it answers and is the kind ``index.server``
    names (the templates of one do not install on the other)."""
    from pipeline.index.writer import check_index, open_client

    client = open_client(settings.index)
    server = check_index(client)
    distribution = server.split(" ", 1)[0]
    if distribution != settings.index.server:
        raise ConfigError(f"index.server is {settings.index.server}, but {settings.index.url} is {server}: set "
                          f"index.server: {distribution} (BOTES_INDEX__SERVER={distribution})")
    return client, server


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective settings (file + environment + defaults), secrets redacted."""
    print(json.dumps(redacted(_settings(config)), indent=2))


@cache_app.command("stats")
def cache_stats(config: ConfigOption = None) -> None:
    """Cached lookups per source in Redis, and Redis memory."""
    from pipeline.cache.admin import cache_contents

    settings = _settings(config)
    contents = cache_contents(settings)
    table = Table("source", "cached values", title=f"{settings.redis.key_prefix}:* in Redis")
    for source, count in sorted(contents.keys_per_source.items()):
        table.add_row(source, str(count))
    err.print(table)
    err.print(f"Redis memory used: {contents.memory_used}; entries without expiry: {contents.without_ttl}",
              highlight=False)


@cache_app.command("purge")
def cache_purge(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source's entries.")] = None,
    config: ConfigOption = None,
) -> None:
    """Delete cached lookups (all, or one source's) so the next lookups ask the sources again."""
    from pipeline.cache.admin import purge_cache
    from pipeline.enrich.registry import ENRICHERS

    if source is not None and source not in ENRICHERS:
        raise _fail(f"unknown source {source!r} (known: {', '.join(ENRICHERS)})")
    settings = _settings(config)
    deleted = purge_cache(settings, source)
    err.print(f"deleted {deleted} cached value(s){f' of {source}' if source else ''}", highlight=False)


@app.command()
def normalize(
    files: Annotated[list[Path] | None, typer.Argument(help="BOTES JSON-lines files; stdin if none.")] = None,
    source_type: Annotated[str, typer.Option("--source-type", "-t", help="e.g. fgt_traffic, suricata")] = "",
    config: ConfigOption = None,
) -> None:
    """Print BOTES records as ECS NDJSON. Bad lines are reported on stderr; exit 1 if there were any."""
    if not source_type:
        raise _fail("--source-type is required")
    try:
        check_source_type(source_type)
    except PipelineError as exc:
        raise _fail(str(exc)) from None
    missing = [str(p) for p in files or [] if not p.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}")
    normalizer = Normalizer(_settings(config).normalize.default_timezone)
    bad = 0
    inputs = [(str(p), read_lines(p)) for p in files] if files else [
        ("<stdin>", ((n, line.rstrip(b"\r\n")) for n, line in enumerate(sys.stdin.buffer, start=1)
                     if line.strip()))]
    out = sys.stdout
    for name, lines in inputs:
        for number, line in lines:
            result = normalizer.normalize_line(line, source_type, f"{name}:{number}")
            if isinstance(result, Rejected):
                bad += 1
                err.print(f"{result.location}: {result.reason}", highlight=False, markup=False, soft_wrap=True)
            else:
                out.write(json.dumps(result) + "\n")
    if bad:
        raise _fail(f"{bad} line(s) could not be normalised", code=1)


@app.command()
def replay(
    paths: Annotated[list[Path], typer.Argument(help="BOTES files or directories of them.")],
    source_type: Annotated[str | None, typer.Option(
        "--source-type", "-t", help="Read every file as this source type (default: from each file's name).")] = None,
    rate: Annotated[float | None, typer.Option("--rate", min=0.001, help="At most this many events/s.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=0, help="Stop after this many lines.")] = None,
    config: ConfigOption = None,
) -> None:
    """Normalise BOTES files and publish them to the Kafka topic of each event's family."""
    from pipeline.kafka import replay_files

    settings = _settings(config)
    files = find_botes_files(paths, source_type)
    total = _line_count([f.path for f in files])
    if limit is not None:
        total = min(total, limit)
    with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err) as progress:
        task = progress.add_task("replay", total=total)

        def on_line(_file: object, rejected: Rejected | None) -> None:
            progress.advance(task)
            if rejected is not None:
                progress.console.print(f"{rejected.location}: {rejected.reason}", markup=False,
                                       highlight=False, soft_wrap=True)

        normalizer = Normalizer(settings.normalize.default_timezone)
        report = replay_files(files, settings.kafka, normalizer, on_line, rate=rate, limit=limit)
    err.print(_counts_table("published per topic", "topic", report.per_topic))
    rejected_per_type = Counter(r.source_type or "?" for r in report.rejected)
    err.print(_counts_table("per source type", "source type", report.per_type, rejected_per_type))
    if report.rejected:
        err.print(f"{len(report.rejected)} rejected line(s) -> {settings.kafka.dead_letter_topic}", highlight=False)
    if report.delivery_errors:
        raise _fail(f"{len(report.delivery_errors)} message(s) not delivered: {report.delivery_errors[:3]}")
    if report.rejected:
        raise _fail(f"{len(report.rejected)} line(s) rejected (sent to {settings.kafka.dead_letter_topic})", 1)


@app.command()
def run(
    inputs: Annotated[list[Path] | None, typer.Option(
        "--input", "-i", help="Embedded mode: BOTES files/directories (default: the bundled sample).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Embedded mode: enriched NDJSON file to write.")] = None,
    source_type: Annotated[str | None, typer.Option(
        "--source-type", "-t", help="Embedded mode: read every file as this source type (default: from each "
                                    "file's name).")] = None,
    report_to: Annotated[Path | None, typer.Option(
        "--report", help="Embedded mode: also write the HTML investigation report of the output here.")] = None,
    jobmanager: Annotated[str | None, typer.Option(
        "--jobmanager", "-m", help="Submit the Kafka job to this Flink cluster (HOST:PORT of its REST API) "
        "and return; default: flink.jobmanager, else run it here.")] = None,
    from_savepoint: Annotated[str | None, typer.Option(
        "--from-savepoint", "-s", help="Resume from this savepoint or retained checkpoint (or the newest one "
        "in this folder).")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the enrichment job: embedded (files -> NDJSON) with --output, else Kafka -> index."""
    settings = _settings(config)
    if output is None and inputs:
        raise _fail("embedded mode needs --output FILE.ndjson")
    if output is None and report_to is not None:
        raise _fail("--report needs embedded mode: give --output FILE.ndjson too")
    if output is not None:
        if jobmanager or from_savepoint:
            raise _fail("--jobmanager and --from-savepoint are for the Kafka job, not embedded mode (--output)")
        _run_embedded(settings, inputs or [bundled_data("sample")], output, source_type, report_to)
    else:
        _run_kafka(settings, jobmanager or settings.flink.jobmanager or None, from_savepoint)


def _run_embedded(settings: Settings, inputs: list[Path], output: Path, source_type: str | None,
                  report_to: Path | None = None) -> None:
    from pipeline.flink.embedded import run_embedded

    files = find_botes_files(inputs, source_type)
    _check_enrichers(settings)
    err.print(f"embedded run over {len(files)} file(s): " + ", ".join(str(f.path) for f in files),
              highlight=False)
    started = time.monotonic()
    report = run_embedded(settings, files, output)
    elapsed = time.monotonic() - started
    for rejected in report.rejected:
        err.print(f"{rejected.get('location')}: {rejected['reason']}", markup=False,
                  highlight=False, soft_wrap=True)
    _print_lookup_summary(report.lookups)
    err.print(f"{report.events} enriched events -> {output} in {elapsed:.1f} s "
              f"({report.events / elapsed:.0f} events/s incl. job start); {len(report.rejected)} rejected",
              highlight=False)
    code = _write_report(output, report_to) if report_to is not None else 0
    if report.rejected or code:
        raise typer.Exit(max(code, 1))


def _write_report(enriched: Path, target: Path, title: str | None = None) -> int:
    """Write the HTML report of ``enriched``; the exit code: 0, 1 if some lines were not events, 2 if the input
    is missing, unreadable or empty or the report cannot be written."""
    from pipeline.report import ReportError, write_report

    started = time.monotonic()
    try:
        outcome = write_report(enriched, target, title)
    except ReportError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    for bad in outcome.first_bad:
        err.print(f"{enriched}:{bad.number}: {bad.reason}", markup=False, highlight=False, soft_wrap=True)
    if outcome.bad_lines > len(outcome.first_bad):
        err.print(f"... and {outcome.bad_lines - len(outcome.first_bad)} more line(s) that are not events",
                  highlight=False)
    if outcome.written is None:
        err.print(f"[red]error:[/red] no enriched event in {enriched} ({outcome.bad_lines} line(s) could not be "
                  "read): no report written", highlight=False)
        return 1
    err.print(f"report of {outcome.events} events -> {outcome.written} ({outcome.size / 1e6:.1f} MB) in "
              f"{time.monotonic() - started:.1f} s" + (f"; {outcome.bad_lines} line(s) skipped"
                                                       if outcome.bad_lines else ""), highlight=False)
    return 1 if outcome.bad_lines else 0


@app.command()
def report(
    enriched: Annotated[Path, typer.Argument(help="Enriched NDJSON, as `botes run --output` writes it (.gz too).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    title: Annotated[str | None, typer.Option("--title", help="The page's title.")] = None,
) -> None:
    """Write a self-contained HTML investigation report of enriched events; it opens with no network.

    A map, top countries and networks, threat-list and VirusTotal hits, Shodan facts, assets, failures, timeline.

    Exit 1 if some lines were not events (they are named), 2 if the file is missing or empty."""
    code = _write_report(enriched, output, title)
    if code:
        raise typer.Exit(code)


def _check_enrichers(settings: Settings) -> None:
    """Build every enabled source once here, so a missing file or bad setting stops the start with its
    name instead of failing the Flink job on its first event."""
    import asyncio

    from pipeline.enrich import EnrichmentChain, build_enrichers

    asyncio.run(EnrichmentChain(build_enrichers(settings)).aclose())


def _print_lookup_summary(summary: dict[str, Any]) -> None:
    """Cache hits per tier, then per source: calls, outcomes, latency, rate-limit waits, breaker."""
    tiers = ", ".join(f"{tier} {s['hits']} hits / {s['misses']} misses" + (f" / {s['errors']} errors"
                                                                           if s.get("errors") else "")
                      for tier, s in summary.get("cache", {}).items())
    if tiers:
        err.print(f"cache: {tiers}", highlight=False)
    sources = summary.get("sources", {})
    if not sources:
        return
    table = Table("source", "calls", "found", "not found", "failed", "avg ms", "max ms", "breaker",
                  title="lookups")
    for name, s in sources.items():
        failed = ", ".join(f"{reason}: {count}" for reason, count in s.get("failed", {}).items()) or "0"
        table.add_row(name, str(s.get("calls", "-")), str(s.get("found", "-")), str(s.get("not_found", "-")),
                      failed, str(s.get("latency_avg_ms", "-")), str(s.get("latency_max_ms", "-")),
                      str(s.get("breaker", "-")))
    err.print(table)


def _run_kafka(settings: Settings, jobmanager: str | None, from_savepoint: str | None) -> None:
    from pipeline.cache.redis import check_redis
    from pipeline.flink.environment import resolve_savepoint
    from pipeline.flink.job import JOB_NAME, build_kafka_job
    from pipeline.flink.rest import FlinkRest
    from pipeline.index.documents import storage_pattern
    from pipeline.index.template import check_template
    from pipeline.kafka import create_topics, family_topics

    _check_enrichers(settings)
    if settings.cache.backend == "redis":
        check_redis(settings)
    client, server = _index_client(settings)
    outdated = check_template(client, settings.index)
    if outdated:
        err.print(f"[yellow]warning:[/yellow] {outdated}", highlight=False)
    create_topics(settings.kafka, [*family_topics(settings.kafka), settings.kafka.dead_letter_topic])
    savepoint = resolve_savepoint(from_savepoint) if from_savepoint else None
    if jobmanager is not None:
        running = FlinkRest(jobmanager).running(JOB_NAME)
        if running:
            raise _fail(f"a {JOB_NAME} job is already running on {jobmanager} ({running[0].id}, "
                        f"{running[0].state}): stop it first (botes stop)")
    err.print(f"job {JOB_NAME}: {', '.join(family_topics(settings.kafka))} -> {server} at "
              f"{settings.index.url} ({storage_pattern(settings.index)}), dead letters -> "
              f"{settings.kafka.dead_letter_topic}" + (f", resuming from {savepoint}" if savepoint else ""),
              highlight=False)
    env = build_kafka_job(settings, jobmanager, savepoint)
    if jobmanager is None:
        env.execute(JOB_NAME)
        return
    job_id = str(env.execute_async(JOB_NAME).get_job_id())
    err.print(f"submitted to the Flink cluster at {jobmanager}: job {job_id} "
              f"(stop it with `botes stop --jobmanager {jobmanager} --savepoint DIR`)", highlight=False)
    print(job_id)


@app.command()
def stop(
    savepoint: Annotated[str | None, typer.Option(
        "--savepoint", "-s", help="Take a savepoint into this folder, then stop (resume with "
        "`botes run --from-savepoint`); without it the job is cancelled (its checkpoints are kept).")] = None,
    jobmanager: Annotated[str | None, typer.Option(
        "--jobmanager", "-m", help="HOST:PORT of the cluster's REST API; default: flink.jobmanager.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="The job id; default: the running botes job.")] = None,
    config: ConfigOption = None,
) -> None:
    """Stop the Kafka job on a Flink cluster, with a savepoint so that it can resume where it stopped."""
    from pipeline.flink.job import JOB_NAME
    from pipeline.flink.rest import FlinkRest

    settings = _settings(config)
    address = jobmanager or settings.flink.jobmanager
    if not address:
        raise _fail("which cluster? pass --jobmanager HOST:PORT or set flink.jobmanager")
    rest = FlinkRest(address)
    if job is None:
        running = rest.running(JOB_NAME)
        if len(running) != 1:
            raise _fail(f"{len(running)} {JOB_NAME} jobs running on {address}; say which with --job ID")
        job = running[0].id
    if savepoint is None:
        rest.cancel(job)
        err.print(f"job {job} cancelled; its retained checkpoints stay in the cluster's checkpoint folder "
                  f"(<execution.checkpointing.dir>/{job}/chk-N)", highlight=False)
        return
    location = rest.stop_with_savepoint(job, savepoint)
    err.print(f"job {job} stopped with a savepoint; resume with `botes run --jobmanager {address} "
              f"--from-savepoint {location}`", highlight=False)
    print(location)


dlq_app = typer.Typer(no_args_is_help=True, help="Read the dead-letter topic, send dead letters back.")
app.add_typer(dlq_app, name="dlq")


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters; control characters (NUL, newlines) shown escaped."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: width * 2])
    return text if len(text) <= width else text[: width - 1] + "…"


@dlq_app.command("show")
def dlq_show(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, the most recent.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line, complete.")] = False,
    config: ConfigOption = None,
) -> None:
    """Print the most recent dead letters: when, from where, which stage refused them and why."""
    from datetime import UTC, datetime

    from pipeline.kafka.deadletters import read_dead_letters

    settings = _settings(config)
    letters = read_dead_letters(settings.kafka, limit)
    for letter in letters:
        if as_json:
            print(json.dumps(letter.record))
            continue
        when = (datetime.fromtimestamp(letter.timestamp / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
                if letter.timestamp else "?")
        record = letter.record
        where = str(letter.origin) if letter.origin else str(record.get("location") or "(no origin)")
        print(f"{when}  {where}  {record.get('stage', '?')}: {record.get('reason', '?')}")
        size = record.get("raw_bytes")
        cut = " (cut)" if record.get("raw_truncated") else ""
        print(f"    {size if size is not None else '?'} bytes{cut}: {_shorten(str(record.get('raw', '')), 160)}")
    err.print(f"{len(letters)} dead letter(s) from {settings.kafka.dead_letter_topic}", highlight=False)


@dlq_app.command("replay")
def dlq_replay(config: ConfigOption = None) -> None:
    """Send dead letters that are valid events now (e.g. refused by the index before a mapping fix) back
    to their topic; the others are counted by reason. Each dead letter is looked at once."""
    from pipeline.kafka.deadletters import DeadLetter, replay_dead_letters

    settings = _settings(config)

    def report(letter: DeadLetter, reason: str | None) -> None:
        if reason is not None:
            err.print(f"skipped {letter.origin or '(no origin)'}: {reason}", highlight=False, markup=False)

    outcome = replay_dead_letters(settings.kafka, report)
    for topic, count in sorted(outcome.sent.items()):
        err.print(f"sent {count} back to {topic}", highlight=False)
    skipped = sum(outcome.skipped.values())
    err.print(f"{sum(outcome.sent.values())} sent again, {skipped} skipped", highlight=False)


cluster_app = typer.Typer(no_args_is_help=True, help="A local Flink cluster from the installed apache-flink.")
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("start")
def cluster_start(
    directory: Annotated[Path, typer.Option("--dir", help="Settings, logs, checkpoints, savepoints.")
                         ] = Path(".flink"),
    taskmanagers: Annotated[int, typer.Option("--taskmanagers", min=1)] = 1,
    slots: Annotated[int, typer.Option("--slots", min=1, help="Task slots per TaskManager.")] = 2,
    rest_port: Annotated[int, typer.Option("--rest-port")] = 8081,
    rpc_port: Annotated[int, typer.Option("--rpc-port")] = 6123,
) -> None:
    """Start a standalone Flink cluster (a JobManager and TaskManagers) on this machine, in the background."""
    from pipeline.flink.cluster import start_daemons
    from pipeline.flink.rest import FlinkRest

    layout = start_daemons(directory, taskmanagers, rest_port, rpc_port, slots)
    rest = FlinkRest(f"127.0.0.1:{rest_port}")
    deadline = time.monotonic() + 60
    while True:
        try:
            if rest.overview()["taskmanagers"] >= taskmanagers:
                break
        except PipelineError:
            pass
        if time.monotonic() > deadline:
            raise _fail(f"the cluster did not come up within 60 s; see the logs in {layout.log_dir}")
        time.sleep(0.5)
    err.print(f"Flink cluster up: {taskmanagers} TaskManager(s), REST and web UI at {rest.url}; "
              f"checkpoints in {layout.checkpoints}, logs in {layout.log_dir}", highlight=False)
    err.print(f"submit the job with `botes run --jobmanager 127.0.0.1:{rest_port}`", highlight=False)


@cluster_app.command("stop")
def cluster_stop(
    directory: Annotated[Path, typer.Option("--dir", help="The folder given to `botes cluster start`.")
                         ] = Path(".flink"),
) -> None:
    """Stop the TaskManagers and the JobManager started by `botes cluster start`."""
    from pipeline.flink.cluster import stop_daemons

    stop_daemons(directory)
    err.print(f"Flink cluster in {directory} stopped", highlight=False)


@app.command()
def setup(config: ConfigOption = None) -> None:
    """Install the index templates (and, for Elasticsearch, the ILM policy) and create the Kafka topics.
    Safe to run again: what is unchanged is left alone, a change is installed as the next version."""
    from pipeline.index.documents import storage_pattern
    from pipeline.index.template import install_templates
    from pipeline.kafka import create_topics, family_topics

    settings = _settings(config)
    client, server = _index_client(settings)
    installed = install_templates(client, settings.index)
    for item in installed:
        err.print(f"{item.kind} {item.name}: {item.status} (version {item.version})", highlight=False)
    if any(item.status == "updated" for item in installed):
        err.print("existing data streams take the new version at their next rollover (`botes index rollover` "
                  "does it now)" if settings.index.server == "elasticsearch" else
                  "existing indices keep their mappings; indices created from now on get the new version",
                  highlight=False)
    err.print(f"events go to {storage_pattern(settings.index)} on {server}", highlight=False)
    created = create_topics(settings.kafka, [*family_topics(settings.kafka), settings.kafka.dead_letter_topic])
    err.print(f"kafka topics created: {', '.join(created) or 'none (all existed)'}", highlight=False)


def _size(size_bytes: int) -> str:
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@index_app.command("stats")
def index_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Documents, size and the oldest and newest event per data stream (or per index on OpenSearch)."""
    from dataclasses import asdict

    from pipeline.index.documents import storage_pattern
    from pipeline.index.stats import storage_stats

    settings = _settings(config)
    client, _ = _index_client(settings)
    rows = storage_stats(client, settings.index)
    if as_json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
        return
    if not rows:
        err.print(f"no events stored under {storage_pattern(settings.index)} on {settings.index.url} yet",
                  highlight=False)
        return
    streams = settings.index.server == "elasticsearch"
    table = Table("data stream" if streams else "index", "documents", "size", "oldest event", "newest event",
                  *(["backing indices", "ILM policy"] if streams else []),
                  title=f"stored events on {settings.index.url}")
    for row in rows:
        table.add_row(row.name, str(row.documents), _size(row.size_bytes), row.oldest or "-", row.newest or "-",
                      *([str(row.backing_indices), row.lifecycle or "-"] if streams else []))
    err.print(table)


@index_app.command("rollover")
def index_rollover(config: ConfigOption = None) -> None:
    """Roll every data stream over now, so new events go to a backing index made from the installed template."""
    from pipeline.index.lifecycle import rollover_data_streams

    settings = _settings(config)
    if settings.index.server != "elasticsearch":
        raise _fail("index.server is opensearch: plain indices do not roll over; a new template applies to "
                    "indices created after `botes setup`")
    client, _ = _index_client(settings)
    for stream, index in rollover_data_streams(client, settings.index).items():
        err.print(f"{stream}: new write index {index}", highlight=False)


@app.command()
def lookup(
    source: Annotated[str, typer.Argument(help="assets, rdns, geoip, threatlists, shodan, onyphe, virustotal")],
    value: Annotated[str, typer.Argument(help="An IP address, domain or file hash.")],
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the SCOT enrichment (markdown).")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the source itself.")] = False,
    config: ConfigOption = None,
) -> None:
    """Look one value up in one source, through the cache, and print the result as JSON."""
    import asyncio

    from pipeline.config import ApiSourceSettings
    from pipeline.enrich.registry import ENRICHERS

    settings = _settings(config)
    if source not in ENRICHERS:
        raise _fail(f"unknown source {source!r} (known: {', '.join(ENRICHERS)})")
    entity_type, value = _value_for(source, value)
    source_settings = getattr(settings, source)
    if isinstance(source_settings, ApiSourceSettings) and source_settings.api_key is None:
        raise _fail(f"{source}: no API key; set BOTES_{source.upper()}__API_KEY")
    if (not no_cache and source_settings.cache) or isinstance(source_settings, ApiSourceSettings):
        settings = _in_process_if_redis_is_away(settings)
    result, summary, failure = asyncio.run(
        _lookup_once(settings, source, entity_type, value, markdown, use_cache=not no_cache))
    if result is None:  # the source does not look such values up (GeoIP and an internal address)
        raise _fail(str(failure))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    _print_lookup_summary(summary)
    if failure is not None:
        raise _fail(f"{source} lookup of {value} failed: {failure}", code=1)


def _value_for(source: str, raw: str) -> tuple[EntityType, str]:
    """What kind of value ``raw`` is (address, domain, hash) and its canonical form; exit 2 when it is none, or
    not a kind ``source`` looks up."""
    from pipeline.scot.entities import InvalidEntity, covers, entity_type_of, entity_value

    try:
        entity_type = entity_type_of(raw)
        value = entity_value(entity_type, raw)
    except InvalidEntity as exc:
        raise _fail(str(exc)) from None
    if not covers(source, entity_type):
        kind = {"ipaddr": "an IP address", "ipv6": "an IP address", "domain": "a domain name"}.get(
            entity_type, "a file hash")
        raise _fail(f"{source} does not look up {kind} such as {value}")
    return entity_type, value


def _in_process_if_redis_is_away(settings: Settings) -> Settings:
    """One lookup needs no quota shared with other workers: without Redis it uses the in-process cache and
    a per-process rate limit, with one warning. (The streaming job instead skips paid lookups while Redis is
    away, since its workers share one quota.)"""
    from pipeline.cache.redis import check_redis

    if settings.cache.backend != "redis":
        return settings
    try:
        check_redis(settings)
    except PipelineError as exc:
        err.print(f"warning: {exc}; this lookup uses the in-process cache and a per-process rate limit",
                  highlight=False, markup=False, soft_wrap=True)
        return settings.model_copy(update={"cache": settings.cache.model_copy(update={"backend": "memory"})})
    return settings


async def _lookup_once(settings: Settings, source: str, entity_type: EntityType, value: str, markdown: bool,
                       use_cache: bool) -> tuple[dict[str, object] | None, dict[str, Any], str | None]:
    """(what to print, the cache and source metrics, the failure reason if the lookup failed); nothing to print
    and the reason when the source does not look such values up (GeoIP and an internal address)."""
    from pipeline.addresses import AddressClassifier
    from pipeline.cache import open_cache, with_cache
    from pipeline.cache.cached import guarded
    from pipeline.cache.metrics import metrics_summary
    from pipeline.enrich.registry import build_enricher
    from pipeline.enrich.scot import scot_enrichment
    from pipeline.events import Failed, Found
    from pipeline.scot.entities import probe_event, scope_note

    classifier = AddressClassifier(settings.network.internal_networks)
    enricher = build_enricher(source, settings, classifier)
    if not list(enricher.targets(probe_event(entity_type, value))):
        await enricher.aclose()
        return None, {}, scope_note(enricher.title, value, classifier)
    cache = open_cache(settings) if use_cache and getattr(settings, source).cache else None
    # Without the cache a paid API still keeps its shared rate limit and breaker.
    wrapped = with_cache([enricher], cache, settings)[0] if cache is not None else guarded(enricher, settings)
    try:
        outcome = await wrapped.lookup(value)
    finally:
        await wrapped.aclose()
        if cache is not None:
            await cache.aclose()
    summary = metrics_summary([wrapped], cache)
    failure = outcome.reason if isinstance(outcome, Failed) else None
    if markdown:
        return dict(scot_enrichment(enricher, value, outcome)), summary, failure
    result: dict[str, object] = {"source": source, "value": value}
    if isinstance(outcome, Found):
        result.update(outcome="found", data=outcome.data)
    elif isinstance(outcome, Failed):
        result.update(outcome="failed", reason=outcome.reason)
    else:
        result.update(outcome="not_found")
    return result, summary, failure


@app.command()
def logstash(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for pipeline/*.conf and pipelines.yml.")
                   ] = Path("logstash"),
    config: ConfigOption = None,
) -> None:
    """Generate the Logstash pipelines (one per source type) from the normaliser's field tables."""
    from pipeline.normalize.logstash import generate_pipelines

    settings = _settings(config)
    written = generate_pipelines(out, settings.kafka.topic_prefix,
                                 dead_letter_topic=settings.kafka.dead_letter_topic,
                                 default_timezone=settings.normalize.default_timezone)
    err.print(f"{len(written)} files written under {out}", highlight=False)


@app.command()
def download(
    directory: Annotated[Path, typer.Argument(help="Where to put the botesv1.<type>.json.gz files.")],
    types: Annotated[str | None, typer.Option(
        "--types", help="Comma-separated source types (default: all 22), e.g. suricata,fgt_traffic.")] = None,
    config: ConfigOption = None,
) -> None:
    """Fetch the public BOTES files (resuming cut downloads); files already there are kept."""
    import requests
    from rich.progress import DownloadColumn, TransferSpeedColumn

    from pipeline.download import DownloadError, download_file, planned_downloads

    settings = _settings(config)
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else None
    items = planned_downloads(wanted, directory, settings.download)
    directory.mkdir(parents=True, exist_ok=True)
    todo = [item for item in items if not item.path.exists()]
    for item in items:
        if item not in todo:
            err.print(f"already there: {item.path}", highlight=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=err) as progress, requests.Session() as session:

        class Bar:
            task: Any = None

            def started(self, name: str, total: int | None, already: int) -> None:
                self.task = progress.add_task(name, total=total, completed=already)

            def advanced(self, size: int) -> None:
                progress.advance(self.task, size)

        for item in todo:
            try:
                download_file(session, item, settings.download, Bar())
            except DownloadError as exc:
                raise _fail(str(exc)) from None
    err.print(f"{len(todo)} file(s) downloaded into {directory}", highlight=False)


@app.command("fetch-jars")
def fetch_jars_command(config: ConfigOption = None) -> None:
    """Fetch the Flink Kafka connector jars into flink.jars_dir and verify their sha256."""
    from pipeline.flink.jars import fetch_jars

    settings = _settings(config)
    for jar in fetch_jars(settings.flink.jars_dir):
        err.print(f"ok {jar}", highlight=False)


@scot_app.command("serve")
def scot_serve(
    listen: Annotated[str | None, typer.Option("--listen", help="HOST:PORT (default: scot.listen).")] = None,
    config: ConfigOption = None,
) -> None:
    """Answer SCOT4's enrichment requests (POST /api/v1/dags/<dag_id>/dagRuns) and post the results to SCOT."""
    from pipeline.scot.service import serve

    settings = _settings(config)

    def ready(url: str, sources: dict[str, list[str]]) -> None:
        err.print(f"botes scot serve: listening on {url}", highlight=False)
        for entity_type, names in sources.items():
            dag_id = settings.scot.airflow_dag_id.format(entity_type=entity_type)
            err.print(f"  {dag_id}: {', '.join(names)}", highlight=False)

    logging.getLogger("pipeline.scot").setLevel(logging.INFO)
    serve(settings, listen or settings.scot.listen, ready)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # urllib3 logs request URLs at DEBUG, and Shodan takes its API key in the URL: keep it quiet.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # The index client logs each retry with a full traceback; the error that follows names index.url.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    try:
        app()
    except PipelineError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
