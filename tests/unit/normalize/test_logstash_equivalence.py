"""Logstash's semantics, simulated: the committed pipelines of logstash/, parsed and run by the interpreter
(logstash_interpreter.py), then completed by the job's completion step (pipeline/normalize/complete.py),
give for every line the document the Python normaliser gives, with the same id, or the same dead letter.

Hash options run in Java HashMap order (what Logstash does) and in the reverse of file order: a config whose
result depends on the order of a hash's entries fails one of them.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.events import Event, Rejected, document_id, get_path
from pipeline.normalize import Normalizer, find_botes_files, read_lines
from pipeline.normalize.complete import Completion, LogstashCompletion
from pipeline.normalize.handoff import READ, READ_RECORD, reproduced_keys
from pipeline.normalize.maps import load_field_table
from pipeline.normalize.sources import SOURCE_TYPES
from tests.unit.normalize.logstash_grammar import Branch, Config, Plugin, Section
from tests.unit.normalize.logstash_interpreter import Output, Pipeline, Timestamp

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden"
DATA = ROOT / "tests" / "data"
NAMES = sorted(SOURCE_TYPES)
ORDERS = ("java", "reverse")
READ_AT = 1_500_000_000_000  # the interpreter's clock: when Logstash read the line (2017-07-14T02:40:00Z)


@pytest.fixture(scope="module")
def configs(logstash_configs: dict[str, Config]) -> dict[str, Config]:
    return logstash_configs


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def _pipelines(configs: dict[str, Config], order: str = "java", data: Path | None = None) -> dict[str, Pipeline]:
    env = {"BOTES_DATA": str(data)} if data else {}
    return {name: Pipeline(config, env, hash_order=order, now=lambda: READ_AT) for name, config in configs.items()}


def _golden_lines(source_type: str) -> list[str]:
    return [line for line in (GOLDEN / source_type / "input.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _same_document(completed: Event | Rejected, expected: Event | Rejected, where: str) -> None:
    assert not isinstance(completed, Rejected), f"{where}: {completed.reason}"
    assert not isinstance(expected, Rejected), f"{where}: {expected.reason}"
    if "no event time found; @timestamp is the time the event was read" in str(get_path(expected, "botes.normalize")):
        # both take the time the line was read: Logstash's read time, the normaliser's clock
        assert completed["@timestamp"] == str(Timestamp(READ_AT)), where
        completed = {**completed, "@timestamp": expected["@timestamp"]}
    assert document_id(completed) == document_id(expected), where
    assert completed == expected, where


def _allowed(source_type: str) -> set[str]:
    """Where a pipeline may write: table fields, the common fields, the marker."""
    return {*(spec.ecs for spec in load_field_table(source_type).values()), "event.original", "event.dataset",
            "event.module", "ecs.version", "observer"}


def _written(document: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in document.items():
        if isinstance(value, dict) and value and prefix + key != "botes.logstash":
            yield from _written(value, f"{prefix}{key}.")
        else:
            yield prefix + key


# --- the golden cases ------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("source_type", NAMES)
def test_golden_cases_through_logstash_and_the_job_are_the_normalisers_documents(
        configs: dict[str, Config], normalizer: Normalizer, source_type: str, order: str) -> None:
    pipeline = _pipelines(configs, order)[source_type]
    completion = LogstashCompletion()
    source = SOURCE_TYPES[source_type]
    for number, line in enumerate(_golden_lines(source_type), start=1):
        where = f"{source_type} line {number}"
        (output,) = pipeline.run_line(line, f"/data/botesv1.{source_type}.json")
        assert output.topic == f"botes.{source.family}", where
        if line.startswith("{"):  # a JSON record is Logstash's to read (a syslog line may be the job's)
            assert output.document["botes"]["logstash"][READ] == READ_RECORD, where
        allowed = _allowed(source_type)
        stray = [path for path in _written(output.document) if path not in {"@timestamp", "botes.logstash"}
                 and not any(path == a or path.startswith(f"{a}.") for a in allowed)]
        assert not stray, f"{where}: Logstash wrote fields the table has no row for: {stray}"
        _same_document(completion.complete(output.document), normalizer.normalize_line(line, source_type), where)


def test_logstash_fills_most_fields_itself(configs: dict[str, Config]) -> None:
    """The job converts only what Logstash cannot (IP addresses, what prepare hooks change, deferred values):
    over the golden cases, most fields come from Logstash."""
    pipelines, completion = _pipelines(configs), LogstashCompletion()
    from_logstash = converted_here = 0
    for source_type in NAMES:
        for line in _golden_lines(source_type):
            (output,) = pipelines[source_type].run_line(line, "/data/x")
            result = completion.completion(output.document)
            assert isinstance(result, Completion)
            from_logstash += len(result.from_logstash)
            converted_here += len(result.converted_here)
    assert from_logstash > 5 * converted_here, (from_logstash, converted_here)


@pytest.mark.parametrize("source_type", [n for n in NAMES if reproduced_keys(SOURCE_TYPES[n]) & {"time", "_time"}])
def test_logstash_reads_the_times_the_prepare_hooks_fix(configs: dict[str, Config], source_type: str) -> None:
    """FortiGate date + time (+ tz), IIS date + time and the classic Windows times are Logstash's own work:
    @timestamp comes from Logstash unless the record's time is one Logstash defers (epoch nanoseconds)."""
    pipeline, completion = _pipelines(configs)[source_type], LogstashCompletion()
    checked = 0
    for number, line in enumerate(_golden_lines(source_type), start=1):
        (output,) = pipeline.run_line(line, "/data/x")
        marker = output.document["botes"]["logstash"]
        deferred = marker.get("deferred", [])
        if marker[READ] != READ_RECORD or "eventtime" in ([deferred] if isinstance(deferred, str) else deferred):
            continue  # a syslog line the job reads; FortiOS eventtime in ns (Python divides floats: not exact)
        result = completion.completion(output.document)
        assert isinstance(result, Completion)
        assert "@timestamp" in result.from_logstash, f"{source_type} line {number}"
        checked += 1
    assert checked >= 2


