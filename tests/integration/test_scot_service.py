"""`botes scot serve` played by SCOT4: real HTTP in, real HTTP out, real Redis, real enrichers.

SCOT's side is tests/fakes/scot_client.py (its request, as SCOT4's code sends it) and tests/fakes/scot_api.py
(its enrichment endpoint: the apikey header and SCOT4's enrichment schema). The paid APIs are loopback servers
answering with recorded real responses (tests/data/providers), reverse DNS a loopback DNS server; GeoIP reads
MaxMind's test database and the assets table is the bundled synthetic one. Threat lists are synthetic.
"""

from __future__ import annotations

import json
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, isolated
from tests.fakes.ports import closed_port
from tests.fakes.provider import Reply
from tests.fakes.scot_api import ScotApi
from tests.fakes.scot_client import SCOT_DOCS_ENDPOINT, ScotServe, trigger
from tests.fakes.scot_world import (
    AUTH,
    CLOUDFLARE,
    ENTITIES,
    GITHUB,
    KEY,
    MALICIOUS,
    MALICIOUS_MD5,
    PASSWORD,
    SCANNER,
    SECRETS,
    USER,
    World,
    scot_world,
)

pytestmark = pytest.mark.integration

@pytest.fixture
def world(services: object, tmp_path: Path) -> Iterator[World]:
    with scot_world(tmp_path, isolated(f"scot{uuid.uuid4().hex[:8]}")) as built:
        yield built


@pytest.fixture
def serve(world: World, tmp_path: Path) -> Iterator[ScotServe]:
    service = ScotServe(world.env, tmp_path / "serve.log")
    try:
        yield service
    finally:
        service.stop()


def tabs_of(scot: ScotApi, entity_id: int) -> dict[str, dict[str, Any]]:
    posts = scot.accepted(entity_id)
    titles = Counter(p.body["title"] for p in posts)
    assert all(count == 1 for count in titles.values()), titles
    return {p.body["title"]: p.body for p in posts}


def test_scot_gets_a_tab_from_every_source(world: World, serve: ScotServe) -> None:
    runs = {}
    for entity_id, entity_type, value, _ in ENTITIES:
        answer = trigger(serve.url, entity_id, entity_type, value, world.scot.base_url, AUTH)
        assert answer.status_code == 200, answer.text
        run = answer.json()
        assert run["state"] == "queued" and run["dag_id"] == f"scot4_entity_{entity_type}_enrichment"
        assert run["conf"] == {"entity_id": entity_id, "entity_type": entity_type, "entity_value": value,
                               "callback_url": world.scot.base_url}
        runs[entity_id] = run
    expected = sum(len(tabs) for *_, tabs in ENTITIES)
    world.scot.wait_for_accepted(expected, timeout=120)
    for run in runs.values():
        assert serve.run_state(run["dag_id"], run["dag_run_id"], AUTH)["state"] == "success"

    assert world.scot.refused() == []  # every body passed SCOT4's schema, every post carried the right key
    for entity_id, _, _, titles in ENTITIES:
        assert set(tabs_of(world.scot, entity_id)) == titles, entity_id
    assert all(p.authorization == f"apikey {KEY}" for p in world.scot.posts)

    github = tabs_of(world.scot, 1)
    assert github["Onyphe"]["description"] == f"Onyphe could not be looked up for {GITHUB}: http 500"
    assert "Lookup failed: http 500" in github["Onyphe"]["data"]["markdown"]
    assert github["Shodan host"]["enrichment_class"] == "jsontree"
    assert github["Shodan host"]["data"]["services"]["443/tcp"]["tls_subject_cn"] == "github.com"
    assert "| domain | lb-140-82-121-4-fra.github.com |" in github["Reverse DNS"]["data"]["markdown"]
    assert "| list test-ips | 140.82.121.0/24 |" in github["Threat lists"]["data"]["markdown"]
    assert github["GeoIP/ASN"]["description"] == f"GeoIP/ASN has no record of {GITHUB}"  # not in the test database

    scanner = tabs_of(world.scot, 2)
    assert "| roles | Scanner |" in scanner["Internal asset"]["data"]["markdown"]
    assert "| domain | nessus01.corp.example |" in scanner["Reverse DNS"]["data"]["markdown"]

    cloudflare = tabs_of(world.scot, 3)
    assert "| organisation | CLOUDFLARENET |" in cloudflare["Onyphe"]["data"]["markdown"]
    assert cloudflare["Shodan host"]["data"]["host"]["hostnames"] == ["one.one.one.one"]

    for entity_id in (4, 5):
        report = tabs_of(world.scot, entity_id)["VirusTotal file report"]["data"]["markdown"]
        assert "| malicious | 53/62 engines |" in report and f"| sha256 | {MALICIOUS} |" in report
    assert "| list test-hashes |" in tabs_of(world.scot, 4)["Threat lists"]["data"]["markdown"]
    assert "No record." in tabs_of(world.scot, 6)["VirusTotal file report"]["data"]["markdown"]
    assert "| list test-domains | evil.example |" in tabs_of(world.scot, 7)["Threat lists"]["data"]["markdown"]

    # Internal addresses never reach the paid APIs; each value was asked once.
    assert world.shodan.calls(f"/shodan/host/{SCANNER}") == [] and world.onyphe.calls(f"/summary/ip/{SCANNER}") == []
    assert len(world.shodan.calls()) == 2 and len(world.virustotal.calls()) == 3
    log = serve.log.read_text()
    assert not [secret for secret in SECRETS if secret in log]


