"""pipeline.normalize.convert: raw values -> the ECS type the field table names; errors are ConversionError."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline.normalize.convert import ConversionError, convert, parse_timestamp

# 2016-08-10T21:39:41Z as epoch seconds, computed from the calendar date rather than copied from output.
EPOCH = int(datetime(2016, 8, 10, 21, 39, 41, tzinfo=UTC).timestamp())


class TestLong:
    @pytest.mark.parametrize(("value", "expected"), [
        ("53", 53), (" 46611 ", 46611), (53, 53), (53.0, 53), ("-1", -1), ("0", 0),
        ("1470864581372589000", 1470864581372589000),
    ])
    def test_valid(self, value: Any, expected: int) -> None:
        result = convert(value, "long")
        assert result == expected
        assert type(result) is int

    @pytest.mark.parametrize("value", ["", "abc", "5.5", 5.5, True, False, None, "0x10", float("inf")])
    def test_invalid(self, value: Any) -> None:
        with pytest.raises(ConversionError):
            convert(value, "long")

    def test_integer_type_is_an_alias(self) -> None:
        assert convert("7", "integer") == 7


class TestFloat:
    @pytest.mark.parametrize(("value", "expected"), [("1.5", 1.5), (2, 2.0), ("-0.0931", -0.0931)])
    def test_valid(self, value: Any, expected: float) -> None:
        assert convert(value, "float") == expected
        assert convert(value, "double") == expected

    @pytest.mark.parametrize("value", ["abc", None, {}])
    def test_invalid(self, value: Any) -> None:
        with pytest.raises(ConversionError):
            convert(value, "float")


class TestIp:
    @pytest.mark.parametrize(("value", "expected"), [
        ("81.2.69.160", "81.2.69.160"),
        (" 10.0.0.1 ", "10.0.0.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),       # canonical (compressed, lower-case) text
        ("::ffff:81.2.69.160", "81.2.69.160"),    # IPv4-mapped is unwrapped
    ])
    def test_valid(self, value: str, expected: str) -> None:
        assert convert(value, "ip") == expected

    @pytest.mark.parametrize("value", ["garbage", "999.1.1.1", "10.0.0.0/8", 167772161, None])
    def test_invalid(self, value: Any) -> None:
        with pytest.raises(ConversionError, match="not an IP address"):
            convert(value, "ip")


class TestBool:
    @pytest.mark.parametrize("value", [True, "true", "TRUE", " yes ", "1", 1])
    def test_true(self, value: Any) -> None:
        assert convert(value, "boolean") is True

    @pytest.mark.parametrize("value", [False, "false", "False", "no", "0", 0])
    def test_false(self, value: Any) -> None:
        assert convert(value, "boolean") is False

    @pytest.mark.parametrize("value", ["maybe", "", 2, None])
    def test_invalid(self, value: Any) -> None:
        with pytest.raises(ConversionError):
            convert(value, "boolean")


class TestKeyword:
    @pytest.mark.parametrize(("value", "expected"), [("DNS", "DNS"), (600000000, "600000000"),
                                                     (2012887, "2012887")])
    def test_scalars_become_strings(self, value: Any, expected: str) -> None:
        assert convert(value, "keyword") == expected
        assert convert(value, "text") == expected

    def test_objects_are_kept(self) -> None:
        assert convert({"a": 1}, "keyword") == {"a": 1}

    def test_unknown_type_is_treated_as_keyword(self) -> None:
        assert convert(5, "flattened") == "5"


class TestLists:
    def test_elementwise(self) -> None:
        assert convert(["53", "80"], "long") == [53, 80]
        assert convert(["::ffff:10.0.0.1", "10.0.0.2"], "ip") == ["10.0.0.1", "10.0.0.2"]

    def test_one_bad_element_fails_the_value(self) -> None:
        with pytest.raises(ConversionError):
            convert(["10.0.0.1", "nope"], "ip")


class TestDate:
    def test_iso_with_offset_is_converted_to_utc(self) -> None:
        assert convert("2016-08-10T11:22:33-0700", "date") == "2016-08-10T18:22:33.000Z"
        assert convert("2016-08-10T23:22:33+02:00", "date") == "2016-08-10T21:22:33.000Z"

    def test_suricata_timestamp_keeps_milliseconds_truncated(self) -> None:
        assert convert("2016-08-10T21:39:41.372589+0000", "date") == "2016-08-10T21:39:41.372Z"

    def test_z_suffix(self) -> None:
        assert parse_timestamp("2016-08-10T21:39:41Z") == "2016-08-10T21:39:41.000Z"

    def test_epoch_seconds(self) -> None:
        assert parse_timestamp(EPOCH) == "2016-08-10T21:39:41.000Z"
        assert parse_timestamp(str(EPOCH)) == "2016-08-10T21:39:41.000Z"
        assert parse_timestamp(EPOCH + 0.5) == "2016-08-10T21:39:41.500Z"

    def test_epoch_milliseconds(self) -> None:
        assert parse_timestamp(EPOCH * 1000 + 372) == "2016-08-10T21:39:41.372Z"
        assert parse_timestamp(str(EPOCH * 1000 + 372)) == "2016-08-10T21:39:41.372Z"

    def test_epoch_nanoseconds(self) -> None:
        # FortiOS 6+ eventtime.
        assert parse_timestamp(EPOCH * 1_000_000_000 + 372_589_000) == "2016-08-10T21:39:41.372Z"

    def test_epoch_zero(self) -> None:
        assert parse_timestamp(0) == "1970-01-01T00:00:00.000Z"

    def test_naive_time_uses_given_zone(self) -> None:
        # Denver is on MDT (UTC-6) in August.
        assert parse_timestamp("2016-08-10 11:22:33", ZoneInfo("America/Denver")) == "2016-08-10T17:22:33.000Z"
        # Winter: MST (UTC-7).
        assert parse_timestamp("2016-01-10 11:22:33", ZoneInfo("America/Denver")) == "2016-01-10T18:22:33.000Z"
        assert convert("2016-08-10T11:22:33", "date", timezone(timedelta(hours=2))) == "2016-08-10T09:22:33.000Z"

    def test_naive_time_defaults_to_utc(self) -> None:
        assert parse_timestamp("2016-08-10T11:22:33") == "2016-08-10T11:22:33.000Z"

    def test_explicit_offset_wins_over_given_zone(self) -> None:
        assert parse_timestamp("2016-08-10T11:22:33+00:00", ZoneInfo("America/Denver")) == \
            "2016-08-10T11:22:33.000Z"

    @pytest.mark.parametrize("value", ["yesterday", "2016-13-01T00:00:00", "", None, True, {"t": 1}])
    def test_invalid(self, value: Any) -> None:
        with pytest.raises(ConversionError):
            parse_timestamp(value)


@pytest.fixture
def hang_guard() -> Iterator[None]:
    """Turn a runaway conversion into TimeoutError after 1 s instead of hanging the suite."""
    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError("conversion did not finish within 1 s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class TestDateOutOfRange:
    """Values JSON can carry that no datetime can hold: ConversionError, per the module's contract."""

    def test_nan(self, hang_guard: None) -> None:
        with pytest.raises(ConversionError):
            parse_timestamp(float("nan"))

    def test_year_out_of_range(self, hang_guard: None) -> None:
        with pytest.raises(ConversionError):
            parse_timestamp(-99_999_999_999)

    def test_huge_integer(self, hang_guard: None) -> None:
        with pytest.raises(ConversionError):
            parse_timestamp(10**400)

    def test_infinity(self, hang_guard: None) -> None:
        with pytest.raises(ConversionError):
            parse_timestamp(float("inf"))
