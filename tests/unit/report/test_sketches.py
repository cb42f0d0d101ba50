"""Bounded counters: exact while small, bounded (and honest about it) when not."""

from __future__ import annotations

import random
from collections import Counter

from pipeline.report.sketches import BUCKET_SECONDS, DistinctCounter, Timeline, TopCounter


class TestTopCounter:
    def test_counts_are_exact_and_ranked_while_the_keys_fit(self) -> None:
        counter = TopCounter(lg_size=6)  # exact up to 48 distinct keys
        truth = Counter({f"k{i}": i + 1 for i in range(40)})
        for key, count in truth.items():
            for _ in range(count):
                counter.add(key)
        top = counter.top(5)
        assert [(r.key, r.count) for r in top] == truth.most_common(5)
        assert all(r.exact for r in counter.top())
        assert counter.total == sum(truth.values())

    def test_weights_add_up_and_ties_rank_by_key(self) -> None:
        counter = TopCounter(lg_size=6)
        counter.add("b", 3)
        counter.add("a", 2)
        counter.add("a")
        assert [(r.key, r.count) for r in counter.top()] == [("a", 3), ("b", 3)]

    def test_past_its_capacity_the_heavy_keys_stay_within_their_bounds(self) -> None:
        rng = random.Random(7)
        counter = TopCounter(lg_size=6)
        truth: Counter[str] = Counter()
        heavy = [f"heavy{i}" for i in range(5)]
        for n in range(20_000):
            key = heavy[n % 5] if n % 4 == 0 else f"noise{rng.randrange(5000)}"
            counter.add(key)
            truth[key] += 1
        top = counter.top(5)
        assert {r.key for r in top} == set(heavy)
        for ranked in top:
            assert ranked.low <= truth[ranked.key] <= ranked.high
        assert not all(r.exact for r in counter.top())  # it says when it could only bound the counts
        assert len(counter.top()) <= 64                   # and keeps no more than its size
        assert counter.total == 20_000

    def test_an_empty_counter_has_no_top(self) -> None:
        assert TopCounter().top(3) == []


def test_distinct_counter_is_exact_for_few_values_and_close_for_many() -> None:
    few, many = DistinctCounter(), DistinctCounter()
    for i in range(37):
        few.add(f"10.0.0.{i}")
        few.add(f"10.0.0.{i}")
    for i in range(50_000):
        many.add(f"ip{i}")
    assert few.estimate == 37
    assert abs(many.estimate - 50_000) < 0.05 * 50_000


class TestTimeline:
    def test_counts_per_bucket_and_series(self) -> None:
        timeline = Timeline(max_buckets=10)
        for second, name in ((0, "a"), (0.5, "b"), (3, "a"), (4.9, "a")):
            timeline.add(1_000_000 + second, name)
        width, series = timeline.series()
        assert width == 1
        assert series == {"a": [(1_000_000, 1), (1_000_003, 1), (1_000_004, 1)], "b": [(1_000_000, 1)]}

    def test_too_many_buckets_widen_them_without_losing_events(self) -> None:
        timeline = Timeline(max_buckets=20)
        for second in range(0, 3600, 7):
            timeline.add(1_700_000_000 + second, "x")
        width, series = timeline.series()
        assert width in BUCKET_SECONDS and width > 1
        assert len(series["x"]) <= 20
        assert sum(count for _, count in series["x"]) == len(range(0, 3600, 7))
        assert all(start % width == 0 for start, _ in series["x"])

    def test_drawing_widens_buckets_to_at_most_max_bars_across_the_range(self) -> None:
        timeline = Timeline(max_buckets=400)
        for minute in range(0, 24 * 60, 5):
            timeline.add(86400 * 1000 + minute * 60, "x")
        kept_width, _ = timeline.series()
        width, series = timeline.series(max_bars=30)
        assert kept_width == 1  # 288 distinct seconds fit in 400 buckets
        assert width == 3600  # 24 hours: 60 s and 5-30 min buckets would be more than 30 bars
        assert len(series["x"]) == 24
        assert sum(count for _, count in series["x"]) == 24 * 12

    def test_each_width_divides_the_next_so_wider_buckets_hold_whole_narrower_ones(self) -> None:
        assert all(wide % narrow == 0 for narrow, wide in zip(BUCKET_SECONDS, BUCKET_SECONDS[1:], strict=False))
