"""The Logstash interpreter used by the equivalence tests, checked against what its sources say: the plugins'
own spec examples (logstash-filter-mutate v3.5.9 spec/filters/mutate_spec.rb, logstash-filter-kv v4.7.0
spec/filters/kv_spec.rb), a real JVM for java.util.HashMap's order, and the rules read in the Java and Ruby
sources it cites."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.unit.normalize.logstash_grammar import Config, Field, Plugin, parse_config, plugins_in
from tests.unit.normalize.logstash_interpreter import (
    Event,
    NotModelled,
    Pipeline,
    RubyError,
    Timestamp,
    casual_iso8601,
    convert_boolean,
    convert_float,
    convert_integer,
    convert_string,
    fnmatch,
    glob_match,
    java_hash_order,
    joda_parse,
    json_load,
    read_lines,
    ruby_inspect,
)

UTC = ZoneInfo("UTC")


# --- mutate 3.5.9 conversions (JRuby 9.4, Logstash 8.19.7) -------------------------------------------------

# mutate_spec.rb v3.5.9, "to integer": each string and the Integer it becomes
SPEC_INTEGERS = {"123": 123, "0x7b": 123, "123.0": 123, "1.230000e+02": 123, "123.45": 123, "1.234500e+02": 123,
                 "0x1.edcdp6": 123, "-123.45": -123, "-1.234500e+02": -123, "-0x1.edcdp6": -123,
                 "16777217.0": 16777217, "2147483648.0": 2147483648, "9007199254740993": 9007199254740993,
                 "9007199254740993.0": 9007199254740993, "9.007199254740993e+15": 9007199254740993,
                 "9223372036854775808.0": 9223372036854775808,
                 "680564693277057720000000000000000000000.0": 680564693277057720000000000000000000000}
SPEC_FLOATS = {"123": 123.0, "0x7b": 123.0, "1.230000e+02": 123.0, "123.45": 123.45, "1.234500e+02": 123.45,
               "0x1.edcdp6": 123.4501953125, "-0x1.edcdp6": -123.4501953125, "16777217": 1.6777217e7}
# "convert strings to boolean values": value -> result (unchanged when it is no boolean word)
SPEC_BOOLEANS: list[tuple[Any, Any]] = [("true", True), ("false", False), ("True", True), ("False", False),
                                        ("1", True), ("0", False), ("yes", True), ("no", False), ("Y", True),
                                        ("N", False), ("none of the above", "none of the above"), (0, False),
                                        (1, True), (-1, -1), (2, 2), (1.0, True), (0.0, False), (-1.0, -1.0),
                                        (1.0123, 1.0123), (0.01, 0.01)]


@pytest.mark.parametrize(("text", "number"), SPEC_INTEGERS.items())
def test_integer_conversion_follows_the_plugins_spec(text: str, number: int) -> None:
    assert convert_integer(text) == number and type(convert_integer(text)) is int


@pytest.mark.parametrize(("text", "number"), SPEC_FLOATS.items())
def test_float_conversion_follows_the_plugins_spec(text: str, number: float) -> None:
    assert convert_float(text) == number and type(convert_float(text)) is float


@pytest.mark.parametrize(("value", "result"), SPEC_BOOLEANS)
def test_boolean_conversion_follows_the_plugins_spec(value: Any, result: Any) -> None:
    assert convert_boolean(value) == result and type(convert_boolean(value)) is type(result)


def test_integer_conversion_is_lenient_on_jruby_9_4() -> None:
    """On JRuby 9.4, Float("-0x1A") raises, so parse_signed_hex_str takes its own path and a string that is
    neither hexadecimal nor has an "e" ends in String#to_i: no error, whatever the text. This is why the
    pipelines never trust mutate with a text that is not plain digits."""
    assert convert_integer("abc") == 0
    assert convert_integer("N/A") == 0
    assert convert_integer("1,000") == 1000
    assert convert_integer("12abc") == 12
    assert convert_integer("1_000") == 1000
    with pytest.raises(RubyError):
        convert_integer("none")  # has an "e": BigDecimal("none") raises
    with pytest.raises(RubyError):
        convert_float("abc")  # Float() raises


def test_string_conversion_writes_ruby_text() -> None:
    assert convert_string(True) == "true"
    assert convert_string(1e20) == "1.0e+20"  # Python writes 1e+20
    assert convert_string(Decimal("1.5")) == "0.15e1"  # a JSON number with a fraction: BigDecimal#to_s
    assert convert_string(["a", 1]) == '["a", 1]'


def test_json_numbers_with_a_fraction_are_bigdecimal() -> None:
    """jrjackson 0.4.20 JrJacksonRuby.parse: with no options, floats become BigDecimal."""
    record = json_load('{"a": 1.5, "b": 2, "c": [1e3]}')
    assert record == {"a": Decimal("1.5"), "b": 2, "c": [Decimal("1E+3")]}
    assert isinstance(record["a"], Decimal) and isinstance(record["b"], int)
    with pytest.raises(RubyError):
        json_load('{"a": NaN}')
    assert json_load('{"a": 1} {"b": 2}') == {"b": 2}  # JrParse keeps the last root value
    with pytest.raises(RubyError):
        json_load('{"a": 1} x')


# --- mutate: order of operations, exceptions, hash order -------------------------------------------------

def _run(filters: str, data: dict[str, Any], hash_order: str = "java") -> Event:
    config = parse_config(f'input {{ file {{ path => ["/d/x"] codec => plain {{ charset => "UTF-8" }} }} }}\n'
                          f"filter {{ {filters} }}")
    pipeline = Pipeline(config, hash_order=hash_order)
    event = Event(data=data)
    pipeline._run(config.section("filter"), event)
    return event


def test_one_mutate_renames_then_replaces_then_converts_then_copies() -> None:
    event = _run('mutate { copy => { "b" => "c" } convert => { "b" => "integer" } replace => { "b" => "%{a}" }'
                 ' rename => { "x" => "a" } }', {"x": "7"})
    assert event.data == {"a": "7", "b": 7, "c": 7}


def test_an_exception_stops_the_mutate_and_tags_the_event() -> None:
    event = _run('mutate { convert => { "a" => "float" } add_field => { "done" => "yes" } '
                 'tag_on_failure => "_failed" }', {"a": "abc"})
    assert event.data == {"a": "abc", "tags": ["_failed"]}  # no add_field: filter_matched is not reached


def test_renames_to_one_field_run_in_hash_order() -> None:
    rename = 'mutate { rename => { "first" => "x" "second" => "x" } }'
    assert _run(rename, {"first": 1, "second": 2}, "file").data == {"x": 2}
    assert _run(rename, {"first": 1, "second": 2}, "reverse").data == {"x": 1}


def test_add_field_on_an_existing_field_makes_an_array() -> None:
    event = _run('mutate { add_field => { "d" => "a" } } mutate { add_field => { "d" => "b" } }', {})
    assert event.data == {"d": ["a", "b"]}


def test_merge_wraps_a_value_and_leaves_an_array() -> None:
    event = _run('mutate { merge => { "a" => "[nothing]" "b" => "[nothing]" "h" => "[nothing]" } }',
                 {"a": "x", "b": ["y"], "h": {"k": 1}})
    assert event.data == {"a": ["x"], "b": ["y"], "h": {"k": 1}}  # a hash cannot be merged with an array


def test_remove_tag_leaves_an_empty_tags_array() -> None:
    event = _run('mutate { add_tag => ["t"] } mutate { remove_tag => ["t"] }', {})
    assert event.data == {"tags": []}


def _java_hashmap_orders(groups: list[list[str]], tmp_path: Path) -> list[list[str]]:
    source = tmp_path / "Order.java"
    source.write_text(
        "import java.io.*; import java.util.*;\n"
        "public class Order { public static void main(String[] a) throws IOException {\n"
        "  BufferedReader r = new BufferedReader(new InputStreamReader(System.in, \"UTF-8\"));\n"
        "  Map<String, Object> m = new HashMap<>(); String line;\n"
        "  while ((line = r.readLine()) != null) {\n"
        "    if (line.isEmpty()) { for (String k : m.keySet()) System.out.println(k); System.out.println();"
        " m = new HashMap<>(); } else { m.put(line, line); } } } }\n", encoding="utf-8")
    java = shutil.which("java")
    assert java, "Java 17 runs Flink here; it is needed to check the HashMap model"
    text = "".join("\n".join(group) + "\n\n" for group in groups)
    result = subprocess.run([java, str(source)], input=text, capture_output=True, text=True, timeout=120,
                            check=True)
    return [block.split("\n") for block in result.stdout.split("\n\n")[:-1]]


def _hash_options(config: Config) -> list[list[str]]:
    return [list(value) for plugin, _ in plugins_in(config.section("filter")) for _, value in plugin.attributes
            if isinstance(value, dict) and len(value) > 1]


def test_java_hash_order_is_what_a_jvm_iterates(logstash_configs: dict[str, Config], tmp_path: Path) -> None:
    """Every hash option of the committed pipelines, put into a java.util.HashMap by a real JVM."""
    groups = [group for name in ("fgt_traffic", "suricata", "wineventlog-security", "unknown")
              for group in _hash_options(logstash_configs[name])]
    assert len(groups) > 20 and max(map(len, groups)) > 100
    assert _java_hashmap_orders(groups, tmp_path) == [java_hash_order(group) for group in groups]


# --- conditions and sprintf (EventCondition.java, StringInterpolation.java) ------------------------------

@pytest.mark.parametrize(("condition", "data", "expected"), [
    ("[a]", {"a": "false"}, False), ("[a]", {"a": ""}, False), ("[a]", {"a": None}, False),
    ("[a]", {"a": []}, True), ("[a]", {"a": 0}, True), ("![a]", {}, True),
    ('[a] == "1"', {"a": 1}, False), ("[a] == 1", {"a": 1}, True), ("[a] == [b]", {"a": "x", "b": "x"}, True),
    ("[a] == [b]", {"a": 1, "b": "1"}, False), ("[a] =~ /1/", {"a": 1}, False), ("[a] !~ /1/", {"a": 1}, True),
    ("[a] =~ /^b$/", {"a": "a\nb"}, True), ("[a] =~ /\\Ab\\z/", {"a": "a\nb"}, False),
    ('"at" in [a]', {"a": "cat"}, True), ('"at" in [a]', {"a": ["cat"]}, False),
    ('[a] in ["x", "y"]', {"a": "y"}, True), ('[a] and [b] or [c]', {"c": 1}, True),
    ('[a] and ([b] or [c])', {"c": 1}, False),
])
def test_conditions(condition: str, data: dict[str, Any], expected: bool) -> None:
    event = _run(f'if {condition} {{ mutate {{ add_field => {{ "hit" => "yes" }} }} }}', data)
    assert ("hit" in event.data) is expected


def test_a_one_element_array_in_a_condition_is_a_field_reference() -> None:
    """Logstash's grammar tries a selector before an array: ["x"] is the field named "x" with quotes."""
    config = parse_config('filter { if [a] in ["x"] { } }')
    (branch,) = config.section("filter")
    assert not isinstance(branch, Plugin)
    assert branch.clauses[0].expression == ("in", Field("[a]"), Field('["x"]'))
    with pytest.raises(NotModelled):
        _run('if [a] in ["x"] { mutate { add_field => { "hit" => "yes" } } }', {"a": "x"})


