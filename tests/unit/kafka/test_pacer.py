"""kafka.replay.Pacer: holds a replay to a rate, with an injected clock (no sleeping)."""

from __future__ import annotations

import pytest

from pipeline.kafka.replay import Pacer
from tests.fakes.clock import FakeClock


def test_no_rate_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock, clock.sleep)
    for _ in range(1000):
        pacer.wait()
    assert clock.slept == []


def test_rate_spaces_events_evenly_from_the_first() -> None:
    clock = FakeClock()
    pacer = Pacer(4.0, clock, clock.sleep)
    for _ in range(9):
        pacer.wait()
    assert clock.now == 102.0  # 9 events at 4/s: the 9th is due 8 * 0.25 s after the first
    assert all(abs(s - 0.25) < 1e-9 for s in clock.slept)


def test_slow_work_is_not_punished_twice() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock, clock.sleep)
    pacer.wait()
    clock.now += 1.0  # the first event took a whole second to publish
    for _ in range(10):
        pacer.wait()  # these were all due already: no sleeping
    assert clock.slept == []
    pacer.wait()  # the 12th is due 1.1 s after the first: 0.1 s from now
    assert clock.slept == [pytest.approx(0.1)]
