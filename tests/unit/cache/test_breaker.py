"""cache.breaker: opens after repeated failures, half-opens later for one trial, recovers; clock injected."""

from __future__ import annotations

from pipeline.cache.breaker import BreakerState, CircuitBreaker
from tests.fakes.clock import FakeClock


def test_opens_after_the_threshold_and_refuses_calls() -> None:
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(failure_threshold=3, reset_after=30, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=FakeClock(1000.0))
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_half_opens_after_reset_for_one_trial_and_recovers_on_success() -> None:
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30, clock=clock)
    breaker.record_failure()
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()          # the trial
    assert not breaker.allow()      # nobody else while it runs
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_a_failed_trial_opens_it_again_for_a_full_period() -> None:
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30, clock=clock)
    breaker.record_failure()
    clock.now += 31
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 29
    assert not breaker.allow()
    clock.now += 2
    assert breaker.allow()


def test_open_for_opens_at_once_for_that_long() -> None:
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(failure_threshold=5, reset_after=30, clock=clock)
    breaker.record_failure(open_for=600)  # e.g. a wrong API key: no point retrying soon
    assert breaker.state is BreakerState.OPEN
    clock.now += 599
    assert not breaker.allow()
    clock.now += 2
    assert breaker.allow()