def test_scots_documented_dag_names_work_too(world: World, serve: ScotServe) -> None:
    answer = trigger(serve.url, 9, "domain", "evil.example", world.scot.base_url, AUTH, endpoint=SCOT_DOCS_ENDPOINT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["dag_id"] == "scot_entity_domain_enrichment"
    assert [p.body["title"] for p in world.scot.wait_for_accepted(1, timeout=60)] == ["Threat lists"]


def post_raw(url: str, body: bytes, auth: tuple[str, str] | None = AUTH,
             dag_id: str = "scot4_entity_ipaddr_enrichment") -> Any:
    import requests

    return requests.post(f"{url}/api/v1/dags/{dag_id}/dagRuns", data=body, auth=auth,
                         headers={"Content-Type": "application/json"}, timeout=60)


def test_bad_requests_get_airflow_errors_and_nothing_is_posted(world: World, serve: ScotServe) -> None:
    base = world.scot.base_url
    cases: list[tuple[str, Any, int, str]] = [
        ("an invalid IP", trigger(serve.url, 10, "ipaddr", "999.1.1.1", base, AUTH), 400,
         "conf.entity_value: '999.1.1.1' is not an IPv4 address"),
        ("an invalid hash", trigger(serve.url, 11, "md5", MALICIOUS_MD5[:-1], base, AUTH), 400,
         "is not an MD5 hash"),
        ("an unknown entity type", trigger(serve.url, 12, "email", "a@evil.example", base, AUTH), 404,
         "DAG with dag_id: 'scot4_entity_email_enrichment' not found"),
        ("a 1 MB value", trigger(serve.url, 13, "domain", "a" * 1_000_000, base, AUTH), 413,
         "larger than 65536 bytes"),
        ("a value just under the body limit", trigger(serve.url, 14, "domain", "a" * 60_000 + ".example", base, AUTH),
         400, "too long for a domain value"),
        ("no auth", trigger(serve.url, 15, "ipaddr", GITHUB, base, None), 401, ""),
        ("a wrong password", trigger(serve.url, 16, "ipaddr", GITHUB, base, (USER, "guess")), 401, ""),
        ("a wrong user", trigger(serve.url, 17, "ipaddr", GITHUB, base, ("admin", PASSWORD)), 401, ""),
        ("no auth to an unknown DAG", trigger(serve.url, 18, "email", "x", base, None), 401, ""),
        ("a callback to a host without a key", trigger(serve.url, 19, "ipaddr", GITHUB,
                                                       "http://169.254.169.254/api/v1", AUTH), 400,
         "no API key for 169.254.169.254:80"),
        ("a callback that is not http", trigger(serve.url, 20, "ipaddr", GITHUB, "file:///etc/passwd", AUTH),
         400, "conf.callback_url"),
        ("a conf of another type", post_raw(serve.url, json.dumps({"conf": {
            "entity_id": 21, "entity_type": "domain", "entity_value": "evil.example", "callback_url": base}}).encode()),
         400, "is not this DAG's entity type 'ipaddr'"),
        ("no conf", post_raw(serve.url, b"{}"), 400, "conf: Field required"),
        ("no value", post_raw(serve.url, json.dumps({"conf": {
            "entity_id": 22, "entity_type": "ipaddr", "callback_url": base}}).encode()), 400,
         "conf.entity_value: Field required"),
        ("a text entity id", post_raw(serve.url, json.dumps({"conf": {
            "entity_id": "x", "entity_type": "ipaddr", "entity_value": GITHUB, "callback_url": base}}).encode()),
         400, "conf.entity_id: Input should be a valid integer"),
        ("not JSON", post_raw(serve.url, b"entity=1.1.1.1"), 400, "Request body is not valid JSON"),
    ]
    for what, answer, status, detail in cases:
        assert answer.status_code == status, (what, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json"), what
        problem = answer.json()
        assert set(problem) == {"type", "title", "status", "detail"} and problem["status"] == status, what
        assert detail in (problem["detail"] or ""), (what, problem)
        if status == 401:
            assert answer.headers["WWW-Authenticate"] == "Basic" and problem["title"] == "Unauthorized"
            assert problem["type"].endswith("#section/Errors/Unauthenticated")
        if status == 400:
            assert problem["title"] == "Bad Request" and problem["type"].endswith("#section/Errors/BadRequest")
    assert serve.get("/api/v1/dags/scot4_entity_ipaddr_enrichment/dagRuns/nope", AUTH).json()["title"] == \
        "DAGRun not found"

    # Then one good request: once it is done (and nothing is in flight), only its tabs have reached SCOT.
    assert trigger(serve.url, 99, "domain", "evil.example", base, AUTH).status_code == 200
    world.scot.wait_for_accepted(1, timeout=60)
    serve.wait_until_idle()
    assert {p.entity_id for p in world.scot.posts} == {99}
    assert world.shodan.calls() == [] and world.virustotal.calls() == [] and world.dns.queries == []


def test_a_busy_scot_still_gets_every_tab(world: World, serve: ScotServe) -> None:
    world.scot.answer_busy(4)
    run = trigger(serve.url, 30, "ipaddr", CLOUDFLARE, world.scot.base_url, AUTH).json()
    assert serve.run_state(run["dag_id"], run["dag_run_id"], AUTH)["state"] == "success"
    assert set(tabs_of(world.scot, 30)) == {"Reverse DNS", "GeoIP/ASN", "Threat lists", "Shodan host", "Onyphe"}
    assert [p.status for p in world.scot.refused()] == [503] * 4


def test_results_scot_never_gets_fail_the_run(world: World, tmp_path: Path) -> None:
    closed = closed_port()
    env = {**world.env, "BOTES_SCOT__API_KEYS": json.dumps({f"127.0.0.1:{closed}": KEY}),
           "BOTES_SCOT__CALLBACK_ATTEMPTS": "2"}
    service = ScotServe(env, tmp_path / "down.log")
    try:
        run = trigger(service.url, 31, "domain", "evil.example", f"http://127.0.0.1:{closed}/api/v1", AUTH).json()
        assert service.run_state(run["dag_id"], run["dag_run_id"], AUTH)["state"] == "failed"
    finally:
        service.stop()
    assert "not delivered to" in service.log.read_text()


def test_stopping_lets_enrichments_in_flight_finish(world: World, tmp_path: Path) -> None:
    """Shodan holds its answer until the service has been told to stop and says it waits: only then is the
    answer let through, and it must still reach SCOT."""
    answer = threading.Event()
    world.shodan.reply(f"/shodan/host/{CLOUDFLARE}", Reply(200, (DATA / "providers" / "shodan" /
                                                              "1.1.1.1_shodan.json").read_bytes(), gate=answer))
    service = ScotServe({**world.env, "BOTES_SHODAN__TIMEOUT": "120"}, tmp_path / "stop.log")
    try:
        trigger(service.url, 32, "ipaddr", CLOUDFLARE, world.scot.base_url, AUTH)
        world.shodan.wait_for_call(f"/shodan/host/{CLOUDFLARE}", timeout=60)
        service.process.send_signal(signal.SIGTERM)
        service.wait_for_log(r"waiting up to 30 s for 1 enrichment\(s\) in flight")
        answer.set()
        code = service.process.wait(60)  # a second SIGTERM now would not be handled: the service is draining
    finally:
        answer.set()
        service.stop()
    assert code == 0
    tabs = tabs_of(world.scot, 32)
    assert set(tabs) == {"Reverse DNS", "GeoIP/ASN", "Threat lists", "Shodan host", "Onyphe"}
    assert tabs["Shodan host"]["enrichment_class"] == "jsontree"  # the held answer, not a failure


@pytest.mark.parametrize(("unset", "named"), [
    ("BOTES_SCOT__PASSWORD", "BOTES_SCOT__PASSWORD"),
    ("BOTES_SCOT__USERNAME", "BOTES_SCOT__USERNAME"),
    ("BOTES_SCOT__API_KEYS", "scot.api_keys"),
])
def test_refuses_to_start_without_an_account_or_keys(world: World, unset: str, named: str) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in {**os.environ, **world.env}.items() if k != unset}
    result = subprocess.run([sys.executable, "-m", "pipeline", "scot", "serve", "--listen", "127.0.0.1:0"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert named in result.stderr
    assert PASSWORD not in result.stderr and KEY not in result.stderr


def test_without_redis_local_sources_go_on_and_paid_ones_say_why(world: World, serve: ScotServe,
                                                                services: Any) -> None:
    services.stop_redis()
    try:
        run = trigger(serve.url, 40, "ipaddr", CLOUDFLARE, world.scot.base_url, AUTH).json()
        assert serve.run_state(run["dag_id"], run["dag_run_id"], AUTH)["state"] == "success"
    finally:
        services.start_redis()  # idempotent: other tests need it
    tabs = tabs_of(world.scot, 40)
    assert "| domain | one.one.one.one |" in tabs["Reverse DNS"]["data"]["markdown"]  # local sources answer
    for paid in ("Shodan host", "Onyphe"):
        assert tabs[paid]["description"] == f"{paid} could not be looked up for {CLOUDFLARE}: redis unavailable"
    assert world.shodan.calls() == [] and world.onyphe.calls() == []  # the shared quota cannot be kept: no calls

    # Redis is back: the failure was not cached, the paid APIs answer again.
    run = trigger(serve.url, 41, "ipaddr", CLOUDFLARE, world.scot.base_url, AUTH).json()
    assert serve.run_state(run["dag_id"], run["dag_run_id"], AUTH)["state"] == "success"
    assert tabs_of(world.scot, 41)["Shodan host"]["enrichment_class"] == "jsontree"


def test_a_run_id_in_use_is_a_conflict(world: World, serve: ScotServe) -> None:
    body = json.dumps({"conf": {"entity_id": 42, "entity_type": "domain", "entity_value": "evil.example",
                                "callback_url": world.scot.base_url}, "dag_run_id": "scot-42"}).encode()
    first = post_raw(serve.url, body, dag_id="scot4_entity_domain_enrichment")
    assert first.status_code == 200 and first.json()["dag_run_id"] == "scot-42"
    again = post_raw(serve.url, body, dag_id="scot4_entity_domain_enrichment")
    assert again.status_code == 409
    assert again.json()["detail"] == ("DAGRun with DAG ID: 'scot4_entity_domain_enrichment' and DAGRun ID: "
                                      "'scot-42' already exists")
    serve.wait_until_idle()
    assert len(world.scot.accepted(42)) == 1  # the refused one posted nothing
