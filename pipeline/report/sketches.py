"""Counting in bounded memory, so a report over any number of events holds the same amount.

``TopCounter`` keeps the most frequent keys (Apache DataSketches' frequent-items sketch): exact while fewer
than three quarters of its capacity of distinct keys were seen, beyond that each count comes with the bounds
the sketch guarantees. ``DistinctCounter`` estimates how many distinct values were seen (HyperLogLog).
``Timeline`` counts events per time bucket and series, widening the buckets when there would be too many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from datasketches import frequent_items_error_type, frequent_strings_sketch, hll_sketch

__all__ = ["Ranked", "TopCounter", "DistinctCounter", "Timeline", "BUCKET_SECONDS"]

# Bucket widths a timeline may use: each divides the next, so widening merges whole buckets.
BUCKET_SECONDS = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400,
                  28 * 86400, 364 * 86400)


@dataclass(frozen=True, slots=True)
class Ranked:
    """A key and its count; ``low`` < ``high`` when the sketch can only bound the count."""

    key: str
    count: int
    low: int
    high: int

    @property
    def exact(self) -> bool:
        return self.low == self.high


class TopCounter:
    """How often each key was seen, for the most frequent keys, in memory fixed by ``lg_size``."""

    add: Callable[..., None]
    """add(key, weight=1): count ``key`` ``weight`` more times."""

    def __init__(self, lg_size: int = 12) -> None:
        self._sketch = frequent_strings_sketch(lg_size)
        self.add = self._sketch.update  # called per event and field: no Python frame in between

    @property
    def total(self) -> int:
        """The sum of every weight added (exact)."""
        return int(self._sketch.total_weight)

    def top(self, n: int | None = None) -> list[Ranked]:
        """The ``n`` keys with the highest counts (all kept keys if None), highest first, ties by key."""
        if self._sketch.is_empty():
            return []
        items = self._sketch.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES, 0)
        ranked = sorted((Ranked(key, int(estimate), int(low), int(high)) for key, estimate, low, high in items),
                        key=lambda r: (-r.count, r.key))
        return ranked if n is None else ranked[:n]


class DistinctCounter:
    """How many distinct values were seen: exact for small numbers, within about 2 % beyond."""

    add: Callable[[str], None]
    """add(value): note that ``value`` was seen."""

    def __init__(self, lg_k: int = 12) -> None:
        self._sketch = hll_sketch(lg_k)
        self.add = self._sketch.update

    @property
    def estimate(self) -> int:
        return round(float(self._sketch.get_estimate()))


class Timeline:
    """Events per time bucket and series, at most ``max_buckets`` buckets (the width grows as needed)."""

    def __init__(self, max_buckets: int = 400) -> None:
        self._max_buckets = max_buckets
        self._width_index = 0
        self._buckets: dict[int, Counter[str]] = {}

    @property
    def width(self) -> int:
        """Seconds per bucket."""
        return BUCKET_SECONDS[self._width_index]

    def add(self, epoch_seconds: float, series: str) -> None:
        start = int(epoch_seconds // self.width) * self.width
        bucket = self._buckets.get(start)
        if bucket is None:
            bucket = self._buckets[start] = Counter()
            if len(self._buckets) > self._max_buckets:
                self._widen()
                bucket = self._buckets.setdefault(int(epoch_seconds // self.width) * self.width, Counter())
        bucket[series] += 1

    def _widen(self) -> None:
        while len(self._buckets) > self._max_buckets and self._width_index < len(BUCKET_SECONDS) - 1:
            self._width_index += 1
            merged: dict[int, Counter[str]] = {}
            for start, counts in self._buckets.items():
                merged.setdefault(start // self.width * self.width, Counter()).update(counts)
            self._buckets = merged

    def series(self, max_bars: int | None = None) -> tuple[int, dict[str, list[tuple[int, int]]]]:
        """(seconds per bucket, per series its (bucket start in epoch seconds, events) in time order).

        With ``max_bars`` the buckets are widened until the time from the first to the last bucket spans at
        most that many, so the chart is readable whatever the time range. Empty buckets are left out.
        """
        index = self._width_index
        if max_bars and self._buckets:
            first, last = min(self._buckets), max(self._buckets)
            while index < len(BUCKET_SECONDS) - 1 and \
                    last // BUCKET_SECONDS[index] - first // BUCKET_SECONDS[index] >= max_bars:
                index += 1
        width = BUCKET_SECONDS[index]
        merged: dict[int, Counter[str]] = {}
        for start, counts in self._buckets.items():
            merged.setdefault(start // width * width, Counter()).update(counts)
        result: dict[str, list[tuple[int, int]]] = {}
        for start in sorted(merged):
            for name, count in merged[start].items():
                result.setdefault(name, []).append((start, count))
        return width, result
