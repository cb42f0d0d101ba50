"""The job's health line and cache hit ratio (pipeline/flink/functions.py), from plain counts."""

from __future__ import annotations

from pipeline.flink.functions import _cache_hit_ratio, health_line

COUNTS = {"events_in": 1200, "documents_indexed": 1150, "documents_duplicate": 20, "dead_lettered": 30,
          "lookup_failures": 5, "waiting": 12}


def test_the_health_line_names_every_count() -> None:
    assert health_line(COUNTS, 0.932, 340) == (
        "health: 1200 events in, 1150 indexed (+20 already there), 30 dead-lettered, 5 lookup failures, "
        "cache hit ratio 93.2%, consumer lag 340, 12 waiting for the index")


def test_what_is_not_known_yet_shows_as_a_dash_not_as_zero() -> None:
    line = health_line(COUNTS, None, None)
    assert "cache hit ratio -," in line and "consumer lag -," in line


def test_the_hit_ratio_counts_hits_of_either_tier_against_lookups_of_the_first() -> None:
    summary = {"cache": {"memory": {"hits": 60, "misses": 40, "errors": 0},
                         "redis": {"hits": 30, "misses": 10, "errors": 0}}}
    assert _cache_hit_ratio(summary) == 0.9  # 60 + 30 of 100 lookups did not reach a source


def test_a_single_tier_and_no_cache_at_all() -> None:
    assert _cache_hit_ratio({"cache": {"memory": {"hits": 3, "misses": 1, "errors": 0}}}) == 0.75
    assert _cache_hit_ratio({"cache": {"memory": {"hits": 0, "misses": 0, "errors": 0}}}) is None
    assert _cache_hit_ratio({"cache": {}}) is None
