"""The generated Logstash pipelines: up to date, valid Logstash syntax, the normaliser's table, and each of
issue 16's findings on the generated files. Their behaviour is checked by test_logstash_equivalence.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import KafkaException, Producer

from pipeline.normalize.ecs import ecs_schema
from pipeline.normalize.files import source_type_from_name
from pipeline.normalize.logstash import (
    GENERATED_MARK,
    RECORD,
    field_reference,
    generate_pipelines,
    record_references,
    render_pipeline,
    render_pipelines_yml,
)
from pipeline.normalize.maps import FieldSpec, FieldTable, load_field_table
from pipeline.normalize.sources import SOURCE_TYPES, resolve_source_type
from pipeline.normalize.sourcetype import SourceType, nothing_to_finish
from tests.unit.normalize.logstash_grammar import (
    Config,
    LogstashSyntaxError,
    Plugin,
    parse_config,
    plugins_in,
)
from tests.unit.normalize.logstash_interpreter import Pipeline

ROOT = Path(__file__).resolve().parents[3]
LOGSTASH_DIR = ROOT / "logstash"
REGENERATE = "run `python scripts/generate_logstash.py` and commit logstash/"
# What each normaliser type becomes in mutate's convert, written out here rather than imported.
EXPECTED_CONVERSIONS = {"long": "integer", "float": "float", "boolean": "boolean", "keyword": "string",
                        "ip": "string"}
NAMES = sorted(SOURCE_TYPES)
NORMALISE = 'if [botes][logstash][read] == "record"'


@pytest.fixture(scope="module")
def parsed(logstash_configs: dict[str, Config]) -> dict[str, Config]:
    return logstash_configs


def _filters(config: Config) -> list[tuple[Plugin, tuple[str, ...]]]:
    """The normalising filters: those in the branch for lines read as records."""
    return [(p, where) for p, where in plugins_in(config.section("filter")) if where and where[0] == NORMALISE]


def _original(reference: str) -> str:
    """``[@metadata][botes][alert][signature]`` and ``[@metadata][botes][alert.signature]`` -> alert.signature."""
    assert reference.startswith(RECORD + "["), reference
    return reference[len(RECORD):].strip("[]").replace("][", ".")


def _ecs(reference: str) -> str:
    return reference.strip("[]").replace("][", ".")


def _rename_blocks(config: Config) -> list[dict[str, str]]:
    """The renames out of the record, one dict per mutate, in file order."""
    return [plugin.get("rename") for plugin, _ in _filters(config)
            if plugin.name == "mutate" and plugin.get("rename")
            and all(source.startswith(RECORD + "[") for source in plugin.get("rename"))]


def _timestamp_dates(config: Config) -> list[str]:
    """The record fields parsed into @timestamp, in file order."""
    return list(dict.fromkeys(plugin.get("match")[0] for plugin, _ in _filters(config)
                              if plugin.name == "date" and plugin.get("target") == "@timestamp"))


def _renames(config: Config) -> set[tuple[str, str, str]]:
    """(original, ECS field, reference) of every rename out of the record and every date into @timestamp."""
    found = {(_original(source), _ecs(target), source) for block in _rename_blocks(config)
             for source, target in block.items()}
    found |= {(_original(source), "@timestamp", source) for source in _timestamp_dates(config)}
    return found


def _row_of(table: FieldTable, original: str) -> str:
    """The table row a record key (any spelling) belongs to."""
    return original if original in table else (original[:-2] if original.endswith("{}") else f"{original}{{}}")


# --- 1. generation is up to date ------------------------------------------------------------------------

def test_committed_pipelines_are_what_the_tables_generate(tmp_path: Path) -> None:
    written = generate_pipelines(tmp_path)
    generated = {p.relative_to(tmp_path).as_posix() for p in written}
    committed = {p.relative_to(LOGSTASH_DIR).as_posix() for p in [*LOGSTASH_DIR.glob("pipeline/*.conf"),
                                                                  LOGSTASH_DIR / "pipelines.yml"] if p.exists()}
    assert committed == generated, f"logstash/ has other files than the tables generate: {REGENERATE}"
    stale = [name for name in sorted(generated)
             if (tmp_path / name).read_bytes() != (LOGSTASH_DIR / name).read_bytes()]
    assert not stale, f"{', '.join(stale)} differ from what the field tables generate: {REGENERATE}"


def test_generation_removes_pipelines_of_types_that_are_gone_and_keeps_hand_written_ones(tmp_path: Path) -> None:
    pipeline_dir = tmp_path / "pipeline"
    pipeline_dir.mkdir()
    (pipeline_dir / "gone.conf").write_text(f"{GENERATED_MARK} from ...\n", encoding="utf-8")
    (pipeline_dir / "mine.conf").write_text("input { stdin { } }\n", encoding="utf-8")
    generate_pipelines(tmp_path)
    assert not (pipeline_dir / "gone.conf").exists()
    assert (pipeline_dir / "mine.conf").exists()


def test_pipelines_yml_lists_every_source_type_with_one_worker_each() -> None:
    entries = yaml.safe_load((LOGSTASH_DIR / "pipelines.yml").read_text(encoding="utf-8"))
    assert [e["pipeline.id"] for e in entries] == [f"botes-{name}" for name in [*NAMES, "unknown"]]
    assert [Path(e["path.config"]).name for e in entries] == [f"{name}.conf" for name in [*NAMES, "unknown"]]
    assert all(e["pipeline.ecs_compatibility"] == "v8" for e in entries)
    # 23 pipelines with Logstash's default (one worker per core) would start 23 x cores threads
    assert all(e["pipeline.workers"] == 1 for e in entries)


# --- 2. the parsed pipelines apply the normaliser's own table --------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_renames_in_the_parsed_pipeline_are_the_field_table(parsed: dict[str, Config], name: str) -> None:
    table = load_field_table(name)
    renames = _renames(parsed[name])
    assert {(_row_of(table, original), ecs) for original, ecs, _ in renames} == {
        (s.original, s.ecs) for s in table.values()}
    # a dotted original is found both as nested objects and as one dotted key, as the normaliser does
    references = {reference for original, _, reference in renames if "." in original and "{}" not in original}
    for original in (o for o in table if "." in o and "{}" not in o):
        nested = RECORD + "".join(f"[{part}]" for part in original.split("."))
        assert {nested, f"{RECORD}[{original}]"} <= references, original


@pytest.mark.parametrize("name", NAMES)
def test_values_take_the_type_the_table_gives(parsed: dict[str, Config], name: str) -> None:
    table = load_field_table(name)
    types: dict[str, set[str]] = {}
    for spec in table.values():
        if spec.ecs != "@timestamp":
            types.setdefault(spec.ecs, set()).add(spec.type)
    assert all(len(kinds) == 1 for kinds in types.values()), f"rows of {name} disagree on a field's type"
    converts: dict[str, set[str]] = {}
    for plugin, _ in _filters(parsed[name]):
        if plugin.name == "mutate":
            for reference, kind in plugin.get("convert", {}).items():
                if reference.startswith(RECORD + "["):
                    converts.setdefault(_row_of(table, _original(reference)), set()).add(kind)
    dates = {_row_of(table, _original(p.get("match")[0])) for p, _ in _filters(parsed[name]) if p.name == "date"}
    for spec in table.values():
        if spec.type in EXPECTED_CONVERSIONS:
            assert EXPECTED_CONVERSIONS[spec.type] in converts.get(spec.original, set()), spec
        if spec.type == "date":
            assert spec.original in dates, spec


@pytest.mark.parametrize("name", NAMES)
def test_common_fields_input_and_topic(parsed: dict[str, Config], name: str) -> None:
    source = SOURCE_TYPES[name]
    config = parsed[name]
    replaced: dict[str, Any] = {}
    for plugin, _ in plugins_in(config.section("filter")):
        if plugin.name == "mutate":
            replaced.update(plugin.get("replace", {}))
    assert replaced["[event][dataset]"] == name
    assert replaced["[event][module]"] == source.module
    assert replaced["[ecs][version]"] == ecs_schema().version
    for key, value in source.observer.items():
        assert replaced[f"[observer][{key}]"] == value

    (file_input, _), = plugins_in(config.section("input"))
    assert file_input.name == "file" and file_input.get("mode") == "read"
    assert file_input.get("file_completed_action") == "log"  # never the default, which deletes the data
    (kafka, _), = plugins_in(config.section("output"))
    assert kafka.get("topic_id") == f"botes.{source.family}"


def test_topic_prefix_and_bootstrap_servers_are_parameters() -> None:
    config = parse_config(render_pipeline(SOURCE_TYPES["suricata"], topic_prefix="lab.",
                                          kafka_bootstrap="broker:9093"))
    (kafka, _), = plugins_in(config.section("output"))
    assert (kafka.get("topic_id"), kafka.get("bootstrap_servers")) == ("lab.ids", "broker:9093")


@pytest.mark.parametrize("name", NAMES)
def test_header_names_what_the_job_does(name: str) -> None:
    source = SOURCE_TYPES[name]
    header = [line for line in (LOGSTASH_DIR / "pipeline" / f"{name}.conf").read_text().splitlines()
              if line.startswith("#")][:6]
    left = next(line for line in header if line.startswith("# Left to the job"))
    assert "related.*" in left
    if source.finish is not nothing_to_finish:
        hook = source.finish
        assert f"{getattr(hook, '__qualname__', type(hook).__qualname__)}()" in left


# --- 3. issue 16's findings, on the generated files --------------------------------------------------------

def _kafka_outputs(parsed: dict[str, Config]) -> list[Plugin]:
    return [plugin for config in parsed.values() for plugin, _ in plugins_in(config.section("output"))]


def test_the_required_logstash_version_is_the_one_that_reads_hexadecimal() -> None:
    """logstash-filter-mutate 3.5.9 (Logstash 8.19.7, 9.1.7, 9.2.1) converts "0x1a4" to 420; 3.5.8 gives 0."""
    readme = (LOGSTASH_DIR / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"logstash/logstash:([0-9.]+)", readme) == ["8.19.7"]  # the image the docs run
    assert re.search(r"Logstash 8\.19\.7 or later\*\* \(or 9\.1\.7\+, 9\.2\.1\+\)", readme)
    assert "8.14 or later" not in readme
    main = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Logstash 8.19.7+" in main and re.findall(r"logstash/logstash:([0-9.]+)", main) == ["8.19.7"]
    for path in (LOGSTASH_DIR / "pipeline").glob("*.conf"):
        assert "# Needs Logstash 8.19.7+ / 9.1.7+ / 9.2.1+" in path.read_text(encoding="utf-8"), path.name


# Precedences written out by hand (the issue's examples and the normaliser's rules): lower first.
PRECEDENCE = {
    "wineventlog-security": [("message", "Message"), ("New_Process_ID", "Process_ID"),
                             ("Name", "New_Process_Name", "Process_Name")],
    "fgt_traffic": [("status", "action", "vendor_action"), ("user", "unauthuser")],
    "fgt_event": [("srcip", "remip"), ("dstip", "locip"), ("state", "action", "vendor_action")],
    "fgt_utm": [("action", "vendor_action")],
}


@pytest.mark.parametrize("name", NAMES)
def test_a_field_several_originals_fill_is_renamed_in_separate_blocks(parsed: dict[str, Config], name: str) -> None:
    """mutate renames in the HashMap order of its hash: no block may hold two renames to one field."""
    for block in _rename_blocks(parsed[name]):
        targets = list(block.values())
        assert len(targets) == len(set(targets)), f"{name}: one mutate renames several originals to one field"


@pytest.mark.parametrize("name", sorted(PRECEDENCE))
def test_the_blocks_apply_the_normalisers_precedence(parsed: dict[str, Config], name: str) -> None:
    block_of = {_original(source): number for number, block in enumerate(_rename_blocks(parsed[name]))
                for source in block}
    for lower_first in PRECEDENCE[name]:
        blocks = [block_of[original] for original in lower_first]
        assert blocks == sorted(blocks) and len(set(blocks)) == len(blocks), (name, lower_first, blocks)


@pytest.mark.parametrize(("name", "lower_first"), [
    ("fgt_traffic", ["_time", "time", "eventtime"]), ("stream-dns", ["time", "_time", "timestamp"]),
    ("suricata", ["time", "timestamp"]),
])
def test_times_are_parsed_lowest_precedence_first(parsed: dict[str, Config], name: str,
                                                  lower_first: list[str]) -> None:
    order = [_original(source) for source in _timestamp_dates(parsed[name])]
    assert [o for o in order if o in lower_first] == lower_first


def _date_matches(config: Config, original: str) -> list[Plugin]:
    return [p for p, _ in _filters(config) if p.name == "date" and p.get("match")[0] == f"{RECORD}[{original}]"]


@pytest.mark.parametrize("name", ["wineventlog-application", "wineventlog-security", "wineventlog-system",
                                  "winregistry"])
def test_classic_windows_times_have_their_date_patterns(parsed: dict[str, Config], name: str) -> None:
    dates = _date_matches(parsed[name], "time")
    formats = [fmt for p in dates for fmt in p.get("match")[1:]]
    assert "MM/dd/yyyy h:mm:ss a" in formats and "MM/dd/yyyy HH:mm:ss.SSS" in formats
    for date in dates:
        if date.get("match")[1].startswith("MM/"):
            assert date.get("locale") == "en"
            assert date.get("timezone") == "${BOTES_NORMALIZE__DEFAULT_TIMEZONE:UTC}"


def test_only_windows_reads_classic_times(parsed: dict[str, Config]) -> None:
    for name in NAMES:
        text = (LOGSTASH_DIR / "pipeline" / f"{name}.conf").read_text(encoding="utf-8")
        assert ("MM/dd/yyyy" in text) == name.startswith(("wineventlog", "winregistry")), name


def test_iis_joins_date_and_time_before_parsing(parsed: dict[str, Config]) -> None:
    replaced = [p.get("replace") for p, _ in _filters(parsed["iis"]) if p.name == "mutate" and p.get("replace")]
    assert {f"{RECORD}[time]": f"%{{{RECORD}[date]}}T%{{{RECORD}[time]}}+00:00"} in replaced
    assert _date_matches(parsed["iis"], "time")


@pytest.mark.parametrize("name", NAMES)
def test_fortigate_key_value_lines_go_through_kv(parsed: dict[str, Config], name: str) -> None:
    kvs = [(p, where) for p, where in plugins_in(parsed[name].section("filter")) if p.name == "kv"]
    if not name.startswith("fgt_"):
        assert not kvs
        return
    (kv, where), = kvs
    assert where[0].startswith('if "_jsonparsefailure" in [tags]')  # the branch of lines that are not JSON
    assert (kv.get("target"), kv.get("value_split"), kv.get("whitespace"), kv.get("include_brackets")) == (
        RECORD, "=", "strict", "false")


# Which pipeline reads a file: the one of the source type `botes replay` gives it, any other BOTES name goes
# to the pipeline of unknown types, anything else to none.
FILE_NAMES = ["botesv1.fgt_traffic.json", "botesv1.fgt_traffic.json.gz", "BOTESV1.FGT_TRAFFIC.JSON",
              "botesv1.fgt:traffic.json", "Botesv1.Fgt:Traffic.Json.gz", "botesv1.suricata:eve.json",
              "botesv1.xmlwineventlog-microsoft-windows-sysmon-operational.json", "botesv1.stream-dns.json",
              "botesv1.nessus:scan.json", "botesv1.wineventlog:security.json.gz", "botesv1.winregistry.json",
              "botesv1.fgt_traffic.json.bak", "botesv1.fgt_traffic.jsonl", "botesv1.fgt_traffic.json.gz.1",
              "fgt_traffic.json", "botesv1.json", "botesv1..json", ".botesv1.iis.json", "botesv1.iis.json~",
              "botesv1.stream-unknown.json", "botesv1.x.json.json", "botesv1. iis .json", "botesv1.IIS.json.gz"]


def _expected_reader(file_name: str) -> str | None:
    kind = source_type_from_name(Path(file_name))
    if kind is None or file_name.startswith("."):
        return None
    source = resolve_source_type(kind)
    exact = source is not None and kind in {source.name, *source.aliases} | {source.name.upper()} or (
        source is not None and kind.lower() in {source.name, *source.aliases} and kind == kind.strip())
    return source.name if exact and source is not None else "unknown"


@pytest.mark.parametrize("file_name", FILE_NAMES)
def test_path_globs_read_exactly_the_files_replay_reads(parsed: dict[str, Config], file_name: str) -> None:
    readers = [name for name, config in parsed.items()
               if Pipeline(config, {"BOTES_DATA": "/data"}).reads("/data", file_name)]
    expected = _expected_reader(file_name)
    assert readers == ([expected] if expected else []), file_name


def test_upper_case_gz_is_not_read_as_text(parsed: dict[str, Config]) -> None:
    """The file input decompresses only a lower-case ".gz" (filewatch/watched_file.rb): such a file would
    be read as compressed bytes, so no pipeline reads it (replay does; logstash/README.md says so)."""
    for name, config in parsed.items():
        assert not Pipeline(config).reads("/data", "botesv1.iis.json.GZ"), name


def test_kafka_outputs_have_their_own_client_id_and_replays_size_limit(parsed: dict[str, Config]) -> None:
    outputs = _kafka_outputs(parsed)
    client_ids = [o.get("client_id") for o in outputs]
    assert len(client_ids) == len(set(client_ids)) == len(parsed)
    assert {o.get("max_request_size") for o in outputs} == {1_000_000}


def test_replay_refuses_messages_over_the_same_size() -> None:
    """botes replay's producer (librdkafka, message.max.bytes left at its default) refuses a message larger
    than 1,000,000 bytes before sending it: the Logstash outputs are set to the same limit."""
    producer = Producer({"bootstrap.servers": "127.0.0.1:9", "message.timeout.ms": 1})
    producer.produce("botes.ids", value=b"x" * 999_000)
    with pytest.raises(KafkaException, match="MSG_SIZE_TOO_LARGE"):
        producer.produce("botes.ids", value=b"x" * 1_000_001)
    producer.purge()
    producer.flush(0)


def test_no_event_keeps_an_empty_tags_field(parsed: dict[str, Config]) -> None:
    """Tags a filter adds are removed with the whole field at the end (remove_tag alone leaves [])."""
    for name in NAMES:
        (last, _), = list(plugins_in(parsed[name].section("filter")))[-1:]
        assert last.name == "mutate" and "tags" in last.get("remove_field"), name
    for line in ('{"timestamp": "2016-08-10T22:00:00Z"', "[1, 2]", '{"timestamp": "2016-08-10T22:00:00Z"}'):
        (output,) = Pipeline(parsed["suricata"]).run_line(line, "/data/botesv1.suricata.json")
        assert "tags" not in output.document, line


# --- the generator on a small synthetic table ------------------------------------------------------------

def _synthetic_source() -> tuple[SourceType, FieldTable]:
    """A made-up source type, not one of the BOTES maps."""
    source = SourceType("synthetic", "lab", "synthetic", {"vendor": "Example"})
    rows = [FieldSpec("ts", "@timestamp", "date"), FieldSpec("alert.signature", "rule.name", "keyword"),
            FieldSpec("ports{}.port", "destination.port", "long"), FieldSpec("name{}", "dns.question.name", "keyword"),
            FieldSpec("alert.detail.level", "botes.alert.level", "float"), FieldSpec("seen", "event.start", "date"),
            FieldSpec("a", "source.ip", "ip"), FieldSpec("b", "source.ip", "ip")]
    return source, {spec.original: spec for spec in rows}


def test_references_of_original_and_ecs_fields() -> None:
    assert field_reference("rule.name") == "[rule][name]"
    assert record_references("srcip") == ["[@metadata][botes][srcip]"]
    assert record_references("alert.signature") == ["[@metadata][botes][alert][signature]",
                                                     "[@metadata][botes][alert.signature]"]
    assert record_references("ports{}.port") == ["[@metadata][botes][ports{}.port]"]  # a Splunk key, always literal
    for bad in ("a[0]", "a,b", 'say "x"', "%{x}"):
        with pytest.raises(ValueError):
            record_references(bad)


def test_synthetic_table_becomes_the_expected_filters() -> None:
    source, table = _synthetic_source()
    config = parse_config(render_pipeline(source, table=table))
    assert {(_row_of(table, o), e) for o, e, _ in _renames(config)} == {(s.original, s.ecs) for s in table.values()}
    blocks = _rename_blocks(config)
    a, b = (next(n for n, block in enumerate(blocks) if f"{RECORD}[{k}]" in block) for k in ("a", "b"))
    assert a < b  # two rows fill source.ip: the later row wins, in a later block
    merges = [p.get("merge") for p, _ in _filters(config) if p.name == "mutate" and p.get("merge")]
    spellings_with_braces = {f"{RECORD}[name{{}}]", f"{RECORD}[ports{{}}.port]",
                             *(f"{RECORD}[{o}{{}}]" for o in table if "{}" not in o)}
    assert {k for m in merges for k in m} == spellings_with_braces  # Splunk's spelling of every other row too
    converted = {k: v for p, _ in _filters(config) if p.name == "mutate" for k, v in p.get("convert", {}).items()}
    assert converted[f"{RECORD}[ports{{}}.port]"] == "integer"
    assert converted[f"{RECORD}[alert][detail][level]"] == "float"


def test_a_table_with_an_unwritable_original_field_is_refused() -> None:
    source, table = _synthetic_source()
    table["bad[0]"] = FieldSpec("bad[0]", "message", "keyword")
    with pytest.raises(ValueError, match="field reference"):
        render_pipeline(source, table=table)


def test_pipelines_yml_for_given_sources() -> None:
    source, _ = _synthetic_source()
    text = render_pipelines_yml([source], config_dir="/etc/ls")
    assert yaml.safe_load(text) == [
        {"pipeline.id": "botes-synthetic", "path.config": "/etc/ls/synthetic.conf", "pipeline.ecs_compatibility": "v8",
         "pipeline.workers": 1},
        {"pipeline.id": "botes-unknown", "path.config": "/etc/ls/unknown.conf", "pipeline.ecs_compatibility": "v8",
         "pipeline.workers": 1}]


# --- 4. the grammar itself --------------------------------------------------------------------------------

VALID = {
    "empty": "",
    "comments": "# a comment\ninput { # another\n  stdin { }\n}\n",
    "every value": ('filter { m { a => 1 b => -2.5 c => "s" d => \'t\' e => [1, "x", [2]] '
                    'f => { "k" => 1 k2 => [] 3 => "v" } g => json { x => 1 } h => ab } }'),
    "conditions": ('filter { if [a][b] == "x" and ([c] != 1 or !([d] in ["p", "q"])) { x { } } '
                   'else if "v" not in [tags] { } else if [e] !~ /a\\/b/ { } else if [f] =~ "y" { } else { } }'),
    "method call": 'filter { if foo([a], "b") { } }',
    "escaped quote": 'filter { m { a => "x \\" y" } }',
    "plugin named by a string": 'filter { "my-plugin" { } }',
    "several sections": "input { a { } } filter { } output { b { } } filter { }",
    "no spaces": 'filter{if[a]=="x"{m{a=>1}}else{n{}}}',
    "names that start like keywords": "filter { if [a] { } elsewhere { } iffy { } }",
    "comment before else": "filter { if [a] { }\n  # why\n  else { } }",
    "one-element array": 'filter { m { a => ["x"] } }',
    "selector with {}": 'filter { if [@metadata][botes][name{}] { m { a => "[x][y z]" } } }',
}

INVALID = {
    "unbalanced braces": "filter { mutate { } ",
    "a brace too many": "filter { mutate { } } }",
    "=> without value": "filter { mutate { rename => } }",
    "=> without value in a hash": 'filter { mutate { rename => { "a" => } } }',
    "unterminated string": 'filter { mutate { a => "x } }',
    "unknown section": "foo { }",
    "plugin outside a section": "mutate { }",
    "attribute directly in a section": "input { a => 1 }",
    "trailing comma": "filter { m { x => [1,] } }",
    "else without if": "filter { else { } }",
    "two else": "filter { if [a] { } else { } else { } }",
    "if without condition": "filter { if { } }",
    "bareword in a condition": 'filter { if foo == "x" { } }',
    "one-letter bareword": "filter { m { mode => a } }",
    "bareword starting with a digit": "filter { m { a => 1abc } }",
    "duplicate hash key": 'filter { m { x => { "a" => 1 "a" => 2 } } }',
    "attributes not separated": 'filter { m { a => "x"b => "y" } }',
    "hash entries not separated": 'filter { m { a => { "k" => "x""l" => "y" } } }',
    "missing =>": 'filter { m { a "x" } }',
    "comma in a field reference": "filter { if [a,b] { } }",
    "=~ with a number": "filter { if [a] =~ 1 { } }",
    "notin": 'filter { if "a" notin [b] { } }',
    "comment not ended by a newline": "filter { }\n# end",
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_grammar_accepts_logstash_configs(text: str) -> None:
    parse_config(text)


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_grammar_rejects_broken_configs(text: str) -> None:
    with pytest.raises(LogstashSyntaxError):
        parse_config(text)


def test_grammar_gives_values_and_conditions() -> None:
    config = parse_config(VALID["every value"] + "\n" + VALID["conditions"])
    (m, _), *branches = plugins_in(config.section("filter"))
    assert dict(m.attributes) == {"a": 1, "b": -2.5, "c": "s", "d": "t", "e": [1, "x", [2]],
                                  "f": {"k": 1, "k2": [], 3: "v"}, "g": Plugin("json", (("x", 1),)), "h": "ab"}
    assert branches == [(Plugin("x", ()), ('if [a][b] == "x" and ([c] != 1 or !([d] in ["p", "q"]))',))]


def test_botes_logstash_writes_the_configured_topics_and_time_zone(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The job and replay read naive times in normalize.default_timezone: the pipelines default to it too."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    for key, value in {"BOTES_KAFKA__TOPIC_PREFIX": "lab.", "BOTES_KAFKA__DEAD_LETTER_TOPIC": "lab.bad",
                       "BOTES_NORMALIZE__DEFAULT_TIMEZONE": "Europe/Berlin"}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["logstash", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    traffic = parse_config((tmp_path / "pipeline" / "fgt_traffic.conf").read_text(encoding="utf-8"))
    (kafka, _), = plugins_in(traffic.section("output"))
    assert kafka.get("topic_id") == "lab.firewall"
    zones = {p.get("timezone") for p, _ in plugins_in(traffic.section("filter")) if p.name == "date"}
    assert zones == {"${BOTES_NORMALIZE__DEFAULT_TIMEZONE:Europe/Berlin}", None}  # None: epoch formats
    unknown = (tmp_path / "pipeline" / "unknown.conf").read_text(encoding="utf-8")
    assert '"[@metadata][botes_topic]" => "lab.bad"' in unknown
