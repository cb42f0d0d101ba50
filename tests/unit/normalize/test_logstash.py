"""The generated Logstash pipelines: up to date, valid Logstash syntax, and the same table as the normaliser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.normalize.ecs import ecs_schema
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
from pipeline.normalize.sources import SOURCE_TYPES
from pipeline.normalize.sourcetype import SourceType, nothing_to_finish
from tests.unit.normalize.logstash_grammar import (
    Config,
    LogstashSyntaxError,
    Plugin,
    parse_config,
    plugins_in,
)

LOGSTASH_DIR = Path(__file__).resolve().parents[3] / "logstash"
REGENERATE = "run `python scripts/generate_logstash.py` and commit logstash/"
# What each normaliser type becomes in mutate's convert, written out here rather than imported.
EXPECTED_CONVERSIONS = {"long": "integer", "float": "float", "boolean": "boolean", "keyword": "string",
                        "ip": "string"}
NAMES = sorted(SOURCE_TYPES)


@pytest.fixture(scope="module")
def parsed() -> dict[str, Config]:
    return {name: parse_config(render_pipeline(SOURCE_TYPES[name])) for name in NAMES}


def _filters(config: Config) -> list[tuple[Plugin, tuple[str, ...]]]:
    """The normalising filters: those in the branch for lines the json codec could read."""
    return [(p, where) for p, where in plugins_in(config.section("filter"))
            if where and where[0] == "else"]


def _original(reference: str) -> str:
    """``[@metadata][botes][alert][signature]`` and ``[@metadata][botes][alert.signature]`` -> alert.signature."""
    assert reference.startswith(RECORD + "["), reference
    return reference[len(RECORD):].strip("[]").replace("][", ".")


def _ecs(reference: str) -> str:
    return reference.strip("[]").replace("][", ".")


def _renames(config: Config) -> set[tuple[str, str, str]]:
    """(original, ECS field, reference) of every rename out of the record, and of every date filter that
    parses a record field into @timestamp."""
    found: set[tuple[str, str, str]] = set()
    for plugin, _ in _filters(config):
        if plugin.name == "mutate":
            for source, target in plugin.get("rename", {}).items():
                if source.startswith(RECORD + "["):
                    found.add((_original(source), _ecs(target), source))
        if plugin.name == "date" and plugin.get("target") == "@timestamp":
            source = plugin.get("match")[0]
            found.add((_original(source), "@timestamp", source))
    return found


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


def test_pipelines_yml_lists_every_source_type(tmp_path: Path) -> None:
    generate_pipelines(tmp_path)
    entries = yaml.safe_load((tmp_path / "pipelines.yml").read_text(encoding="utf-8"))
    assert [e["pipeline.id"] for e in entries] == [f"botes-{name}" for name in NAMES]
    assert [Path(e["path.config"]).name for e in entries] == [f"{name}.conf" for name in NAMES]
    assert sorted(p.name for p in (tmp_path / "pipeline").glob("*.conf")) == [f"{n}.conf" for n in NAMES]
    assert all(e["pipeline.ecs_compatibility"] == "v8" for e in entries)


# --- 2. the parsed pipelines apply the normaliser's own table --------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_renames_in_the_parsed_pipeline_are_the_field_table(parsed: dict[str, Config], name: str) -> None:
    table = load_field_table(name)
    renames = _renames(parsed[name])
    assert {(original, ecs) for original, ecs, _ in renames} == {(s.original, s.ecs) for s in table.values()}
    # a dotted original is found both as nested objects and as one dotted key, as the normaliser does
    references = {reference for original, _, reference in renames if "." in original and "{}" not in original}
    for original in (o for o in table if "." in o and "{}" not in o):
        nested = RECORD + "".join(f"[{part}]" for part in original.split("."))
        assert {nested, f"{RECORD}[{original}]"} <= references, original


@pytest.mark.parametrize("name", NAMES)
def test_values_take_the_type_the_table_gives(parsed: dict[str, Config], name: str) -> None:
    targets: dict[str, set[str]] = {}
    for spec in load_field_table(name).values():
        if spec.ecs != "@timestamp":
            targets.setdefault(spec.ecs, set()).add(spec.type)
    assert all(len(kinds) == 1 for kinds in targets.values()), f"rows of {name} disagree on a field's type"
    expected = {(ecs, EXPECTED_CONVERSIONS[kind]) for ecs, (kind,) in targets.items() if kind in EXPECTED_CONVERSIONS}
    date_targets = {ecs for ecs, (kind,) in targets.items() if kind == "date"}
    converts = {(_ecs(field), kind) for plugin, _ in _filters(parsed[name]) if plugin.name == "mutate"
                for field, kind in plugin.get("convert", {}).items() if not field.startswith("[@metadata]")}
    # a date is made a string before its format is tested, then parsed by a date filter into itself
    assert converts - {(ecs, "string") for ecs in date_targets} == expected
    dates = {(_ecs(p.get("match")[0]), _ecs(p.get("target"))) for p, _ in _filters(parsed[name])
             if p.name == "date" and p.get("target") != "@timestamp"}
    assert dates == {(ecs, ecs) for ecs in date_targets}


@pytest.mark.parametrize("name", NAMES)
def test_common_fields_input_and_topic(parsed: dict[str, Config], name: str) -> None:
    source = SOURCE_TYPES[name]
    config = parsed[name]
    replaced: dict[str, Any] = {}
    for plugin, _ in _filters(config):
        if plugin.name == "mutate":
            replaced.update(plugin.get("replace", {}))
    assert replaced["[event][dataset]"] == name
    assert replaced["[event][module]"] == source.module
    assert replaced["[ecs][version]"] == ecs_schema().version
    for key, value in source.observer.items():
        assert replaced[f"[observer][{key}]"] == value

    (file_input, _), = plugins_in(config.section("input"))
    assert file_input.name == "file" and file_input.get("mode") == "read"
    assert file_input.get("path").endswith(f"/botesv1.{name}.json*")
    assert file_input.get("file_completed_action") == "log"  # never the default, which deletes the data
    codec = file_input.get("codec")
    assert isinstance(codec, Plugin) and codec.name == "json" and codec.get("target") == RECORD

    outputs = {where: plugin.get("topic_id") for plugin, where in plugins_in(config.section("output"))
               if plugin.name == "kafka"}
    assert outputs == {("if [@metadata][botes_dead_letter]",): "botes.dead-letter",
                       ("else",): f"botes.{source.family}"}


def test_topic_prefix_and_bootstrap_servers_are_parameters() -> None:
    config = parse_config(render_pipeline(SOURCE_TYPES["suricata"], topic_prefix="lab.",
                                          kafka_bootstrap="broker:9093"))
    kafkas = [plugin for plugin, _ in plugins_in(config.section("output"))]
    assert {k.get("topic_id") for k in kafkas} == {"lab.ids", "lab.dead-letter"}
    assert {k.get("bootstrap_servers") for k in kafkas} == {"broker:9093"}


@pytest.mark.parametrize("name", NAMES)
def test_header_names_what_stays_python_only(name: str) -> None:
    source = SOURCE_TYPES[name]
    header = [line for line in render_pipeline(source).splitlines() if line.startswith("#")][:8]
    python_only = next(line for line in header if line.startswith("# Python-only"))
    assert "related.*" in python_only
    if source.finish is not nothing_to_finish:
        hook = source.finish
        assert f"{getattr(hook, '__qualname__', type(hook).__qualname__)}()" in python_only


# --- the generator on a small synthetic table ------------------------------------------------------------

def _synthetic_source() -> tuple[SourceType, FieldTable]:
    """A made-up source type, not one of the BOTES maps."""
    source = SourceType("synthetic", "lab", "synthetic", {"vendor": "Example"})
    rows = [FieldSpec("ts", "@timestamp", "date"), FieldSpec("alert.signature", "rule.name", "keyword"),
            FieldSpec("ports{}.port", "destination.port", "long"), FieldSpec("name{}", "dns.question.name", "keyword"),
            FieldSpec("alert.detail.level", "botes.alert.level", "float"), FieldSpec("seen", "event.start", "date")]
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
    filters = _filters(config)
    assert {(o, e) for o, e, _ in _renames(config)} == {(s.original, s.ecs) for s in table.values()}
    merges = [p.get("merge") for p, _ in filters if p.name == "mutate" and p.get("merge")]
    assert merges == [{"[@metadata][botes][name{}]": "[@metadata][botes_nothing]"}]  # ports{}.port is not one
    checked = [p.get("convert") for p, _ in filters if p.name == "mutate" and p.get("tag_on_failure")]
    assert checked == [{"[destination][port]": "integer"}, {"[botes][alert][level]": "float"}]  # one block each
    probes = [p.get("replace")["[@metadata][botes_probe]"] for p, _ in filters
              if p.name == "mutate" and "[@metadata][botes_probe]" in p.get("replace", {})]
    assert probes == ["%{[@metadata][botes][alert][detail]}", "%{[@metadata][botes][alert]}", "%{[@metadata][botes]}"]
    last = [p for p, _ in filters][-1]
    assert last.get("rename") == {"[@metadata][botes]": "[botes][unmapped]"}
    text = render_pipeline(source, table=table)
    assert "Python-only, not reproduced here: related.*" in text  # no finish, no prepare


def test_a_table_with_an_unwritable_original_field_is_refused() -> None:
    source, table = _synthetic_source()
    table["bad[0]"] = FieldSpec("bad[0]", "message", "keyword")
    with pytest.raises(ValueError, match="field reference"):
        render_pipeline(source, table=table)


def test_pipelines_yml_for_given_sources() -> None:
    source, _ = _synthetic_source()
    text = render_pipelines_yml([source], config_dir="/etc/ls")
    assert yaml.safe_load(text) == [{"pipeline.id": "botes-synthetic", "path.config": "/etc/ls/synthetic.conf",
                                     "pipeline.ecs_compatibility": "v8"}]


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
