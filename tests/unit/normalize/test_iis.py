"""pipeline.normalize.iis: IIS W3C extended logs as Splunk exports them (SYNTHETIC records)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.events import Rejected, get_path
from pipeline.normalize import Normalizer
from pipeline.normalize.iis import prepare_iis
from pipeline.normalize.normalizer import ERRORS_FIELD
from pipeline.normalize.sources import resolve_source_type


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def normalized(normalizer: Normalizer, **fields: Any) -> dict[str, Any]:
    record = {"date": "2016-08-10", "time": "21:40:01", **fields}
    event = normalizer.normalize_line(json.dumps(record), "iis")
    assert not isinstance(event, Rejected), event.reason
    return event


class TestPrepare:
    def test_dashes_are_empty_fields(self) -> None:
        assert prepare_iis({"cs_username": "-", "cs_uri_query": "-", "c_ip": "10.0.0.1"}) == {"c_ip": "10.0.0.1"}

    def test_date_and_time_are_joined_in_utc(self) -> None:
        assert prepare_iis({"date": "2016-08-10", "time": "9:05:33"}) == {"time": "2016-08-10T09:05:33+00:00"}

    def test_time_without_date_is_left_alone(self) -> None:
        assert prepare_iis({"time": "21:40:01"}) == {"time": "21:40:01"}

    def test_already_joined_time_is_left_alone(self) -> None:
        flat = {"date": "2016-08-10", "time": "2016-08-10T21:40:01Z"}
        assert prepare_iis(flat) == flat


class TestTime:
    def test_timestamp(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer)
        assert event["@timestamp"] == "2016-08-10T21:40:01.000Z"
        assert get_path(event, ERRORS_FIELD) is None
        assert "botes" not in event  # date was used, not left unmapped

    def test_w3c_times_are_utc_whatever_the_default_timezone(self) -> None:
        line = json.dumps({"date": "2016-08-10", "time": "21:40:01"})
        event = Normalizer(default_timezone="America/Los_Angeles").normalize_line(line, "iis")
        assert isinstance(event, dict)
        assert event["@timestamp"] == "2016-08-10T21:40:01.000Z"

    def test_duration_in_nanoseconds(self, normalizer: Normalizer) -> None:
        assert normalized(normalizer, time_taken="1250")["event"]["duration"] == 1_250_000_000


class TestAddresses:
    def test_client_and_server_are_source_and_destination(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, c_ip="40.80.148.42", s_ip="192.168.250.70", s_port="443")
        assert event["client"] == {"ip": "40.80.148.42"} and event["source"] == {"ip": "40.80.148.42"}
        assert event["server"] == {"ip": "192.168.250.70", "port": 443}
        assert event["destination"] == {"ip": "192.168.250.70", "port": 443}
        assert event["related"]["ip"] == ["40.80.148.42", "192.168.250.70"]

    def test_bad_address_is_an_error_not_a_copy(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, c_ip="not-an-ip")
        assert "client" not in event and "source" not in event
        assert any("c_ip -> client.ip" in e for e in get_path(event, ERRORS_FIELD))


class TestHttp:
    @pytest.mark.parametrize(("status", "outcome"), [("200", "success"), ("304", "success"),
                                                     ("399", "success"), ("400", "failure"), ("503", "failure")])
    def test_outcome(self, normalizer: Normalizer, status: str, outcome: str) -> None:
        event = normalized(normalizer, sc_status=status)
        assert event["http"]["response"]["status_code"] == int(status)
        assert event["event"]["outcome"] == outcome

    def test_no_status_no_outcome(self, normalizer: Normalizer) -> None:
        event = normalized(normalizer, cs_method="GET")
        assert "outcome" not in event["event"]
        assert (event["event"]["kind"], event["event"]["category"], event["event"]["type"]) == \
            ("event", ["web"], ["access"])

    @pytest.mark.parametrize(("raw", "decoded"), [
        ("Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
        ("curl/7.49.1", "curl/7.49.1"),
        ("Agent%2B1.0+(x)", "Agent+1.0 (x)")])
    def test_user_agent(self, normalizer: Normalizer, raw: str, decoded: str) -> None:
        assert normalized(normalizer, cs_User_Agent=raw)["user_agent"]["original"] == decoded

    @pytest.mark.parametrize(("stem", "query", "url"), [
        ("/a/b.ASPX", "x=1", {"path": "/a/b.ASPX", "query": "x=1", "original": "/a/b.ASPX?x=1",
                              "extension": "aspx"}),
        ("/a/archive.tar.gz", "-", {"path": "/a/archive.tar.gz", "original": "/a/archive.tar.gz",
                                    "extension": "gz"}),
        ("/.well-known/.htaccess", "-", {"path": "/.well-known/.htaccess", "original": "/.well-known/.htaccess"}),
        ("/dir/", "-", {"path": "/dir/", "original": "/dir/"})])
    def test_url(self, normalizer: Normalizer, stem: str, query: str, url: dict[str, str]) -> None:
        assert normalized(normalizer, cs_uri_stem=stem, cs_uri_query=query)["url"] == url

    def test_version(self, normalizer: Normalizer) -> None:
        assert normalized(normalizer, cs_version="HTTP/1.1")["http"] == {"version": "1.1"}


class TestUser:
    @pytest.mark.parametrize(("raw", "user"), [
        ("bwayne", {"name": "bwayne"}),
        ("GOTHAM\\bwayne", {"name": "bwayne", "domain": "GOTHAM"}),
        ("bwayne@gotham.local", {"name": "bwayne", "domain": "gotham.local"}),
        ("\\bwayne", {"name": "\\bwayne"})])  # nothing before the separator: kept as logged
    def test_user(self, normalizer: Normalizer, raw: str, user: dict[str, str]) -> None:
        event = normalized(normalizer, cs_username=raw)
        assert event["user"] == user
        assert event["related"]["user"] == [user["name"]]

    def test_anonymous(self, normalizer: Normalizer) -> None:
        assert "user" not in normalized(normalizer, cs_username="-")


def test_source_type() -> None:
    iis = resolve_source_type("IIS")
    assert iis is not None
    assert (iis.name, iis.family, iis.module, iis.observer) == ("iis", "web", "iis", {})
