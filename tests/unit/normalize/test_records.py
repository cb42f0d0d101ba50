"""pipeline.normalize.records: one line -> flat record, and dotted paths <-> nested documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.events import Rejected, get_path, iter_leaves, set_path
from pipeline.normalize.records import MAX_NESTING, flatten, parse_record


class TestParseRecord:
    def test_object_from_str(self) -> None:
        assert parse_record('{"a": 1, "b": {"c": "x"}}') == {"a": 1, "b": {"c": "x"}}

    def test_object_from_utf8_bytes(self) -> None:
        assert parse_record('{"city": "Linköping"}'.encode()) == {"city": "Linköping"}

    def test_not_json(self) -> None:
        result = parse_record("date=2016-08-10 time=21:00:00")
        assert isinstance(result, Rejected)
        assert result.reason.startswith("not JSON")
        assert result.raw == "date=2016-08-10 time=21:00:00"

    @pytest.mark.parametrize(("line", "kind"), [("[1, 2]", "list"), ('"text"', "str"), ("42", "int"),
                                                 ("null", "NoneType")])
    def test_json_that_is_not_an_object(self, line: str, kind: str) -> None:
        result = parse_record(line)
        assert isinstance(result, Rejected)
        assert result.reason == f"not a JSON object but a {kind}"
        assert result.raw == line

    def test_not_utf8(self) -> None:
        line = b'{"user": "\xff\xfe"}'
        result = parse_record(line)
        assert isinstance(result, Rejected)
        assert result.reason.startswith("not UTF-8")
        assert "byte 10" in result.reason  # the first bad byte is at offset 10
        assert result.raw == line.decode("utf-8", "replace")

    @pytest.mark.parametrize("depth", [MAX_NESTING + 1, 990, 1_000, 100_000])
    def test_deep_nesting_is_rejected_not_raised(self, depth: int) -> None:
        # 990 still parses (and would crash flatten or json.dumps in an operator); 1,000 and more make
        # the JSON parser itself raise RecursionError.
        line = '{"deep": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
        result = parse_record(line)
        assert isinstance(result, Rejected)
        assert result.reason == f"nested deeper than {MAX_NESTING} levels"
        assert result.raw == line

    def test_nesting_up_to_the_limit_is_kept(self) -> None:
        line = '{"a": ' + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "}"
        assert not isinstance(parse_record(line), Rejected)

    def test_deep_objects_count_like_arrays(self) -> None:
        line = '{"a": ' * (MAX_NESTING + 1) + "1" + "}" * (MAX_NESTING + 1)
        assert isinstance(parse_record(line), Rejected)
        assert not isinstance(parse_record('{"a": ' * MAX_NESTING + "1" + "}" * MAX_NESTING), Rejected)

    def test_wide_array_is_kept(self) -> None:
        record = parse_record('{"many": [' + ",".join(["1"] * 100_000) + "]}")
        assert not isinstance(record, Rejected)
        assert len(record["many"]) == 100_000


    @pytest.mark.parametrize("line", [
        '{"n": NaN, "m": -Infinity}',                    # not standard JSON, which the standard library reads
        '{"big": 123456789012345678901234567890}',       # beyond 64 bits
        '{"s": "\\ud800 lone surrogate"}',               # an escape that is not a character
        '{"f": 1e400, "g": 0.1, "h": -0.0, "dup": 1, "dup": 2}',
    ])
    def test_same_values_as_the_standard_library(self, line: str) -> None:
        record = parse_record(line)
        assert isinstance(record, dict)
        assert repr(record) == repr(json.loads(line))  # repr: NaN != NaN, and -0.0 == 0.0


class TestFlatten:
    def test_nested_objects_become_dotted_keys(self) -> None:
        assert flatten({"alert": {"signature_id": 1, "meta": {"rev": 3}}, "src_ip": "10.0.0.1"}) == {
            "alert.signature_id": 1, "alert.meta.rev": 3, "src_ip": "10.0.0.1"}

    def test_nested_and_dotted_give_the_same_record(self) -> None:
        assert flatten({"dns": {"rrname": "x", "id": 5}}) == flatten({"dns.rrname": "x", "dns.id": 5})

    def test_lists_and_empty_objects_are_leaves(self) -> None:
        assert flatten({"a": [1, {"b": 2}], "c": {}}) == {"a": [1, {"b": 2}], "c": {}}

    def test_prefix(self) -> None:
        assert flatten({"x": {"y": 1}}, "top.") == {"top.x.y": 1}

    def test_input_is_not_modified(self) -> None:
        record = {"a": {"b": 1}}
        flatten(record)
        assert record == {"a": {"b": 1}}


class TestSetPath:
    def test_creates_nested_objects(self) -> None:
        event: dict[str, Any] = {}
        set_path(event, "source.geo.city_name", "London")
        assert event == {"source": {"geo": {"city_name": "London"}}}

    def test_keeps_siblings(self) -> None:
        event: dict[str, Any] = {"source": {"ip": "10.0.0.1"}}
        set_path(event, "source.port", 53)
        set_path(event, "destination.ip", "8.8.8.8")
        assert event == {"source": {"ip": "10.0.0.1", "port": 53}, "destination": {"ip": "8.8.8.8"}}

    def test_top_level_key(self) -> None:
        event: dict[str, Any] = {}
        set_path(event, "@timestamp", "2016-08-10T21:00:00.000Z")
        assert event == {"@timestamp": "2016-08-10T21:00:00.000Z"}

    def test_overwrites_leaf(self) -> None:
        event: dict[str, Any] = {"event": {"action": "accept"}}
        set_path(event, "event.action", "deny")
        assert event == {"event": {"action": "deny"}}

    def test_scalar_in_the_way_is_replaced_by_an_object(self) -> None:
        event: dict[str, Any] = {"source": "10.0.0.1"}
        set_path(event, "source.ip", "10.0.0.1")
        assert event == {"source": {"ip": "10.0.0.1"}}


class TestGetPath:
    EVENT = {"source": {"ip": "10.0.0.1", "geo": {"location": {"lat": 1.5}}}, "tags": ["a"], "n": 0}

    @pytest.mark.parametrize(("path", "expected"), [
        ("source.ip", "10.0.0.1"),
        ("source.geo.location.lat", 1.5),
        ("source.geo", {"location": {"lat": 1.5}}),
        ("tags", ["a"]),
        ("n", 0),
        ("destination.ip", None),
        ("source.port", None),
        ("source.ip.version", None),  # walking through a scalar
        ("tags.0", None),             # lists are not indexed
    ])
    def test_get(self, path: str, expected: object) -> None:
        assert get_path(self.EVENT, path) == expected

    def test_round_trip_with_set_path(self) -> None:
        event: dict[str, Any] = {}
        set_path(event, "a.b.c", [1, 2])
        assert get_path(event, "a.b.c") == [1, 2]


def test_iter_leaves_yields_every_non_object_value_with_its_path() -> None:
    event = {"@timestamp": "t", "source": {"ip": "1.2.3.4", "geo": {"location": {"lat": 1, "lon": 2}}},
             "related": {"ip": ["1.2.3.4"]}, "empty": {}}
    assert sorted(iter_leaves(event)) == sorted([
        ("@timestamp", "t"), ("source.ip", "1.2.3.4"), ("source.geo.location.lat", 1),
        ("source.geo.location.lon", 2), ("related.ip", ["1.2.3.4"]),
    ])


def test_remove_path_deletes_the_leaf_and_the_objects_it_empties() -> None:
    from pipeline.events import remove_path

    event = {"a": {"b": {"c": 1}, "d": 2}, "e": {"f": {"g": 3}}}
    remove_path(event, "a.b.c")
    assert event == {"a": {"d": 2}, "e": {"f": {"g": 3}}}
    remove_path(event, "e.f.g")
    assert event == {"a": {"d": 2}}
