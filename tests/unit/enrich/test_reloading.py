"""pipeline.enrich.reloading: a value built from a file, rebuilt in the background when the file changes.

The clock is injected: a test moves it past the interval instead of sleeping, then waits for the reload
thread with ``wait()``.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from pipeline.enrich.reloading import RELOAD_INTERVAL, FileBacked
from pipeline.errors import ConfigError

SETTING = "test.path"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Resource:
    """A value that must be closed: records whether it was, and how often."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


class Loader:
    """Reads the file's text; counts loads; raises ConfigError (as a real loader would) on "bad" text."""

    def __init__(self) -> None:
        self.loads = 0

    def __call__(self, path: Path) -> Resource:
        self.loads += 1
        text = path.read_text(encoding="utf-8")
        if text.startswith("bad"):
            raise ConfigError(f"{SETTING}: {path} is bad")
        return Resource(text)


def replace(path: Path, text: str) -> None:
    """Write a new version beside the file and rename it over the file, as geoipupdate and rsync do."""
    new = path.with_name(path.name + ".new")
    new.write_text(text, encoding="utf-8")
    os.replace(new, path)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "data.txt"
    file.write_text("v1", encoding="utf-8")
    return file


def backed(path: Path, clock: Clock, loader: Loader | None = None,
           interval: float = RELOAD_INTERVAL) -> FileBacked[Resource]:
    return FileBacked(path, loader or Loader(), setting=SETTING, close=Resource.close, interval=interval,
                      clock=clock)


def advance(value: FileBacked[Resource], clock: Clock, seconds: float = RELOAD_INTERVAL) -> Resource:
    """Move the clock on, let the next use check the file, wait for the reload, return the value."""
    clock.now += seconds
    value.get()
    assert value.wait(timeout=10)
    return value.get()


class TestLoad:
    def test_loads_at_once(self, path: Path) -> None:
        assert backed(path, Clock()).get().text == "v1"

    def test_start_up_error_propagates(self, path: Path) -> None:
        path.write_text("bad", encoding="utf-8")
        with pytest.raises(ConfigError, match=SETTING):
            backed(path, Clock())

    def test_missing_file_at_start_propagates(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError):
            backed(tmp_path / "missing.txt", Clock())


class TestReload:
    def test_change_is_seen_after_the_interval(self, path: Path) -> None:
        clock = Clock()
        value = backed(path, clock)
        replace(path, "v2")
        assert value.get().text == "v1"  # not due yet
        assert advance(value, clock).text == "v2"

    def test_not_checked_before_the_interval(self, path: Path) -> None:
        clock, loader = Clock(), Loader()
        value = backed(path, clock, loader, interval=30.0)
        replace(path, "v2")
        clock.now += 29.9
        for _ in range(100):
            assert value.get().text == "v1"
        assert value.wait(timeout=10)
        assert loader.loads == 1
        assert advance(value, clock, 0.1).text == "v2"
        assert loader.loads == 2

    def test_unchanged_file_is_not_reloaded(self, path: Path) -> None:
        clock, loader = Clock(), Loader()
        value = backed(path, clock, loader)
        for _ in range(5):
            advance(value, clock)
        assert loader.loads == 1

    def test_in_place_edit_with_new_size_is_seen(self, path: Path) -> None:
        clock = Clock()
        value = backed(path, clock)
        path.write_text("version 2", encoding="utf-8")
        assert advance(value, clock).text == "version 2"

    def test_replacement_with_same_size_and_mtime_is_seen(self, path: Path) -> None:
        # Coarse file-system timestamps can give the new file the old mtime: the inode still differs.
        clock = Clock()
        value = backed(path, clock)
        before = os.stat(path)
        replace(path, "v2")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert os.stat(path).st_size == before.st_size
        assert advance(value, clock).text == "v2"

    def test_each_change_is_picked_up(self, path: Path) -> None:
        clock = Clock()
        value = backed(path, clock)
        for version in range(2, 6):
            replace(path, f"v{version}")
            assert advance(value, clock).text == f"v{version}"