def test_hexadecimal_process_ids_are_converted_by_logstash(configs: dict[str, Config]) -> None:
    line = next(line for line in _golden_lines("wineventlog-security") if '"0x' in line)
    (output,) = _pipelines(configs)["wineventlog-security"].run_line(line, "/data/x")
    record = json.loads(line)
    hex_value = next(value for key, value in record.items() if key.endswith("Process_ID") and "0x" in str(value))
    pids = output.document["process"]
    assert int(hex_value, 16) in [pids.get("pid"), *(pids.get("parent", {}) or {}).values()]
    result = LogstashCompletion().completion(output.document)
    assert isinstance(result, Completion) and "process.pid" in result.from_logstash


# --- hash order ----------------------------------------------------------------------------------------

def _merge_rename_levels(nodes: tuple[Plugin | Branch, ...]) -> tuple[Plugin | Branch, ...]:
    """The pipeline as the old generator wrote it: every rename out of the record in one mutate."""
    merged: dict[str, Any] = {}
    out: list[Plugin | Branch | None] = []
    for node in nodes:
        if isinstance(node, Branch):
            out.append(Branch(tuple(replace(c, body=_merge_rename_levels(c.body)) for c in node.clauses)))
        elif node.name == "mutate" and [k for k, _ in node.attributes] == ["rename"] and all(
                source.startswith("[@metadata][botes][") for source in node.get("rename")):
            if not merged:
                out.append(None)
            merged.update(node.get("rename"))
        else:
            out.append(node)
    return tuple(Plugin("mutate", (("rename", merged),)) if node is None else node for node in out)


@pytest.mark.parametrize(("source_type", "number"), [("fgt_traffic", 1), ("fgt_utm", 4)])
def test_renames_in_one_mutate_depend_on_hash_order_and_the_test_sees_it(
        configs: dict[str, Config], normalizer: Normalizer, source_type: str, number: int) -> None:
    """action and vendor_action both fill event.action; in one mutate their order is the hash's. In
    reverse file order the old layout gives the wrong action; the generated blocks do not."""
    config = configs[source_type]
    old = Config(tuple(Section(s.kind, _merge_rename_levels(s.body)) if s.kind == "filter" else s
                       for s in config.sections))
    line = _golden_lines(source_type)[number - 1]
    expected = normalizer.normalize_line(line, source_type)
    assert not isinstance(expected, Rejected)

    def action(pipeline_config: Config, order: str) -> Any:
        (output,) = Pipeline(pipeline_config, hash_order=order).run_line(line, "/data/x")
        completed = LogstashCompletion().complete(output.document)
        assert not isinstance(completed, Rejected)
        return get_path(completed, "event.action")

    assert action(old, "file") == get_path(expected, "event.action")  # file order happens to be right
    assert action(old, "reverse") != get_path(expected, "event.action")
    assert action(config, "reverse") == action(config, "java") == get_path(expected, "event.action")


# --- whole directories: which files are read, bad lines, dead letters -----------------------------------

def _replay(directory: Path, normalizer: Normalizer) -> list[Event | Rejected]:
    """What `botes replay DIR` makes of a directory, line by line."""
    return [normalizer.normalize_line(line, botes_file.source_type, f"{botes_file.path}:{number}")
            for botes_file in find_botes_files([directory]) for number, line in read_lines(botes_file.path)]


