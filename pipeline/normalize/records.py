"""Turning one input line into a flat record, and building nested ECS documents from dotted paths."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pipeline.events import Event, Rejected

__all__ = ["parse_record", "flatten", "set_path", "get_path", "iter_leaves"]


def parse_record(line: str | bytes) -> dict[str, Any] | Rejected:
    """The JSON object on ``line``, or why it is not one."""
    if isinstance(line, bytes):
        raw = line
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejected(f"not UTF-8: {exc.reason} at byte {exc.start}", raw.decode("utf-8", "replace"))
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return Rejected(f"not JSON: {exc.msg} at column {exc.colno}", line)
    if not isinstance(record, dict):
        return Rejected(f"not a JSON object but a {type(record).__name__}", line)
    return record


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted keys, so ``{"alert": {"id": 1}}`` and ``{"alert.id": 1}`` are the same."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def set_path(event: Event, path: str, value: Any) -> None:
    """``set_path(e, "source.geo.city_name", v)`` creates the nested objects it needs."""
    *parents, leaf = path.split(".")
    node = event
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


def get_path(event: Event, path: str) -> Any:
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def iter_leaves(event: Event, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every non-object value in a nested document."""
    for key, value in event.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from iter_leaves(value, f"{path}.")
        else:
            yield path, value
