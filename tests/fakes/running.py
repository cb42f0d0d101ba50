"""Running an enricher in a test: use it on a fresh event loop, then close it (its clients bind to that loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from pipeline.events import Outcome

__all__ = ["run_then_close", "lookup_then_close"]


class _Closable(Protocol):
    async def aclose(self) -> None: ...

    async def lookup(self, value: str) -> Outcome: ...


E = TypeVar("E", bound=_Closable)
T = TypeVar("T")


def run_then_close(source: E, use: Callable[[E], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use(source)
        finally:
            await source.aclose()
    return asyncio.run(go())


def lookup_then_close(source: _Closable, value: str) -> Outcome:
    return run_then_close(source, lambda e: e.lookup(value))
