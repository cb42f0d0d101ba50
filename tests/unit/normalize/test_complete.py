"""The job's completion of events from the Logstash pipelines (pipeline/normalize/complete.py): which fields it
takes from Logstash, which it converts itself, and lines Logstash could not read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.events import Event, Rejected, document_id, get_path, set_path
from pipeline.normalize import Normalizer
from pipeline.normalize.complete import Completion, LogstashCompletion, is_from_logstash, line_bytes
from tests.unit.normalize.logstash_grammar import Config
from tests.unit.normalize.logstash_interpreter import Pipeline, Timestamp, ruby_inspect

ROOT = Path(__file__).resolve().parents[3]
READ_AT = 1_500_000_000_000


def _golden(source_type: str, number: int) -> str:
    lines = (ROOT / "tests" / "golden" / source_type / "input.jsonl").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][number - 1]


def _from_logstash(configs: dict[str, Config], source_type: str, line: str,
                   env: dict[str, str] | None = None) -> Event:
    (output,) = Pipeline(configs[source_type], env, now=lambda: READ_AT).run_line(line, "/data/f.json")
    return output.document


def _completion(message: Event) -> Completion:
    result = LogstashCompletion().completion(message)
    assert isinstance(result, Completion), result
    return result


def _line_message(line: str, dataset: str = "suricata") -> Event:
    return {"@timestamp": "2017-07-14T02:40:00.000Z", "event": {"original": line, "dataset": dataset},
            "botes": {"logstash": {"read": "line", "location": "/data/botesv1.suricata.json", "timezone": "UTC"}}}


def test_messages_from_logstash_are_told_by_their_marker() -> None:
    assert is_from_logstash(_line_message("{}"))
    assert not is_from_logstash({"event": {"dataset": "suricata", "original": "{}"}})
    assert not is_from_logstash({"botes": {"logstash": "a text"}})


@pytest.mark.parametrize("line", ['{"timestamp": "2016-08-10T22:00:00Z", "src_ip": ', "[1, 2, 3]", '"a string"',
                                  '{"timestamp": "2016-08-10T22:00:00Z", "src_ip": "10.0.0.1"}'])
def test_a_line_logstash_could_not_read_is_normalised_as_replay_does(line: str) -> None:
    completed = LogstashCompletion().complete(_line_message(line))
    assert completed == Normalizer().normalize_line(line, "suricata", "/data/botesv1.suricata.json")


@pytest.mark.parametrize("raw", [b'{"a": "caf\xe9"}', b'\xff\xfe"\\#{x}\n\t\x01\x7f \xe2\x82\xac\xe2\x82',
                                 b"\x80"])
def test_a_line_that_is_not_utf8_gets_replays_dead_letter(raw: bytes) -> None:
    """Logstash's codec gives Ruby's String#inspect of such a line (util/charset.rb); the bytes come back."""
    escaped = ruby_inspect(raw)[1:-1]
    assert line_bytes(escaped) == raw
    completed = LogstashCompletion().complete(_line_message(escaped))
    expected = Normalizer().normalize_line(raw, "suricata", "/data/botesv1.suricata.json")
    assert isinstance(completed, Rejected) and completed == expected
    assert completed.reason.startswith("not UTF-8")


@pytest.mark.parametrize("text", ['{"a": "caf\\xE9"}', r"plain \x41 text", r"c:\temp\new", r"a #{b} \xE9",
                                  "a\tb \\xE9"])
def test_text_logstash_did_not_escape_is_kept_as_it_is(text: str) -> None:
    """String#inspect escapes every quote, tab and "#{": a text with one of them is the line itself, and so is a
    text whose unescaped bytes would be UTF-8 (Logstash escapes only a line that is not)."""
    assert line_bytes(text) == text


def test_fields_logstash_filled_are_taken_as_they_are(logstash_configs: dict[str, Config]) -> None:
    """The completion does not convert again what Logstash converted: a value changed in the message shows."""
    message = _from_logstash(logstash_configs, "fgt_traffic", _golden("fgt_traffic", 2))
    result = _completion(json.loads(json.dumps(message)))
    assert {"event.action", "source.port", "@timestamp"} <= result.from_logstash
    set_path(message, "source.port", 65000)
    completed = LogstashCompletion().complete(message)
    assert not isinstance(completed, Rejected) and get_path(completed, "source.port") == 65000


