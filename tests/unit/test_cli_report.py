"""`botes report` and `botes run --report`: a clear message and the README's exit code, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from tests.unit.report.enriched import LONDON, event, side

GOOD = [event(source=side("81.2.69.160", geo=LONDON)), event(dataset="fgt_traffic")]


def _lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_a_report_is_written_and_said_where(tmp_path: Path) -> None:
    source = _lines(tmp_path / "enriched.ndjson", *map(json.dumps, GOOD))
    result = CliRunner().invoke(app, ["report", str(source), "-o", str(tmp_path / "r.html"), "--title", "Case 42"])
    assert result.exit_code == 0, result.stderr
    assert f"report of 2 events -> {tmp_path / 'r.html'}" in " ".join(result.stderr.split())
    assert "<title>Case 42</title>" in (tmp_path / "r.html").read_text()


def test_bad_lines_are_named_with_their_number_and_give_exit_1_with_the_report_written(tmp_path: Path) -> None:
    source = _lines(tmp_path / "enriched.ndjson", json.dumps(GOOD[0]), '{"@timestamp": ', json.dumps(GOOD[1]))
    result = CliRunner().invoke(app, ["report", str(source), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert f"{source}:2: not JSON" in result.stderr
    assert "1 line(s) skipped" in result.stderr
    assert (tmp_path / "r.html").exists()


def test_a_raw_botes_file_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    source = _lines(tmp_path / "botesv1.suricata.json", *[json.dumps({"src_ip": "10.0.0.1", "event_type": "dns"})] * 12)
    result = CliRunner().invoke(app, ["report", str(source), "-o", str(tmp_path / "r.html")])
    text = " ".join(result.stderr.split())
    assert result.exit_code == 1
    assert "is this a raw BOTES file? `botes run --input FILE --output OUT` enriches it" in text
    assert "... and 2 more line(s) that are not events" in text
    assert "no report written" in text
    assert not (tmp_path / "r.html").exists()


def test_an_empty_or_missing_input_is_a_startup_error(tmp_path: Path) -> None:
    empty = _lines(tmp_path / "empty.ndjson")
    for path, message in ((empty, "no events in it (empty file)"), (tmp_path / "nope.ndjson", "no such file"),
                          (tmp_path, "a directory")):
        result = CliRunner().invoke(app, ["report", str(path), "-o", str(tmp_path / "r.html")])
        assert result.exit_code == 2
        assert message in " ".join(result.stderr.split())
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_through_the_real_entry_point_there_is_no_traceback(tmp_path: Path) -> None:
    empty = _lines(tmp_path / "empty.ndjson")
    result = subprocess.run([sys.executable, "-m", "pipeline", "report", str(empty)], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "no events in it" in " ".join(result.stderr.split())


def test_run_report_needs_embedded_mode() -> None:
    result = CliRunner().invoke(app, ["run", "--report", "r.html"])
    assert result.exit_code == 2
    assert "--report needs embedded mode" in result.stderr
