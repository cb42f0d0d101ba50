"""pipeline.scot.callback: posting tabs to a loopback SCOT API that answers as SCOT4 does (tests/fakes/scot_api.py).

Retries are checked through an injected sleep that records the delays instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.config import ScotSettings
from pipeline.enrich.scot import ScotEnrichment
from pipeline.scot.callback import CallbackPoster, Delivery
from pipeline.scot.entities import Entity
from tests.fakes.ports import closed_port
from tests.fakes.scot_api import ScotApi

KEY = "scot-key-5be9f1"  # must never show in a log line
TAB: ScotEnrichment = {"title": "GeoIP/ASN", "enrichment_class": "markdown", "description": "GeoIP/ASN for 81.2.69.160",
                       "data": {"markdown": "| field | value |\n|---|---|\n| city | London |"}}


@pytest.fixture
def scot() -> Iterator[ScotApi]:
    api = ScotApi(KEY).start()
    try:
        yield api
    finally:
        api.stop()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def poster(keys: dict[str, str], sleeps: Sleeps | None = None, **settings: Any) -> CallbackPoster:
    scot = ScotSettings(api_keys={host: SecretStr(key) for host, key in keys.items()}, callback_backoff=1.0,
                        **settings)
    return CallbackPoster(scot, sleep=sleeps or Sleeps())


def post(sender: CallbackPoster, entity: Entity, tab: ScotEnrichment | dict[str, Any] = TAB) -> Delivery:
    async def go() -> Delivery:
        try:
            return await sender.post(entity, tab)  # type: ignore[arg-type]
        finally:
            await sender.aclose()
    return asyncio.run(go())


def entity_at(base_url: str, entity_id: int = 42) -> Entity:
    return Entity(entity_id, "ipaddr", "81.2.69.160", base_url)


def test_delivered_with_scots_apikey_header(scot: ScotApi) -> None:
    delivery = post(poster({scot.host: KEY}), entity_at(scot.base_url))
    assert delivery == Delivery(True, 1, 200)
    [accepted] = scot.accepted(42)
    assert accepted.authorization == f"apikey {KEY}"
    assert accepted.body == TAB


def test_busy_scot_is_retried_with_growing_backoff(scot: ScotApi) -> None:
    scot.answer_busy(3)
    sleeps = Sleeps()
    delivery = post(poster({scot.host: KEY}, sleeps), entity_at(scot.base_url))
    assert delivery.ok and delivery.attempts == 4
    assert len(scot.accepted(42)) == 1 and [p.status for p in scot.refused()] == [503, 503, 503]
    # 1 s, 2 s, 4 s, each with jitter down to half.
    assert len(sleeps.delays) == 3
    assert 0.5 <= sleeps.delays[0] <= 1 and 1 <= sleeps.delays[1] <= 2 and 2 <= sleeps.delays[2] <= 4


def test_backoff_is_capped(scot: ScotApi) -> None:
    scot.answer_busy(10)
    sleeps = Sleeps()
    delivery = post(poster({scot.host: KEY}, sleeps, callback_attempts=8, callback_backoff_max=3.0),
                    entity_at(scot.base_url))
    assert not delivery.ok and delivery.attempts == 8 and delivery.status == 503
    assert len(sleeps.delays) == 7 and max(sleeps.delays) <= 3.0


def test_a_body_scot_refuses_is_not_retried(scot: ScotApi) -> None:
    bad = {**TAB, "enrichment_class": "html"}
    sleeps = Sleeps()
    delivery = post(poster({scot.host: KEY}, sleeps), entity_at(scot.base_url), bad)
    assert not delivery.ok and delivery.attempts == 1 and delivery.status == 422
    assert delivery.reason.startswith("SCOT answered HTTP 422: ")
    assert sleeps.delays == []


def test_a_wrong_key_is_not_retried_and_never_logged(scot: ScotApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    sender = poster({scot.host: "wrong-key-0a1b"})

    async def twice() -> list[Delivery]:
        try:
            return [await sender.post(entity_at(scot.base_url, n), TAB) for n in (1, 2)]
        finally:
            await sender.aclose()

    deliveries = asyncio.run(twice())
    assert [(d.ok, d.status, d.attempts) for d in deliveries] == [(False, 401, 1), (False, 401, 1)]
    refusals = [r.getMessage() for r in caplog.records if "refused the API key" in r.getMessage()]
    assert len(refusals) == 1 and scot.host in refusals[0]
    assert "wrong-key-0a1b" not in caplog.text


def test_unreachable_scot_is_retried_then_given_up() -> None:
    port = closed_port()
    sleeps = Sleeps()
    delivery = post(poster({f"127.0.0.1:{port}": KEY}, sleeps, callback_attempts=3),
                    entity_at(f"http://127.0.0.1:{port}/api/v1"))
    assert not delivery.ok and delivery.attempts == 3 and delivery.status is None
    assert delivery.reason.startswith("SCOT unreachable")
    assert len(sleeps.delays) == 2


def test_key_by_host_and_port_before_host(scot: ScotApi) -> None:
    host = scot.host.split(":")[0]
    delivery = post(poster({host: "host-wide-key", scot.host: KEY}), entity_at(scot.base_url))
    assert delivery.ok
    assert scot.accepted(42)[0].authorization == f"apikey {KEY}"
    assert poster({host: KEY}).api_key(scot.base_url) is not None      # the host alone also names it
    assert poster({"other.example": KEY}).api_key(scot.base_url) is None


def test_no_key_no_post(scot: ScotApi) -> None:
    delivery = post(poster({"other.example": KEY}), entity_at(scot.base_url))
    assert not delivery.ok and delivery.attempts == 0 and "no API key" in delivery.reason
    assert scot.posts == []
