"""Golden tests: for each source type, synthetic BOTES lines and the exact ECS events they must become.

``tests/golden/<source_type>/input.jsonl`` holds the lines; ``expected.json`` a list with one event per
line, written and reviewed by hand field by field (``event.original``, always the input line itself, is
left out of the expected events and checked separately).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.events import Rejected
from pipeline.normalize import Normalizer
from pipeline.normalize.ecs import ecs_schema
from pipeline.normalize.maps import map_names

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.jsonl").is_file())


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def _cases(source_type: str) -> list[tuple[str, dict[str, Any]]]:
    folder = GOLDEN / source_type
    lines = [line for line in (folder / "input.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert len(lines) == len(expected), f"{source_type}: {len(lines)} input lines, {len(expected)} expected events"
    return list(zip(lines, expected, strict=True))


def _normalized(normalizer: Normalizer, line: str, source_type: str) -> dict[str, Any]:
    event = normalizer.normalize_line(line, source_type)
    assert not isinstance(event, Rejected), event.reason
    return event


def leaf_paths(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths of every value, descending into objects and into arrays of objects."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaf_paths(child, f"{prefix}{key}.")
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for item in value:
            yield from leaf_paths(item, prefix)
    else:
        yield prefix.rstrip("."), value


def test_every_map_has_golden_cases() -> None:
    assert set(CASES) == set(map_names())


def _related_unordered(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with each related.* array sorted: their order is not part of the contract (see the
    golden README), but every value, and how often it occurs, is."""
    related = event.get("related")
    if not isinstance(related, dict):
        return event
    return {**event, "related": {kind: sorted(values) for kind, values in related.items()}}


@pytest.mark.parametrize("source_type", CASES)
def test_golden_events(normalizer: Normalizer, source_type: str) -> None:
    for number, (line, expected) in enumerate(_cases(source_type), start=1):
        event = _normalized(normalizer, line, source_type)
        assert event["event"].pop("original") == line
        assert _related_unordered(event) == _related_unordered(expected), f"{source_type} line {number}"


def test_related_values_are_compared_without_order_but_with_their_count() -> None:
    event = {"related": {"ip": ["10.0.0.1", "10.0.0.2"]}}
    assert _related_unordered(event) == _related_unordered({"related": {"ip": ["10.0.0.2", "10.0.0.1"]}})
    assert _related_unordered(event) != _related_unordered({"related": {"ip": ["10.0.0.1"]}})
    assert _related_unordered(event) != _related_unordered({"related": {"ip": ["10.0.0.1", "10.0.0.2", "10.0.0.1"]}})


@pytest.mark.parametrize("source_type", CASES)
def test_every_field_is_ecs_or_under_the_custom_namespace(normalizer: Normalizer, source_type: str) -> None:
    schema = ecs_schema()
    for line, _ in _cases(source_type):
        stray = [path for path, _ in leaf_paths(_normalized(normalizer, line, source_type))
                 if not schema.is_allowed(path)]
        assert not stray, f"{source_type}: not ECS {schema.version} and not under botes.*: {stray}"


@pytest.mark.parametrize("source_type", CASES)
def test_categorisation_uses_ecs_allowed_values(normalizer: Normalizer, source_type: str) -> None:
    schema = ecs_schema()
    for line, _ in _cases(source_type):
        event = _normalized(normalizer, line, source_type)
        for field in ("kind", "category", "type", "outcome"):
            values = event["event"].get(field)
            for value in values if isinstance(values, list) else [values] if values else []:
                assert value in schema.allowed_values[f"event.{field}"], f"{source_type}: event.{field}={value}"
