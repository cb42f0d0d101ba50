"""pipeline.enrich.assets: the internal-assets table (longest prefix wins) and its enricher."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from pathlib import Path

import pytest

from pipeline.addresses import AddressClassifier
from pipeline.config import AssetsSettings, bundled_data
from pipeline.enrich.assets import AssetsEnricher, AssetTable
from pipeline.enrich.reloading import RELOAD_INTERVAL
from pipeline.errors import ConfigError, DependencyError
from pipeline.events import Found, NotFound, Outcome, Target

HEADER = "network,hostname,owner,os,location,criticality,roles\n"


@pytest.fixture(scope="module")
def table() -> AssetTable:
    return AssetTable.from_csv(bundled_data("assets.csv"))


@pytest.fixture(scope="module")
def enricher() -> AssetsEnricher:
    return AssetsEnricher(AssetsSettings(), AddressClassifier())


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "assets.csv"
    path.write_text(text, encoding="utf-8")
    return path


class TestBundledTable:
    def test_row_count(self, table: AssetTable) -> None:
        assert len(table) == 7

    def test_exact_host_beats_its_network(self, table: AssetTable) -> None:
        assert table.find("192.168.250.70") == {
            "hostname": "imreallynotbatman.com", "owner": "Web team", "os": "Windows Server 2012 R2",
            "location": "DC1", "criticality": "Critical", "roles": ["Web server"]}

    def test_host_without_own_row_gets_the_network_row(self, table: AssetTable) -> None:
        # The /24 row has empty hostname, os and roles: those keys are absent, not empty.
        assert table.find("192.168.250.20") == {"owner": "Network team", "location": "DC1",
                                                "criticality": "Medium"}

    def test_roles(self, table: AssetTable) -> None:
        scanner = table.find("192.168.250.100")
        assert scanner is not None and scanner["roles"] == ["Scanner"]
        red_team = table.find("10.10.10.10")
        assert red_team is not None and red_team["roles"] == ["Red Team"]
        assert red_team["hostname"] == "kali-redteam"

    def test_ipv6_exact_and_network(self, table: AssetTable) -> None:
        dc = table.find("fd00:10::10")
        assert dc is not None
        assert dc["hostname"] == "lab-dc01" and dc["criticality"] == "Critical"
        assert table.find("fd00:10::99") == {"owner": "Network team", "location": "Lab", "criticality": "Low"}

    @pytest.mark.parametrize("value", ["172.16.0.5", "192.168.251.1", "10.10.10.11", "fd00:11::1",
                                       "81.2.69.160", "garbage", ""])
    def test_not_found(self, table: AssetTable, value: str) -> None:
        assert table.find(value) is None

    def test_ipv4_mapped_address(self, table: AssetTable) -> None:
        assert table.find("::ffff:192.168.250.70") == table.find("192.168.250.70")

    def test_ipv4_row_does_not_match_ipv6_address_with_same_bits(self, table: AssetTable) -> None:
        # ::c0a8:fa46 has the low 32 bits of 192.168.250.70 but is an IPv6 address.
        assert table.find("::c0a8:fa46") is None


class TestFromCsv:
    def test_longest_prefix_wins_regardless_of_row_order(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER
                         + "10.0.0.0/8,,,,,Low,\n"
                         + "10.1.2.3,exact,,,,Critical,\n"
                         + "10.1.0.0/16,mid,,,,Medium,\n")
        table = AssetTable.from_csv(path)
        assert table.find("10.1.2.3") == {"hostname": "exact", "criticality": "Critical"}
        assert table.find("10.1.9.9") == {"hostname": "mid", "criticality": "Medium"}
        assert table.find("10.200.0.1") == {"criticality": "Low"}

    def test_values_are_trimmed_and_criticality_title_cased(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + " 10.0.0.1 , web01 ,  Ops ,,, critical , Scanner ; Red Team ;\n")
        assert AssetTable.from_csv(path).find("10.0.0.1") == {
            "hostname": "web01", "owner": "Ops", "criticality": "Critical", "roles": ["Scanner", "Red Team"]}

    def test_network_with_host_bits_set(self, tmp_path: Path) -> None:
        table = AssetTable.from_csv(write_csv(tmp_path, HEADER + "10.1.2.3/24,lan,,,,,\n"))
        assert table.find("10.1.2.200") == {"hostname": "lan"}

    def test_only_network_column_is_required(self, tmp_path: Path) -> None:
        table = AssetTable.from_csv(write_csv(tmp_path, "network,hostname\n10.0.0.1,only-host\n"))
        assert table.find("10.0.0.1") == {"hostname": "only-host"}

    def test_comment_lines_are_skipped(self, tmp_path: Path) -> None:
        table = AssetTable.from_csv(write_csv(tmp_path, "# a comment\n" + HEADER + "  # indented\n"
                                              + "10.0.0.1,h,,,,,\n"))
        assert len(table) == 1

    def test_bad_cidr_names_file_and_line(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + "10.0.0.1,ok,,,,,\n" + "10.0.0.300/24,bad,,,,,\n")
        with pytest.raises(ConfigError) as excinfo:
            AssetTable.from_csv(path)
        message = str(excinfo.value)
        assert f"{path}:3" in message
        assert "10.0.0.300/24" in message
        assert "assets.path" in message

    def test_bad_criticality_names_file_and_line(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + "10.0.0.1,h,,,,Urgent,\n")
        with pytest.raises(ConfigError) as excinfo:
            AssetTable.from_csv(path)
        message = str(excinfo.value)
        assert f"{path}:2" in message
        assert "Urgent" in message and "Critical" in message

    def test_line_number_counts_comment_lines(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "# line 1\n# line 2\n" + HEADER + "10.0.0.1,ok,,,,,\n" + "not-a-net,bad,,,,,\n")
        # physical lines: 1-2 comments, 3 header, 4 ok row, 5 bad row
        with pytest.raises(ConfigError, match=re.escape(f"{path}:5:")):
            AssetTable.from_csv(path)

    def test_missing_network_column(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="network"):
            AssetTable.from_csv(write_csv(tmp_path, "ip,hostname\n10.0.0.1,h\n"))

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(DependencyError, match=r"assets\.path"):
            AssetTable.from_csv(tmp_path / "missing.csv")


class TestEnricher:
    def test_targets_internal_addresses_only(self, enricher: AssetsEnricher) -> None:
        event = {"source": {"ip": "192.168.250.70"}, "destination": {"ip": "81.2.69.160"},
                 "client": {"ip": "fd00:10::10"}, "server": {"ip": "127.0.0.1"}}
        assert list(enricher.targets(event)) == [Target("source", "192.168.250.70"),
                                                 Target("client", "fd00:10::10")]

    def test_extra_internal_network_is_targeted(self) -> None:
        enricher = AssetsEnricher(AssetsSettings(), AddressClassifier(["81.2.69.0/24"]))
        assert list(enricher.targets({"destination": {"ip": "81.2.69.160"}})) == [
            Target("destination", "81.2.69.160")]

    def test_lookup_found(self, enricher: AssetsEnricher) -> None:
        outcome = asyncio.run(enricher.lookup("10.10.10.10"))
        assert isinstance(outcome, Found)
        assert outcome.data["hostname"] == "kali-redteam"

    def test_lookup_not_found(self, enricher: AssetsEnricher) -> None:
        assert asyncio.run(enricher.lookup("172.16.0.5")) == NotFound()

    def test_answers_in_memory_as_lookup_does(self, enricher: AssetsEnricher) -> None:
        values = ["10.10.10.10", "172.16.0.5", "fd00:10::10"]
        assert enricher.answer_now(values) == {value: asyncio.run(enricher.lookup(value)) for value in values}

    def test_fragment_shape(self, enricher: AssetsEnricher) -> None:
        data = {"hostname": "lab-dc01", "criticality": "Critical"}
        assert enricher.fragment(Target("source", "fd00:10::10"), Found(data)) == {
            "botes": {"source": {"asset": {"hostname": "lab-dc01", "criticality": "Critical"}}}}

    def test_custom_table_path(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + "10.9.9.9,custom,,,,Low,\n")
        enricher = AssetsEnricher(AssetsSettings(path=path), AddressClassifier())
        assert asyncio.run(enricher.lookup("10.9.9.9")) == Found({"hostname": "custom", "criticality": "Low"})
        asyncio.run(enricher.aclose())


def replace_file(path: Path, text: str) -> None:
    """Write the new version beside the file and rename it over the file, as deployment tools do."""
    new = path.with_name(path.name + ".new")
    new.write_text(text, encoding="utf-8")
    os.replace(new, path)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestReload:
    """The table is reloaded when its file changes; the clock is moved on instead of sleeping."""

    def test_table_replaced_while_lookups_run(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + "10.0.0.0/8,,,,,Low,\n10.1.2.3,old-name,,,,Medium,\n")
        clock = Clock()
        enricher = AssetsEnricher(AssetsSettings(path=path), AddressClassifier(), clock=clock)
        old, new = Found({"hostname": "old-name", "criticality": "Medium"}), Found({"hostname": "new-name"})
        rows = "".join(f"10.200.{i >> 8}.{i & 255},host{i},,,,,\n" for i in range(5_000))

        async def run() -> list[Outcome]:
            answers: list[Outcome] = []
            stop = asyncio.Event()

            async def keep_looking() -> None:
                while not stop.is_set():
                    answers.append(await enricher.lookup("10.1.2.3"))
                    await asyncio.sleep(0)

            tasks = [asyncio.create_task(keep_looking()) for _ in range(4)]
            await asyncio.sleep(0)
            replace_file(path, HEADER + rows + "10.1.2.3,new-name,,,,,\n")
            clock.now += RELOAD_INTERVAL
            deadline = time.monotonic() + 30  # a bound for a broken reload, not a measurement
            while new not in answers[-4:] and time.monotonic() < deadline:
                await asyncio.sleep(0)
            stop.set()
            await asyncio.gather(*tasks)
            return answers

        answers = asyncio.run(run())
        assert all(answer in (old, new) for answer in answers), [a for a in answers if a not in (old, new)]
        first_new = answers.index(new)
        assert old in answers[:first_new]
        assert all(answer == new for answer in answers[first_new:])
        assert asyncio.run(enricher.lookup("10.200.19.135")) == Found({"hostname": "host4999"})
        asyncio.run(enricher.aclose())

    def test_the_reload_interval_is_a_setting(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + "10.1.2.3,old-name,,,,,\n")
        clock = Clock()
        enricher = AssetsEnricher(AssetsSettings(path=path, reload_interval=60), AddressClassifier(), clock=clock)
        replace_file(path, HEADER + "10.1.2.3,new-name,,,,,\n")
        clock.now += 59  # the default (5 s) would have looked by now
        assert asyncio.run(enricher.lookup("10.1.2.3")) == Found({"hostname": "old-name"})
        assert enricher._table.wait(timeout=10)
        assert asyncio.run(enricher.lookup("10.1.2.3")) == Found({"hostname": "old-name"})
        clock.now += 1
        asyncio.run(enricher.lookup("10.1.2.3"))  # the first use after the interval starts the reload
        assert enricher._table.wait(timeout=10)
        assert asyncio.run(enricher.lookup("10.1.2.3")) == Found({"hostname": "new-name"})
        asyncio.run(enricher.aclose())

    def test_bad_table_keeps_the_old_one_and_logs_once(self, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
        path = write_csv(tmp_path, HEADER + "10.1.2.3,kept,,,,,\n")
        clock = Clock()
        enricher = AssetsEnricher(AssetsSettings(path=path), AddressClassifier(), clock=clock)
        replace_file(path, HEADER + "10.1.2.300,broken,,,,,\n")
        with caplog.at_level(logging.WARNING, logger="pipeline.enrich.reloading"):
            for _ in range(3):
                clock.now += RELOAD_INTERVAL
                assert asyncio.run(enricher.lookup("10.1.2.3")) == Found({"hostname": "kept"})
                assert enricher._table.wait(timeout=10)
        assert len(caplog.records) == 1
        assert "assets.path" in caplog.text and "10.1.2.300" in caplog.text
