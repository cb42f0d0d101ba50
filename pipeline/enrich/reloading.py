"""A value built from a local file (assets table, threat list, MaxMind reader), rebuilt when the file changes.

The file's mtime, size and inode are compared at most every ``interval`` seconds, on the next use after
the interval is up. A change starts the rebuild on a background thread, so a large file (a million-line
threat list) never stalls the event loop; lookups meanwhile keep the old value, and the new one replaces it
in a single assignment, so a lookup sees the old value or the new one, never a half-built one. A file that
cannot be loaded keeps the old value and is logged once (per change of the file).

Values that hold resources (MaxMind readers) are used through ``lease()``: the old value is closed when the
last lookup that leased it is done, never under a running lookup.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["FileBacked", "RELOAD_INTERVAL"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds between two looks at a file when none is given; the enrichers pass their source's
# ``reload_interval`` setting (config.py, same default).
RELOAD_INTERVAL = 5.0

# (mtime in ns, size, inode): the inode catches an atomic replace (os.replace, geoipupdate's rename) even
# when the new file has the same size and the clock's resolution gives it the same mtime.
_Stamp = tuple[int, int, int]


def _stamp(path: Path) -> _Stamp | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


@dataclass(slots=True)
class _Generation(Generic[T]):
    """One loaded version of the file, with the number of lookups using it right now."""

    value: T
    users: int = 0
    retired: bool = False
    disposed: bool = False

    def disposable(self) -> bool:
        """Call with the lock held: True once (the caller then closes the value)."""
        if self.retired and self.users == 0 and not self.disposed:
            self.disposed = True
            return True
        return False


class FileBacked(Generic[T]):
    """``load(path)`` now (its exceptions propagate: a start-up error), and again whenever the file changes."""

    def __init__(self, path: Path, load: Callable[[Path], T], *, setting: str,
                 close: Callable[[T], None] | None = None, interval: float = RELOAD_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.setting = setting  # names the file in log lines: "assets.path", "geoip.city_db", ...
        self._load = load
        self._close = close
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        # Stamp before loading: a change made while loading is then seen at the next check.
        self._stamp = _stamp(path)
        self._current: _Generation[T] = _Generation(load(path))
        self._next_check = clock() + interval
        self._reloader: threading.Thread | None = None
        self._closed = False

    def get(self) -> T:
        """The current value, for values that need no closing (a lookup may keep using it after a swap)."""
        self._check_if_due()
        return self._current.value

    @contextmanager
    def lease(self) -> Iterator[T]:
        """The current value, kept open until the block ends even if a new version replaces it meanwhile."""
        self._check_if_due()
        with self._lock:
            generation = self._current
            generation.users += 1
        try:
            yield generation.value
        finally:
            with self._lock:
                generation.users -= 1
                dispose = generation.disposable()
            if dispose:
                self._dispose(generation.value)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the reload under way, if any, is done; False if it is still running at ``timeout``."""
        with self._lock:
            thread = self._reloader
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def close(self) -> None:
        """Stop reloading and close the value once no lookup uses it; a reload under way is discarded."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            generation = self._current
            generation.retired = True
            dispose = generation.disposable()
        if dispose:
            self._dispose(generation.value)

    def _check_if_due(self) -> None:
        now = self._clock()
        if now < self._next_check:
            return
        with self._lock:
            if now < self._next_check or self._closed:
                return
            self._next_check = now + self._interval
            if self._reloader is not None:  # the file is looked at again once this reload is done
                return
            stamp = _stamp(self.path)
            if stamp == self._stamp:
                return
            self._stamp = stamp
            if stamp is None:
                log.warning("%s: %s is gone; keeping the version loaded before until it is back",
                            self.setting, self.path)
                return
            thread = self._reloader = threading.Thread(target=self._reload, name=f"reload {self.setting}",
                                                       daemon=True)
        thread.start()

    def _reload(self) -> None:
        try:
            value = self._load(self.path)
        except Exception as exc:  # whatever a bad file makes the loader raise, the old value stays
            log.warning("%s: cannot reload %s, keeping the version loaded before: %s",
                        self.setting, self.path, exc)
            with self._lock:
                self._reloader = None
            return
        fresh = _Generation(value)
        with self._lock:
            self._reloader = None
            if self._closed:
                old = fresh
                old.retired = True
            else:
                old, self._current = self._current, fresh
                old.retired = True
            dispose = old.disposable()
        if dispose:
            self._dispose(old.value)
        if old is not fresh:
            log.info("%s: reloaded %s", self.setting, self.path)

    def _dispose(self, value: T) -> None:
        if self._close is None:
            return
        try:
            self._close(value)
        except Exception as exc:  # closing an old version must not break the lookup that released it
            log.warning("%s: closing the previous version of %s failed: %s", self.setting, self.path, exc)
