"""pipeline.scot.trigger: SCOT4's trigger body, read and checked as a DAG run request."""

from __future__ import annotations

import json

import pytest

from pipeline.scot.entities import InvalidEntity
from pipeline.scot.trigger import callback_host, entity_of, read_trigger

# The body SCOT4's send_flair_enrichment_request sends (sandialabs/scot4-api @ a061ff80 src/app/utils.py).
SCOT_BODY = {"conf": {"entity_id": 42, "entity_type": "ipaddr", "entity_value": "81.2.69.160",
                      "callback_url": "https://scot.example.com/api/v1"}}


def body(**conf: object) -> bytes:
    return json.dumps({"conf": {**SCOT_BODY["conf"], **conf}}).encode()


class TestRead:
    def test_scots_body(self) -> None:
        request = read_trigger(json.dumps(SCOT_BODY).encode())
        entity = entity_of(request, "ipaddr")
        assert (entity.id, entity.type, entity.value) == (42, "ipaddr", "81.2.69.160")
        assert entity.callback_url == "https://scot.example.com/api/v1"
        assert request.dag_run_id is None

    def test_airflow_fields_are_accepted_and_other_conf_keys_kept(self) -> None:
        raw = {**SCOT_BODY, "dag_run_id": "scot-42", "note": "from SCOT",
               "conf": {**SCOT_BODY["conf"], "extra": 1}}
        request = read_trigger(json.dumps(raw).encode())
        assert request.dag_run_id == "scot-42"
        assert request.conf.model_dump()["extra"] == 1  # echoed back in the run, as Airflow does

    @pytest.mark.parametrize(("raw", "why"), [
        (b"{oops", "Request body is not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "conf: Field required"),
        (json.dumps({"conf": "x"}).encode(), "conf: Input should be"),
        (json.dumps({**SCOT_BODY, "surprise": 1}).encode(), "surprise: Extra inputs are not permitted"),
        (body(entity_id="42"), "conf.entity_id: Input should be a valid integer"),
        (body(entity_id=True), "conf.entity_id: Input should be a valid integer"),
        (body(entity_id=-1), "conf.entity_id: Input should be greater than or equal to 0"),
        (json.dumps({"conf": {"entity_id": 1, "entity_type": "ipaddr", "callback_url": "http://s/api/v1"}}).encode(),
         "conf.entity_value: Field required"),
        (body(entity_value=["81.2.69.160"]), "conf.entity_value: Input should be a valid string"),
    ])
    def test_malformed_bodies(self, raw: bytes, why: str) -> None:
        with pytest.raises(InvalidEntity, match=why):
            read_trigger(raw)

    def test_a_deeply_nested_body_is_refused_not_a_crash(self) -> None:
        with pytest.raises(InvalidEntity, match="not valid JSON"):
            read_trigger(b"[" * 100_000 + b"]" * 100_000)


class TestEntity:
    def test_conf_type_must_be_the_dags(self) -> None:
        with pytest.raises(InvalidEntity, match="conf.entity_type: 'domain' is not this DAG's entity type 'ipaddr'"):
            entity_of(read_trigger(body(entity_type="domain", entity_value="evil.example")), "ipaddr")

    def test_value_must_be_of_the_type(self) -> None:
        with pytest.raises(InvalidEntity, match="conf.entity_value: '999.1.1.1' is not an IPv4 address"):
            entity_of(read_trigger(body(entity_value="999.1.1.1")), "ipaddr")

    @pytest.mark.parametrize("url", [
        "ftp://scot.example.com/api/v1", "scot.example.com/api/v1", "https://user:pw@scot.example.com/api/v1",
        "https://scot.example.com/api/v1?x=1", "https://scot.example.com:99999/api/v1", "http:///api/v1",
    ])
    def test_callback_url_must_be_a_plain_http_url(self, url: str) -> None:
        with pytest.raises(InvalidEntity, match="conf.callback_url"):
            entity_of(read_trigger(body(callback_url=url)), "ipaddr")

    def test_trailing_slash_is_dropped(self) -> None:
        entity = entity_of(read_trigger(body(callback_url="http://scot:8000/api/v1/")), "ipaddr")
        assert entity.callback_url == "http://scot:8000/api/v1"


def test_callback_host_names_with_and_without_port() -> None:
    assert callback_host("https://SCOT.example.com/api/v1") == ("scot.example.com:443", "scot.example.com")
    assert callback_host("http://scot.example.com/api/v1") == ("scot.example.com:80", "scot.example.com")
    assert callback_host("http://127.0.0.1:7778/api/v1") == ("127.0.0.1:7778", "127.0.0.1")