def test_sprintf() -> None:
    event = Event(data={"s": "x", "n": 5, "f": 1e7, "l": ["a", None, 2], "m": {"k": 1}})
    assert event.sprintf("%{s}-%{n}-%{f}-%{l}-%{m}-%{missing}") == '''x-5-1.0E7-a,,2-{"k":1}-%{missing}'''
    assert event.sprintf("%{[@metadata][x]}") == "%{[@metadata][x]}"


# --- kv 4.7.0 (kv_spec.rb) ---------------------------------------------------------------------------------

def _kv(options: str, text: str) -> dict[str, Any]:
    event = _run(f'kv {{ source => "m" target => "kv" {options} }}', {"m": text})
    found: dict[str, Any] = event.data.get("kv", {})
    return found


def test_kv_defaults_from_the_spec() -> None:
    text = ("hello=world foo=bar baz=fizz doublequoted=\"hello world\" singlequoted='hello world' "
            "bracketsone=(hello world) bracketstwo=[hello world] bracketsthree=<hello world>")
    assert _kv("", text) == {"hello": "world", "foo": "bar", "baz": "fizz", "doublequoted": "hello world",
                             "singlequoted": "hello world", "bracketsone": "hello world",
                             "bracketstwo": "hello world", "bracketsthree": "hello world"}


