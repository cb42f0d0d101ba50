"""A clock tests move by hand: ``clock()`` reads it, sleeping advances it at once and records how long."""

from __future__ import annotations

import asyncio

__all__ = ["FakeClock"]


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        """The same for code that awaits its sleep; yields once so other tasks can run."""
        self.sleep(seconds)
        await asyncio.sleep(0)
