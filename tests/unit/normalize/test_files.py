"""pipeline.normalize.files: finding botesv1.<sourcetype>.json[.gz] files and reading their lines."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pipeline.config import bundled_data
from pipeline.errors import ConfigError
from pipeline.normalize.files import BotesFile, find_botes_files, read_lines, source_type_from_name


class TestSourceTypeFromName:
    @pytest.mark.parametrize(("name", "expected"), [
        ("botesv1.fgt_traffic.json", "fgt_traffic"),
        ("botesv1.suricata.json.gz", "suricata"),
        ("botesv1.stream-http.json", "stream-http"),
        ("botesv1.fgt:traffic.json", "fgt:traffic"),
        ("BOTESv1.Suricata.JSON", "Suricata"),
    ])
    def test_botes_names(self, name: str, expected: str) -> None:
        assert source_type_from_name(Path("/some/dir") / name) == expected

    @pytest.mark.parametrize("name", ["suricata.json", "botesv1.json", "botesv1.suricata.ndjson",
                                      "botesv1.suricata.json.bz2", "xbotesv1.suricata.json"])
    def test_other_names(self, name: str) -> None:
        assert source_type_from_name(Path(name)) is None


class TestFindBotesFiles:
    def test_directory_with_plain_and_gzip_files(self, tmp_path: Path) -> None:
        (tmp_path / "botesv1.suricata.json.gz").write_bytes(gzip.compress(b"{}\n"))
        (tmp_path / "botesv1.fgt_traffic.json").write_text("{}\n")
        (tmp_path / "README.md").write_text("not a BOTES file")
        (tmp_path / "botesv1.nested.json").mkdir()  # a directory with a BOTES-like name is not a file
        assert find_botes_files([tmp_path]) == [
            BotesFile(tmp_path / "botesv1.fgt_traffic.json", "fgt_traffic"),
            BotesFile(tmp_path / "botesv1.suricata.json.gz", "suricata"),
        ]

    def test_bundled_sample_directory(self) -> None:
        found = find_botes_files([bundled_data("sample")])
        assert {f.source_type for f in found} == {"fgt_traffic", "suricata"}

    def test_source_type_option_applies_to_every_file(self, tmp_path: Path) -> None:
        (tmp_path / "botesv1.fgt_traffic.json").write_text("{}\n")
        assert find_botes_files([tmp_path], "suricata") == [
            BotesFile(tmp_path / "botesv1.fgt_traffic.json", "suricata")]

    def test_file_with_unknown_name_and_source_type(self, tmp_path: Path) -> None:
        path = tmp_path / "eve.json"
        path.write_text("{}\n")
        assert find_botes_files([path], "suricata") == [BotesFile(path, "suricata")]

    def test_an_unknown_source_type_given_is_refused_before_any_file_is_read(self, tmp_path: Path) -> None:
        """Else `botes replay -t typo` would send whole files to the dead-letter topic."""
        (tmp_path / "botesv1.suricata.json").write_text("{}\n")
        with pytest.raises(ConfigError, match="--source-type: unknown source type 'surricata'"):
            find_botes_files([tmp_path], "surricata")
        assert find_botes_files([tmp_path], "Suricata:EVE") == [BotesFile(tmp_path / "botesv1.suricata.json",
                                                                          "Suricata:EVE")]

    def test_a_file_named_for_an_unknown_type_is_still_found(self, tmp_path: Path) -> None:
        """Its lines are rejected one by one later, as dead letters (as Logstash's pipeline for other names does)."""
        (tmp_path / "botesv1.stream-unknown.json").write_text("{}\n")
        assert find_botes_files([tmp_path]) == [BotesFile(tmp_path / "botesv1.stream-unknown.json", "stream-unknown")]

    def test_file_with_unknown_name_without_source_type(self, tmp_path: Path) -> None:
        path = tmp_path / "eve.json"
        path.write_text("{}\n")
        with pytest.raises(ConfigError, match="--source-type") as excinfo:
            find_botes_files([path])
        assert str(path) in str(excinfo.value)

    def test_directory_without_botes_files(self, tmp_path: Path) -> None:
        (tmp_path / "eve.json").write_text("{}\n")
        with pytest.raises(ConfigError, match="no botesv1"):
            find_botes_files([tmp_path])

    def test_missing_path(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="no such file"):
            find_botes_files([tmp_path / "nope.json"])

    def test_several_paths_keep_their_order(self, tmp_path: Path) -> None:
        a = tmp_path / "botesv1.suricata.json"
        b = tmp_path / "botesv1.fgt_traffic.json"
        a.write_text("{}\n")
        b.write_text("{}\n")
        assert [f.path for f in find_botes_files([a, b])] == [a, b]


class TestReadLines:
    CONTENT = b'{"n": 1}\n\n{"n": 3}\r\n   \n{"n": 5}'  # blank and whitespace-only lines, CRLF, no final newline

    EXPECTED = [(1, b'{"n": 1}'), (3, b'{"n": 3}'), (5, b'{"n": 5}')]

    def test_plain(self, tmp_path: Path) -> None:
        path = tmp_path / "botesv1.suricata.json"
        path.write_bytes(self.CONTENT)
        assert list(read_lines(path)) == self.EXPECTED

    def test_gzip(self, tmp_path: Path) -> None:
        path = tmp_path / "botesv1.suricata.json.gz"
        path.write_bytes(gzip.compress(self.CONTENT))
        assert list(read_lines(path)) == self.EXPECTED

    def test_bytes_are_returned_undecoded(self, tmp_path: Path) -> None:
        path = tmp_path / "botesv1.suricata.json"
        path.write_bytes(b"\xff\xfe not utf-8\n")
        assert list(read_lines(path)) == [(1, b"\xff\xfe not utf-8")]

    def test_empty_file(self, tmp_path: Path) -> None:
        path = tmp_path / "botesv1.suricata.json"
        path.write_bytes(b"")
        assert list(read_lines(path)) == []

    def test_gzip_with_upper_case_suffix_as_accepted_by_find_botes_files(self, tmp_path: Path) -> None:
        path = tmp_path / "BOTESv1.suricata.JSON.GZ"
        path.write_bytes(gzip.compress(self.CONTENT))
        [found] = find_botes_files([tmp_path])
        assert list(read_lines(found.path)) == self.EXPECTED
