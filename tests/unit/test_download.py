"""`botes download` against a real loopback HTTP server with byte ranges (tests/fakes/range_server.py)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import DownloadSettings
from pipeline.download import REMOTE_NAMES, DownloadError, download_file, planned_downloads
from pipeline.errors import ConfigError
from pipeline.normalize.sources import SOURCE_TYPES
from tests.fakes.ports import closed_port
from tests.fakes.range_server import RangeFileServer

# SYNTHETIC stand-ins for the public files: gzip of made-up lines, large enough for several chunks.
SURICATA = gzip.compress(b"".join(b'{"event_type": "flow", "synthetic": %d}\n' % i for i in range(40_000)))
SECURITY = gzip.compress(b'{"EventCode": "4624", "synthetic": true}\n' * 5_000)
FILES = {"/botes-data/botesv1.suricata.json.gz": SURICATA,
         "/botes-data/botesv1.WinEventLog-Security.json.gz": SECURITY}


class Recorder:
    def __init__(self) -> None:
        self.starts: list[tuple[str, int | None, int]] = []
        self.bytes = 0

    def started(self, name: str, total: int | None, already: int) -> None:
        self.starts.append((name, total, already))

    def advanced(self, size: int) -> None:
        self.bytes += size


@pytest.fixture
def server() -> Iterator[RangeFileServer]:
    running = RangeFileServer(dict(FILES)).start()
    try:
        yield running
    finally:
        running.stop()


def settings_for(server: RangeFileServer) -> DownloadSettings:
    return DownloadSettings(base_url=f"{server.url}/botes-data", read_timeout=10)


def fetch(server: RangeFileServer, source_type: str, directory: Path, recorder: Recorder | None = None) -> int:
    (item,) = planned_downloads([source_type], directory, settings_for(server))
    with requests.Session() as session:
        return download_file(session, item, settings_for(server), recorder or Recorder())


def test_every_source_type_has_a_remote_file_and_names_follow_the_normaliser() -> None:
    assert set(REMOTE_NAMES) == set(SOURCE_TYPES)
    items = planned_downloads(None, Path("d"), DownloadSettings(base_url="http://h/x/"))
    assert {i.path.name for i in items} == {f"botesv1.{t}.json.gz" for t in SOURCE_TYPES}
    security = next(i for i in items if i.source_type == "wineventlog-security")
    assert security.url == "http://h/x/botesv1.WinEventLog-Security.json.gz"


def test_an_unknown_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown stream-nope.*suricata"):
        planned_downloads(["suricata", "stream-nope"], Path("d"), DownloadSettings())


def test_a_file_is_saved_under_the_normaliser_name_with_progress(server: RangeFileServer, tmp_path: Path) -> None:
    recorder = Recorder()
    fetched = fetch(server, "wineventlog-security", tmp_path, recorder)
    saved = tmp_path / "botesv1.wineventlog-security.json.gz"
    assert saved.read_bytes() == SECURITY and fetched == len(SECURITY)
    assert recorder.starts == [(saved.name, len(SECURITY), 0)] and recorder.bytes == len(SECURITY)
    assert not list(tmp_path.glob("*.part"))


def test_a_cut_download_resumes_with_a_range_request(server: RangeFileServer, tmp_path: Path) -> None:
    path = "/botes-data/botesv1.suricata.json.gz"
    server.cut_after[path] = 100_000
    with pytest.raises(DownloadError, match="cut.*run again to resume"):
        fetch(server, "suricata", tmp_path)
    part = tmp_path / "botesv1.suricata.json.gz.part"
    kept = part.stat().st_size
    assert 0 < kept < len(SURICATA) and not (tmp_path / "botesv1.suricata.json.gz").exists()

    recorder = Recorder()
    fetched = fetch(server, "suricata", tmp_path, recorder)
    assert server.ranges[-1] == (path, f"bytes={kept}-")
    assert fetched == len(SURICATA) - kept and recorder.starts[0][1:] == (len(SURICATA), kept)
    assert (tmp_path / "botesv1.suricata.json.gz").read_bytes() == SURICATA and not part.exists()


def test_a_server_that_ignores_ranges_gets_the_whole_file_again(tmp_path: Path) -> None:
    server = RangeFileServer(dict(FILES), ignore_ranges=True).start()
    try:
        part = tmp_path / "botesv1.suricata.json.gz.part"
        part.write_bytes(SURICATA[:5000])
        assert fetch(server, "suricata", tmp_path) == len(SURICATA)
    finally:
        server.stop()
    assert server.ranges == [("/botes-data/botesv1.suricata.json.gz", "bytes=5000-")]
    assert (tmp_path / "botesv1.suricata.json.gz").read_bytes() == SURICATA


def test_a_complete_part_is_finished_without_fetching_again(server: RangeFileServer, tmp_path: Path) -> None:
    (tmp_path / "botesv1.suricata.json.gz.part").write_bytes(SURICATA)
    assert fetch(server, "suricata", tmp_path) == 0
    assert (tmp_path / "botesv1.suricata.json.gz").read_bytes() == SURICATA


def test_offline_says_so_and_leaves_nothing_behind(tmp_path: Path) -> None:
    settings = DownloadSettings(base_url=f"http://127.0.0.1:{closed_port()}/botes-data", connect_timeout=5)
    (item,) = planned_downloads(["suricata"], tmp_path, settings)
    with requests.Session() as session, pytest.raises(DownloadError, match="cannot reach 127.0.0.1.*offline"):
        download_file(session, item, settings, Recorder())
    assert list(tmp_path.iterdir()) == []


def test_an_http_error_names_the_url(server: RangeFileServer, tmp_path: Path) -> None:
    del server.files["/botes-data/botesv1.suricata.json.gz"]
    with pytest.raises(DownloadError, match=r"botesv1\.suricata\.json\.gz: HTTP 404"):
        fetch(server, "suricata", tmp_path)


def run_cli(*args: str, base_url: str) -> tuple[int, str]:
    env = {**os.environ, "BOTES_DOWNLOAD__BASE_URL": base_url}
    result = CliRunner().invoke(app, ["download", *args], env=env)
    return result.exit_code, result.output


def test_the_command_fetches_the_types_asked_for_and_skips_files_already_there(
        server: RangeFileServer, tmp_path: Path) -> None:
    code, output = run_cli("--types", "suricata,wineventlog-security", str(tmp_path / "botes"),
                           base_url=f"{server.url}/botes-data")
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "botes").iterdir()) == [
        "botesv1.suricata.json.gz", "botesv1.wineventlog-security.json.gz"]
    requests_before = len(server.ranges)
    code, output = run_cli("--types", "suricata", str(tmp_path / "botes"), base_url=f"{server.url}/botes-data")
    assert code == 0 and "already there" in output and len(server.ranges) == requests_before


def test_the_command_exits_2_with_the_reason_when_offline(tmp_path: Path) -> None:
    code, output = run_cli("--types", "suricata", str(tmp_path), base_url=f"http://127.0.0.1:{closed_port()}/x")
    assert code == 2 and "cannot reach" in output and "offline" in output
