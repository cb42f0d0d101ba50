"""A circuit breaker per provider: after repeated failures stop calling it for a while, then try once.

closed --(failure_threshold failures in a row)--> open --(reset_after passes)--> half-open
half-open --(the one trial call succeeds)--> closed;  half-open --(it fails)--> open again
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, reset_after: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = failure_threshold
        self._reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._reset_after:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one trial call at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self, open_for: float | None = None) -> None:
        """A failed call; ``open_for`` opens the breaker at once for that long (e.g. a wrong API key)."""
        self._trial_running = False
        self._failures += 1
        if open_for is not None:
            self._opened_at = self._clock() - self._reset_after + open_for
        elif self._failures >= self._threshold or self._opened_at is not None:
            self._opened_at = self._clock()