def test_kv_duplicates_escapes_and_empty_values() -> None:
    assert _kv('field_split => "&"', "foo=bar&foo=yeah&foo=yeah") == {"foo": ["bar", "yeah", "yeah"]}
    assert _kv("value_split => ':'", 'IKE:=Quick\\ Mode\\ completion') == {"IKE": "=Quick\\ Mode\\ completion"}
    assert _kv('whitespace => "strict"', "a=1 b= c=3") == {"a": "1", "c": "3"}  # empty values are dropped
    assert _kv('whitespace => "strict" include_brackets => false', 'a=(x y) b="p \\"q\\" r"') == {
        "a": "(x", "b": 'p \\"q\\" r'}  # escapes are kept, not undone


# --- the date filter and Joda -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "iso"), [
    ("2016-08-10T22:00:00.123456+0000", "2016-08-10T22:00:00.123Z"),  # fraction truncated to ms
    ("2016-08-10T22:00:00-07:00", "2016-08-11T05:00:00.000Z"), ("2016-08-10T22:00:00Z", "2016-08-10T22:00:00.000Z"),
    ("2016-08-10T22:00:00,5", "2016-08-10T22:00:00.500Z"), ("2016-08-10", "2016-08-10T00:00:00.000Z"),
    ("2016-08-10 22:00:00.123", "2016-08-10T22:00:00.123Z"),
])
def test_iso8601(text: str, iso: str) -> None:
    assert str(Timestamp(casual_iso8601(text, UTC))) == iso


