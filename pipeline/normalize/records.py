"""Turning one input line into a flat record (nested objects and dotted keys alike)."""

from __future__ import annotations

import json
from typing import Any

from pipeline.events import Rejected

__all__ = ["parse_record", "flatten"]


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
