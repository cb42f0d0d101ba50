"""Turning one input line into a flat record (nested objects and dotted keys alike)."""

from __future__ import annotations

import json
from typing import Any

from pipeline.events import Rejected

__all__ = ["parse_record", "flatten", "MAX_NESTING"]

# Real log records nest a few levels. A record nested deeper is hostile or broken, and would overflow
# the recursion of the JSON parser or of later steps (flatten, json.dumps in an operator), crashing the
# job on every restart; it is rejected like any other bad line.
MAX_NESTING = 100


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
    except RecursionError:
        return Rejected(f"nested deeper than {MAX_NESTING} levels", line)
    if not isinstance(record, dict):
        return Rejected(f"not a JSON object but a {type(record).__name__}", line)
    # Each level of nesting opens a bracket: a line with few of them cannot nest deeply (the usual case).
    if line.count("{") + line.count("[") > MAX_NESTING and _nested_deeper_than(record, MAX_NESTING):
        return Rejected(f"nested deeper than {MAX_NESTING} levels", line)
    return record


def _nested_deeper_than(record: dict[str, Any], limit: int) -> bool:
    """True if objects and arrays nest more than ``limit`` levels; iterative, so any depth is safe."""
    stack: list[tuple[Any, int]] = [(record, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted keys, so ``{"alert": {"id": 1}}`` and ``{"alert.id": 1}`` are the same."""
    if not prefix and dict not in map(type, record.values()):
        return dict(record)  # already flat, as most records are
    flat: dict[str, Any] = {}
    _flatten_into(flat, record, prefix)
    return flat


def _flatten_into(flat: dict[str, Any], record: dict[str, Any], prefix: str) -> None:
    for key, value in record.items():
        if isinstance(value, dict) and value:
            _flatten_into(flat, value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}" if prefix else key] = value
