"""Load: SCOT flairs a burst of entities. 500 enrichment requests for 100 distinct addresses, sent as SCOT4
sends them from 20 threads at once, cost at most one call per address to each paid API (the loopback providers
count them), and every one of the 500 x 4 tabs (GeoIP, threat lists, Shodan, Onyphe) reaches SCOT.

The paid APIs' rate limits are raised for the test (the defaults, Shodan's 1 request/s, would make 100 new
addresses take 100 s: the point here is calls per value, not the providers' quotas).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import DATA, isolated
from tests.fakes.provider import ProviderServer, Reply
from tests.fakes.scot_api import ScotApi
from tests.fakes.scot_client import ScotServe, trigger

pytestmark = pytest.mark.integration

USER, PASSWORD, KEY = "scot4-enrichment", "pw-load", "scot-key-load"
ADDRESSES = [f"81.2.{69 + i // 50}.{100 + i % 50}" for i in range(100)]  # public; a few in MaxMind's test data
REQUESTS_PER_ADDRESS = 5
SOURCES = {"GeoIP/ASN", "Threat lists", "Shodan host", "Onyphe"}


def test_500_requests_for_100_entities(services: object, tmp_path: Path) -> None:
    scot = ScotApi(KEY).start()
    shodan = ProviderServer(Reply.file(DATA / "providers" / "shodan" / "1.1.1.1_shodan.json")).start()
    onyphe = ProviderServer(Reply.file(DATA / "providers" / "onyphe" / "summary_ip_1.1.1.1.json")).start()
    listed = tmp_path / "ips.txt"
    listed.write_text("# SYNTHETIC test list\n81.2.69.0/24\n")
    env = {**isolated(f"load{uuid.uuid4().hex[:8]}"),
           "BOTES_SCOT__USERNAME": USER, "BOTES_SCOT__PASSWORD": PASSWORD,
           "BOTES_SCOT__API_KEYS": json.dumps({scot.host: KEY}),
           "BOTES_SCOT__SOURCES": json.dumps({"ipaddr": ["geoip", "threatlists", "shodan", "onyphe"]}),
           "BOTES_SHODAN__URL": shodan.url, "BOTES_SHODAN__API_KEY": "shodan-load",
           "BOTES_ONYPHE__URL": onyphe.url, "BOTES_ONYPHE__API_KEY": "onyphe-load",
           "BOTES_THREATLISTS__LISTS": json.dumps([{"path": str(listed), "kind": "ip", "name": "test-ips"}])}
    for source in ("SHODAN", "ONYPHE"):
        env |= {f"BOTES_{source}__RATE": "1000", f"BOTES_{source}__BURST": "100", f"BOTES_{source}__TIMEOUT": "30"}
    service = ScotServe(env, tmp_path / "serve.log")
    try:
        entities = [(ADDRESSES.index(a) + 1, a) for a in ADDRESSES for _ in range(REQUESTS_PER_ADDRESS)]
        random.Random(14).shuffle(entities)
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=20))
        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda e: trigger(service.url, e[0], "ipaddr", e[1], scot.base_url,
                                                      (USER, PASSWORD), session=session), entities))
        sent = time.monotonic() - started
        assert [a.status_code for a in answers] == [200] * len(entities)
        expected = len(entities) * len(SOURCES)
        accepted = scot.wait_for_accepted(expected, timeout=600)
        done = time.monotonic() - started
        service.wait_until_idle()
    finally:
        service.stop()
        for server in (scot, shodan, onyphe):
            server.stop()

    assert len(accepted) == expected == 2000 and scot.refused() == []
    per_entity = Counter((p.entity_id, p.body["title"]) for p in accepted)
    assert set(per_entity.values()) == {REQUESTS_PER_ADDRESS}  # each request's each tab, once
    assert {title for _, title in per_entity} == SOURCES
    for provider, path in ((shodan, "/shodan/host/"), (onyphe, "/summary/ip/")):
        calls = Counter(call.path.removeprefix(path) for call in provider.calls())
        assert calls == Counter(ADDRESSES)  # exactly one call per address
    assert "not delivered to" not in service.log.read_text()  # the warning of a tab SCOT never got
    print(f"\n500 requests sent in {sent:.1f} s; all {expected} tabs at SCOT {done:.1f} s after the first; "
          f"calls: shodan {len(shodan.calls())}, onyphe {len(onyphe.calls())}")