@pytest.mark.parametrize(("pattern", "text", "iso"), [
    ("MM/dd/yyyy h:mm:ss a", "08/10/2016 9:05:02 PM", "2016-08-10T21:05:02.000Z"),
    ("MM/dd/yyyy h:mm:ss a", "8/1/2016 12:30:00 AM", "2016-08-01T00:30:00.000Z"),
    ("MM/dd/yyyy HH:mm:ss.SSS", "08/10/2016 21:42:07.4", "2016-08-10T21:42:07.400Z"),
    ("yyyy-MM-dd HH:mm:ssZ", "2016-08-10 22:00:00+05:30", "2016-08-10T16:30:00.000Z"),
])
def test_joda_patterns(pattern: str, text: str, iso: str) -> None:
    assert str(Timestamp(joda_parse(pattern, text, UTC))) == iso


@pytest.mark.parametrize(("pattern", "text"), [
    ("MM/dd/yyyy h:mm:ss a", "08/10/2016 13:05:02 PM"),  # clockhour of halfday is 1..12
    ("MM/dd/yyyy h:mm:ss a", "08/10/2016 9:05:02 Pm"),  # AM/PM as written, lower- or upper-case only
    ("yyyy-MM-dd HH:mm:ss.SSS", "2016-08-10 22:00:00.123456"),  # SSS reads three digits, then text is left
    ("MM/dd/yyyy HH:mm:ss", "02/30/2016 10:00:00"),
])
def test_joda_refuses(pattern: str, text: str) -> None:
    with pytest.raises(ValueError):
        joda_parse(pattern, text, UTC)


def test_a_local_time_in_a_dst_gap_does_not_exist() -> None:
    with pytest.raises(ValueError):
        joda_parse("yyyy-MM-dd HH:mm:ss", "2016-03-13 02:30:00", ZoneInfo("America/New_York"))
    assert str(Timestamp(joda_parse("yyyy-MM-dd HH:mm:ss", "2016-08-10 02:30:00", ZoneInfo("America/New_York")))) \
        == "2016-08-10T06:30:00.000Z"


def test_unix_epoch_takes_three_fraction_digits_and_stops_at_2_to_the_31() -> None:
    event = _run('date { match => ["t", "UNIX"] target => "d" }', {"t": "1470866400.1239"})
    assert str(event.data["d"]) == "2016-08-10T22:00:00.123Z"  # digits, not float rounding
    assert "_dateparsefailure" in _run('date { match => ["t", "UNIX"] }', {"t": "2147483648"}).data["tags"]


# --- files ---------------------------------------------------------------------------------------------------

def test_globs_and_exclusions() -> None:
    assert glob_match("[bB][oO]{x,y}.json", "Bo" + "y.json")
    assert not glob_match("*.json", ".hidden.json")
    assert fnmatch("[aA]*.json", "Ab.json") and not fnmatch("{a,b}.json", "a.json")  # no braces in fnmatch


def test_lines_of_plain_and_gzip_files() -> None:
    assert list(read_lines("f.json", b'a\r\nb\n\nc')) == ["a\r", "b", "", "c"]
    assert list(read_lines("f.json", b"caf\xe9\n")) == ["caf\\xE9"]  # Ruby's inspect of a line not in UTF-8
    assert list(read_lines("f.json.gz", gzip.compress(b"a\r\nb\rc\ncaf\xe9\n"))) == ["a", "b", "c", "caf\ufffd"]


def test_ruby_inspect() -> None:
    assert ruby_inspect(b'\x01a"b\\#{c}#d\n\xff\xe2\x82\xac') == '"\\u0001a\\"b\\\\\\#{c}#d\\n\\xFF€"'