def _logstash(directory: Path, configs: dict[str, Config]) -> list[Event | Rejected]:
    """What the Logstash pipelines and then the job make of the same directory, line by line."""
    completion = LogstashCompletion()
    pipelines = _pipelines(configs, data=directory)
    results: list[Event | Rejected] = []
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        readers = [name for name, pipeline in pipelines.items() if pipeline.reads(str(directory), path.name)]
        assert len(readers) <= 1, f"{path.name} is read by {readers}"
        for name in readers:
            for output in pipelines[name].run_file(str(path), path.read_bytes()):
                results.append(_received(output, completion))
    return results


def _received(output: Output, completion: LogstashCompletion) -> Event | Rejected:
    if output.topic == "botes.dead-letter":
        d = output.document
        return Rejected(d["reason"], d["raw"], d.get("source_type"), d.get("location"))
    return completion.complete(output.document)


def _same_results(logstash: list[Event | Rejected], replay: list[Event | Rejected]) -> None:
    assert len(logstash) == len(replay)
    for number, (got, expected) in enumerate(zip(logstash, replay, strict=True), start=1):
        if isinstance(expected, Rejected):
            assert isinstance(got, Rejected), f"result {number}: an event where replay has {expected.reason!r}"
            assert (got.reason, got.raw, got.source_type) == (expected.reason, expected.raw, expected.source_type)
            assert expected.location is not None and got.location == expected.location.rsplit(":", 1)[0]
        else:
            _same_document(got, expected, f"result {number}")


def test_malformed_inputs_give_the_same_events_and_dead_letters(configs: dict[str, Config],
                                                                normalizer: Normalizer) -> None:
    """tests/data/bad: a bad IP (an event with an error), truncated JSON, a JSON array, a JSON string,
    bytes that are not UTF-8, a blank line, and a file of a source type nobody knows."""
    bad = DATA / "bad"
    replay, logstash = _replay(bad, normalizer), _logstash(bad, configs)
    _same_results(logstash, replay)
    reasons = [r.reason.split(":")[0] for r in replay if isinstance(r, Rejected)]
    assert {"not JSON", "not a JSON object but a list", "not UTF-8"} <= {r.split(" (")[0] for r in reasons}
    assert any(r.startswith("unknown source type 'stream-unknown'") for r in reasons)


def test_file_names_crlf_gzip_and_other_spellings(tmp_path: Path, configs: dict[str, Config],
                                                  normalizer: Normalizer) -> None:
    """SYNTHETIC files written here: the Splunk spelling in capitals, CRLF line ends (no \\r may reach
    event.original, or the ids differ), a .gz file, a type name with spaces, and names replay does not read."""
    lines = _golden_lines("suricata")
    (tmp_path / "BOTESV1.SURICATA:EVE.JSON").write_bytes("\r\n".join(lines[:3]).encode() + b"\r\n")
    fortigate = "\n".join(_golden_lines("fgt_traffic")).encode()
    (tmp_path / "botesv1.fgt:traffic.json.gz").write_bytes(gzip.compress(fortigate))
    (tmp_path / "botesv1. IIS .json").write_text("\n".join(_golden_lines("iis")), encoding="utf-8")
    (tmp_path / "botesv1.suricata.json.bak").write_text(lines[0], encoding="utf-8")
    (tmp_path / "notes.json").write_text(lines[0], encoding="utf-8")
    replay, logstash = _replay(tmp_path, normalizer), _logstash(tmp_path, configs)
    assert len(replay) == 3 + len(_golden_lines("fgt_traffic")) + len(_golden_lines("iis"))
    _same_results(logstash, replay)


# The real lines the kv filter does not read as FortiOS does, so Logstash sends them whole for the job to read:
# traffic.log line 5 gives tz twice (tz="UTC-5" ... tz="-0500"), event.log line 3 has escaped quotes in a value.
LEFT_TO_THE_JOB: dict[str, set[int]] = {"traffic.log": {5}, "event.log": {3}}


@pytest.mark.parametrize(("source_type", "path"), [
    ("fgt_traffic", DATA / "fortigate" / "traffic.log"), ("fgt_utm", DATA / "fortigate" / "utm.log"),
    ("fgt_event", DATA / "fortigate" / "event.log"),
    *(("suricata", path) for path in sorted((DATA / "suricata").glob("*.json"))),
])
def test_real_fortigate_syslog_and_suricata_lines(configs: dict[str, Config], normalizer: Normalizer,
                                                  source_type: str, path: Path) -> None:
    """REAL lines (tests/data/README.md). FortiGate key=value lines are read by the kv filter when it
    reads them as FortiOS does; the others are read by the job."""
    pipeline, completion = _pipelines(configs)[source_type], LogstashCompletion()
    left_to_the_job: set[int] = set()
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        (output,) = pipeline.run_line(line, str(path))
        if output.document["botes"]["logstash"][READ] != READ_RECORD:
            left_to_the_job.add(number)
        _same_document(completion.complete(output.document), normalizer.normalize_line(line, source_type),
                       f"{path.name} line {number}")
    assert left_to_the_job == LEFT_TO_THE_JOB.get(path.name, set())
