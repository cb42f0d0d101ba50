"""Reading enriched NDJSON: events through, anything else as a numbered line with its reason."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from pipeline.report.reader import BadLine, read_events


def test_events_and_bad_lines_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "enriched.ndjson"
    good = {"@timestamp": "2016-08-10T21:00:00.000Z", "event": {"dataset": "suricata"}}
    path.write_bytes(b"\n".join([
        json.dumps(good).encode(),
        b"",                                   # blank lines are skipped, not reported
        b'{"@timestamp": "2016-08-10T21:0',    # cut short
        b"[1, 2]",
        b'"text"',
        b'{"src_ip": "10.0.0.1", "event_type": "alert"}',  # a raw BOTES record
        b'{"@timestamp": "x", "\xff": 1}',      # not UTF-8
        json.dumps({"event": {"dataset": "iis"}}).encode(),  # no time is still an event
    ]) + b"\n")
    items = list(read_events(path))
    assert items[0] == good
    assert items[-1] == {"event": {"dataset": "iis"}}
    bad = [item for item in items if isinstance(item, BadLine)]
    assert [b.number for b in bad] == [3, 4, 5, 6, 7]
    assert bad[0].reason.startswith("not JSON")
    assert bad[1].reason == "a JSON list, not an object"
    assert bad[2].reason == "a JSON str, not an object"
    assert "raw BOTES file" in bad[3].reason and "botes run" in bad[3].reason
    assert bad[4].reason.startswith("not JSON")


def test_gzip_input(tmp_path: Path) -> None:
    path = tmp_path / "enriched.ndjson.gz"
    with gzip.open(path, "wt") as out:
        out.write('{"@timestamp": "2016-08-10T21:00:00.000Z"}\n' * 3)
    assert len(list(read_events(path))) == 3
