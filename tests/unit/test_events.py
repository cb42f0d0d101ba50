"""pipeline.events.encode_event: the JSON text an event leaves an operator as."""

from __future__ import annotations

import json

import pytest

from pipeline.events import Event, encode_event


@pytest.mark.parametrize("event", [
    {"source": {"ip": "81.2.69.142", "port": 443}, "tags": ["a", "b"], "ratio": 0.25, "ok": True, "none": None},
    {"message": "Linköping – 東京 \u2028 \"quoted\" \\ tab\t"},  # non-ASCII and characters JSON escapes
    {"flow": {"bytes": 2**64 + 1}, "small": -(2**63)},  # beyond 64 bits: orjson refuses, json writes it exactly
    {"message": "half a pair: \ud800"},  # a lone surrogate (json.loads makes one of "\\ud800"): orjson refuses
], ids=["plain", "unicode", "big integer", "lone surrogate"])
def test_reads_back_as_the_same_value(event: Event) -> None:
    text = encode_event(event)
    assert json.loads(text) == event
    text.encode("utf-8")  # valid UTF-8, so Flink's string coder and the file sink take it


def test_is_one_compact_line() -> None:
    assert encode_event({"a": {"b": [1, 2]}, "c": "x\ny"}) == '{"a":{"b":[1,2]},"c":"x\\ny"}'