def test_deferred_and_mistyped_fields_are_converted_here(logstash_configs: dict[str, Config]) -> None:
    line = _golden("fgt_traffic", 2)
    expected = Normalizer().normalize_line(line, "fgt_traffic")
    message = _from_logstash(logstash_configs, "fgt_traffic", line)
    set_path(message, "source.port", "not converted")  # a type the table does not give: not Logstash's value
    set_path(message, "destination.port", 1)
    message["botes"]["logstash"]["deferred"] = ["dstport"]  # named by Logstash: converted here
    result = _completion(message)
    assert {"source.port", "destination.port", "source.ip"} <= result.converted_here  # source.ip: an address
    assert result.event == expected


@pytest.mark.parametrize(("record", "port", "logstashs"), [
    ({"srcport": "2", "remport": "1"}, 1, True),   # the record's last key is the one Logstash applies last
    ({"remport": "1", "srcport": "2"}, 2, False),  # the normaliser's rule (the last key wins) differs
])
def test_the_records_key_order_decides_as_in_the_normaliser(logstash_configs: dict[str, Config],
                                                            record: dict[str, str], port: int, logstashs: bool) -> None:
    """srcport and remport both fill source.port; Logstash applies remport last (a later table row)."""
    line = json.dumps({"date": "2016-08-10", "time": "10:00:00", "subtype": "vpn", **record})
    result = _completion(_from_logstash(logstash_configs, "fgt_event", line))
    assert get_path(result.event, "source.port") == port
    assert ("source.port" in result.from_logstash) is logstashs
    assert result.event == Normalizer().normalize_line(line, "fgt_event")


def test_the_pipelines_time_zone_is_used(logstash_configs: dict[str, Config]) -> None:
    """Classic Windows times are local: Logstash reads them in BOTES_NORMALIZE__DEFAULT_TIMEZONE, the job
    converts what is left in the zone the marker names, as a normaliser with that setting does."""
    zone = "America/New_York"
    classic = [(kind, line) for kind in ("wineventlog-application", "wineventlog-security", "wineventlog-system",
                                         "winregistry")
               for line in (ROOT / "tests" / "golden" / kind / "input.jsonl").read_text().splitlines()
               if "/" in str(json.loads(line).get("time", ""))]
    assert len(classic) >= 3
    for kind, line in classic:
        message = _from_logstash(logstash_configs, kind, line, {"BOTES_NORMALIZE__DEFAULT_TIMEZONE": zone})
        assert message["botes"]["logstash"]["timezone"] == zone
        result = _completion(message)
        expected = Normalizer(zone).normalize_line(line, kind)
        assert result.event == expected and document_id(result.event) == document_id(expected)
        assert "@timestamp" in result.from_logstash
        assert result.event["@timestamp"] != get_path(Normalizer().normalize_line(line, kind), "@timestamp")


def test_a_time_zone_that_does_not_exist_is_a_dead_letter() -> None:
    message = _line_message('{"a": 1}')
    message["botes"]["logstash"]["timezone"] = "Mars/Olympus"
    rejected = LogstashCompletion().complete(message)
    assert isinstance(rejected, Rejected) and "Mars/Olympus" in rejected.reason
    assert rejected.location == "/data/botesv1.suricata.json"


def test_the_marker_is_removed_and_a_missing_time_is_the_read_time(logstash_configs: dict[str, Config]) -> None:
    line = '{"src_ip": "10.0.0.1", "event_type": "flow"}'
    completed = LogstashCompletion().complete(_from_logstash(logstash_configs, "suricata", line))
    assert isinstance(completed, dict)
    assert "logstash" not in completed.get("botes", {})
    assert completed["@timestamp"] == str(Timestamp(READ_AT))
    assert "no event time found" in " ".join(completed["botes"]["normalize"]["errors"])


def test_what_logstash_reads_and_python_does_not_is_replays_dead_letter(logstash_configs: dict[str, Config]) -> None:
    """Jackson reads several JSON values on a line (JrParse keeps the last); Python refuses the line."""
    line = '{"timestamp": "2016-08-10T22:00:00Z"} {"src_ip": "10.0.0.1"}'
    message: dict[str, Any] = _from_logstash(logstash_configs, "suricata", line)
    assert message["botes"]["logstash"]["read"] == "record"
    rejected = LogstashCompletion().complete(message)
    expected = Normalizer().normalize_line(line, "suricata", "/data/f.json")
    assert isinstance(rejected, Rejected) and rejected == expected
