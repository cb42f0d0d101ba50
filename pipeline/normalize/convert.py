"""Converting raw values to the ECS type the field table names. Errors are returned, never raised."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any

from pipeline.addresses import parse_ip

__all__ = ["ConversionError", "convert", "converter", "parse_timestamp"]


class ConversionError(ValueError):
    pass


def _to_long(value: Any) -> int:
    if isinstance(value, bool):
        raise ConversionError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ConversionError(f"{value!r} is not an integer")


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConversionError(f"{value!r} is not a number") from None


def _to_ip(value: Any) -> str:
    if isinstance(value, str):
        canonical = _canonical_ip(value)
        if canonical is not None:
            return canonical
    raise ConversionError(f"{value!r} is not an IP address")


@lru_cache(maxsize=16384)  # a few addresses make most events: parse each once
def _canonical_ip(text: str) -> str | None:
    address = parse_ip(text)
    return None if address is None else str(address)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConversionError(f"{value!r} is not a boolean")


def _to_keyword(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "long": _to_long, "integer": _to_long, "float": _to_float, "double": _to_float,
    "ip": _to_ip, "boolean": _to_bool, "keyword": _to_keyword, "text": _to_keyword,
}


def convert(value: Any, ecs_type: str, tz: tzinfo = UTC) -> Any:
    """``value`` as ``ecs_type``; lists convert element-wise. Raises ConversionError."""
    return converter(ecs_type, tz)(value)


def converter(ecs_type: str, tz: tzinfo = UTC) -> Callable[[Any], Any]:
    """``convert`` with the type and time zone bound: what the normaliser's field plans call per value."""
    one: Callable[[Any], Any]
    if ecs_type == "date":
        def one(value: Any) -> Any:
            return parse_timestamp(value, tz)
    elif ecs_type in ("keyword", "text") or ecs_type not in _CONVERTERS:
        one = _keyword_fast
    else:
        one = _CONVERTERS[ecs_type]

    def convert_value(value: Any) -> Any:
        if isinstance(value, list):
            return [one(v) if not isinstance(v, list) else convert_value(v) for v in value]
        return one(value)
    return convert_value


def _keyword_fast(value: Any) -> Any:
    return value if type(value) is str else _to_keyword(value)


def _from_epoch(value: float) -> datetime:
    try:
        seconds = float(value)
    except OverflowError:
        raise ConversionError(f"{value!r} is not a timestamp") from None
    if not math.isfinite(seconds):
        raise ConversionError(f"{value!r} is not a timestamp")
    while abs(seconds) > 1e11:  # milliseconds, microseconds or nanoseconds since the epoch
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        raise ConversionError(f"{value!r} is out of the range of dates") from None


def parse_timestamp(value: Any, tz: tzinfo = UTC) -> str:
    """An ISO-8601 UTC timestamp from ISO text, or epoch seconds/ms/ns; naive times are in ``tz``."""
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = _from_epoch(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConversionError(f"{value!r} is not a timestamp") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
    else:
        raise ConversionError(f"{value!r} is not a timestamp")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
