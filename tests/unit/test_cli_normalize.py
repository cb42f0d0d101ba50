"""`botes normalize`: ECS NDJSON on stdout, bad lines on stderr as file:line, exit 1 if there were any."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.normalize import Normalizer

GOOD_1 = '{"date":"2016-08-10","time":"21:00:00","srcip":"192.168.250.20","dstip":"8.8.8.8","dstport":"53"}'
GOOD_2 = '{"date":"2016-08-10","time":"21:00:07","srcip":"192.168.250.20","dstip":"1.128.0.0","proto":"17"}'


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def stdout_events(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class TestFiles:
    def test_bad_lines_are_reported_and_good_lines_still_printed(self, runner: CliRunner, tmp_path: Path
                                                                 ) -> None:
        path = write(tmp_path, "botesv1.fgt_traffic.json", [GOOD_1, "not json", "", "[1, 2]", GOOD_2])
        result = runner.invoke(app, ["normalize", "--source-type", "fgt_traffic", str(path)])
        assert result.exit_code == 1
        events = stdout_events(result.stdout)
        assert [e["event"]["original"] for e in events] == [GOOD_1, GOOD_2]
        stderr_lines = result.stderr.splitlines()
        assert f"{path}:2: not JSON: Expecting value at column 1" in stderr_lines
        assert f"{path}:4: not a JSON object but a list" in stderr_lines
        assert any("2 line(s) could not be normalised" in line for line in stderr_lines)
        assert "Traceback" not in result.stderr

    def test_output_is_the_normalised_event(self, runner: CliRunner, tmp_path: Path) -> None:
        path = write(tmp_path, "in.json", [GOOD_1, GOOD_2])
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic", str(path)])
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        normalizer = Normalizer()
        assert stdout_events(result.stdout) == [normalizer.normalize_line(GOOD_1, "fgt_traffic"),
                                                normalizer.normalize_line(GOOD_2, "fgt_traffic")]
        first = stdout_events(result.stdout)[0]
        assert first["@timestamp"] == "2016-08-10T21:00:00.000Z"
        assert first["destination"]["port"] == 53

    def test_one_json_document_per_line(self, runner: CliRunner, tmp_path: Path) -> None:
        path = write(tmp_path, "in.json", [GOOD_1, GOOD_2])
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic", str(path)])
        assert len(result.stdout.splitlines()) == 2
        assert result.stdout.endswith("\n")

    def test_gzip_input(self, runner: CliRunner, tmp_path: Path) -> None:
        path = tmp_path / "botesv1.fgt_traffic.json.gz"
        path.write_bytes(gzip.compress(f"{GOOD_1}\n{{broken\n".encode()))
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic", str(path)])
        assert result.exit_code == 1
        assert len(stdout_events(result.stdout)) == 1
        assert f"{path}:2: not JSON" in result.stderr

    def test_line_numbers_are_per_file(self, runner: CliRunner, tmp_path: Path) -> None:
        a = write(tmp_path, "a.json", [GOOD_1, "bad-a"])
        b = write(tmp_path, "b.json", ["bad-b", GOOD_2])
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic", str(a), str(b)])
        assert result.exit_code == 1
        assert f"{a}:2: not JSON" in result.stderr
        assert f"{b}:1: not JSON" in result.stderr
        assert len(stdout_events(result.stdout)) == 2

    def test_non_utf8_line(self, runner: CliRunner, tmp_path: Path) -> None:
        path = tmp_path / "in.json"
        path.write_bytes(GOOD_1.encode() + b'\n{"user": "\xff"}\n')
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic", str(path)])
        assert result.exit_code == 1
        assert f"{path}:2: not UTF-8" in result.stderr
        assert len(stdout_events(result.stdout)) == 1

    def test_splunk_alias(self, runner: CliRunner, tmp_path: Path) -> None:
        path = write(tmp_path, "in.json", [GOOD_1])
        result = runner.invoke(app, ["normalize", "-t", "fgt:traffic", str(path)])
        assert result.exit_code == 0
        assert stdout_events(result.stdout)[0]["event"]["dataset"] == "fgt_traffic"

    def test_an_unknown_source_type_is_a_usage_error_not_a_rejection_per_line(self, runner: CliRunner,
                                                                               tmp_path: Path) -> None:
        path = write(tmp_path, "in.json", [GOOD_1, GOOD_2])
        result = runner.invoke(app, ["normalize", "-t", "no_such_type", str(path)])
        assert result.exit_code == 2
        assert result.stdout == ""
        said = " ".join(result.stderr.split())
        assert "--source-type: unknown source type 'no_such_type' (known: fgt_event, fgt_traffic," in said
        assert f"{path}:1" not in said

    def test_missing_file_is_a_clean_error(self, runner: CliRunner, tmp_path: Path) -> None:
        missing = tmp_path / "missing.json"
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic", str(missing)])
        assert not isinstance(result.exception, OSError)
        assert result.exit_code == 2
        assert str(missing) in result.stderr


class TestStdin:
    def test_stdin_with_line_numbers(self, runner: CliRunner) -> None:
        data = f"{GOOD_1}\n\nnope\n{GOOD_2}\n".encode()
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic"], input=data)
        assert result.exit_code == 1
        assert "<stdin>:3: not JSON" in result.stderr
        assert [e["event"]["original"] for e in stdout_events(result.stdout)] == [GOOD_1, GOOD_2]

    def test_stdin_crlf(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["normalize", "-t", "fgt_traffic"], input=f"{GOOD_1}\r\n".encode())
        assert result.exit_code == 0
        assert stdout_events(result.stdout)[0]["event"]["original"] == GOOD_1


def test_source_type_is_required(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "botesv1.fgt_traffic.json", [GOOD_1])
    result = runner.invoke(app, ["normalize", str(path)])
    assert result.exit_code == 2
    assert "--source-type is required" in result.stderr
    assert result.stdout == ""


def test_five_megabyte_lines_and_wrong_types(runner: CliRunner, tmp_path: Path) -> None:
    payload = "A" * (5 * 1024 * 1024)
    big_good = json.dumps({"date": "2016-08-10", "time": "21:00:00", "srcip": "10.0.0.1", "msg": payload})
    big_broken = big_good[:-2]  # cut before the closing quote and brace
    wrong_types = json.dumps({"date": "2016-08-10", "time": "21:00:01", "srcip": {"not": "an ip"},
                              "dstport": [1, "x"], "sentbyte": True})
    path = write(tmp_path, "botesv1.fgt_traffic.json", [big_good, big_broken, wrong_types])
    result = runner.invoke(app, ["normalize", "-t", "fgt_traffic", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: not JSON" in result.stderr
    events = stdout_events(result.stdout)
    assert len(events) == 2
    assert events[0]["botes"]["unmapped"]["msg"] == payload
    errors = events[1]["botes"]["normalize"]["errors"]
    # an object where the map expects a value is kept, by its path, with the unmapped fields
    assert events[1]["botes"]["unmapped"]["srcip"] == {"not": "an ip"}
    assert any(e.startswith("dstport -> destination.port") for e in errors)
    assert any(e.startswith("sentbyte -> source.bytes") for e in errors)
    assert "ip" not in events[1].get("source", {})


def test_a_line_nested_1000_deep_is_reported_and_the_lines_after_it_still_come_out(
        runner: CliRunner, tmp_path: Path) -> None:
    from tests.deep_input import DEEP_REASON, write_deep_input

    deep = write_deep_input(tmp_path)
    result = runner.invoke(app, ["normalize", "-t", "suricata", str(deep.path)])
    assert result.exit_code == 1
    assert [e["event"]["original"] for e in stdout_events(result.stdout)] == deep.good
    assert f"{deep.path}:{deep.deep_line_number}: {DEEP_REASON}" in result.stderr.splitlines()
    assert "1 line(s) could not be normalised" in result.stderr
    assert "Traceback" not in result.stderr