class TestBadFile:
    def test_bad_file_keeps_the_old_value_and_logs_once(self, path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
        clock, loader = Clock(), Loader()
        value = backed(path, clock, loader)
        old = value.get()
        caplog.set_level(logging.WARNING, logger="pipeline.enrich.reloading")
        replace(path, "bad content")
        for _ in range(3):
            assert advance(value, clock) is old
        assert old.closes == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert SETTING in warnings[0].getMessage() and "keeping" in warnings[0].getMessage()
        assert loader.loads == 2  # the bad version is tried once, not at every check

    def test_good_file_after_a_bad_one_is_loaded(self, path: Path) -> None:
        clock = Clock()
        value = backed(path, clock)
        replace(path, "bad")
        assert advance(value, clock).text == "v1"
        replace(path, "v3")
        assert advance(value, clock).text == "v3"

    def test_vanished_file_keeps_the_old_value_until_it_is_back(self, path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
        clock = Clock()
        value = backed(path, clock)
        caplog.set_level(logging.WARNING, logger="pipeline.enrich.reloading")
        path.unlink()
        assert advance(value, clock).text == "v1"
        assert advance(value, clock).text == "v1"
        assert len([r for r in caplog.records if "gone" in r.getMessage()]) == 1
        path.write_text("v2", encoding="utf-8")
        assert advance(value, clock).text == "v2"


class TestLease:
    def test_old_value_is_closed_only_after_the_last_lease(self, path: Path) -> None:
        clock = Clock()
        value = backed(path, clock)
        with value.lease() as held:
            replace(path, "v2")
            new = advance(value, clock)
            assert new.text == "v2"
            assert held.closes == 0  # a lookup still uses it
            with value.lease() as second:
                assert second is new
        assert held.closes == 1
        assert new.closes == 0

    def test_old_value_without_lease_is_closed_at_the_swap(self, path: Path) -> None:
        clock = Clock()
        value = backed(path, clock)
        old = value.get()
        replace(path, "v2")
        advance(value, clock)
        assert old.closes == 1

    def test_close_waits_for_leases_and_closes_once(self, path: Path) -> None:
        value = backed(path, Clock())
        with value.lease() as held:
            value.close()
            assert held.closes == 0
        assert held.closes == 1
        value.close()
        with value.lease():
            pass
        assert held.closes == 1

    def test_reload_finishing_after_close_is_discarded(self, path: Path) -> None:
        clock, release = Clock(), threading.Event()
        loaded: list[Resource] = []

        def slow_load(file: Path) -> Resource:
            if loaded:  # the reload, not the first load: wait until the test has closed
                assert release.wait(timeout=10)
            loaded.append(Resource(file.read_text(encoding="utf-8")))
            return loaded[-1]

        value = FileBacked(path, slow_load, setting=SETTING, close=Resource.close, clock=clock)
        replace(path, "v2")
        clock.now += RELOAD_INTERVAL
        value.get()
        value.close()
        release.set()
        assert value.wait(timeout=10)
        assert [r.text for r in loaded] == ["v1", "v2"]
        assert [r.closes for r in loaded] == [1, 1]

    def test_closing_error_is_logged_not_raised(self, path: Path, caplog: pytest.LogCaptureFixture) -> None:
        def failing_close(resource: Resource) -> None:
            raise OSError("cannot unmap")

        value = FileBacked(path, Loader(), setting=SETTING, close=failing_close, clock=Clock())
        with caplog.at_level(logging.WARNING, logger="pipeline.enrich.reloading"):
            value.close()
        assert "cannot unmap" in caplog.text


class TestConcurrentLookups:
    def test_lookups_in_a_thread_see_only_whole_versions(self, path: Path) -> None:
        """A reader thread keeps reading while versions are swapped in: every value it sees is a whole
        version (all its parts from one file), versions only move forward, and the last one arrives."""
        def load(file: Path) -> dict[int, str]:
            text = file.read_text(encoding="utf-8")
            return {i: text for i in range(20_000)}  # big enough to take a while to build

        clock, stop, saw_last = Clock(), threading.Event(), threading.Event()
        value = FileBacked(path, load, setting=SETTING, clock=clock)
        seen: list[str] = []
        errors: list[BaseException] = []

        def reader() -> None:
            try:
                while not stop.is_set():
                    table = value.get()
                    parts = {table[0], table[10_000], table[19_999]}
                    assert len(parts) == 1 and len(table) == 20_000
                    seen.append(parts.pop())
                    if seen[-1] == "v5":
                        saw_last.set()
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for version in range(2, 6):
                replace(path, f"v{version}")
                clock.now += RELOAD_INTERVAL
                value.get()
                assert value.wait(timeout=10)
            assert saw_last.wait(timeout=10)
        finally:
            stop.set()
            thread.join(timeout=10)
        assert not errors
        assert seen[-1] == "v5"
        order = [int(text[1:]) for text in dict.fromkeys(seen)]
        assert order == sorted(order)
        assert set(seen) <= {"v1", "v2", "v3", "v4", "v5"}
