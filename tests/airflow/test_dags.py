"""The SCOT DAGs (scot/dags/) under a real Airflow 2.11: parsed by Airflow's DagBag, run with ``dag.test()``
against the loopback SCOT API and providers and a real Redis, and Airflow's own REST API compared with
`botes scot serve` for the requests SCOT4 sends.

Run by `bash scripts/test_airflow.sh` in Airflow's own virtualenv; the main suite does not collect it.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow.exceptions import ParamValidationError
from airflow.models.dag import DAG
from airflow.models.dagbag import DagBag
from airflow.utils.state import DagRunState, TaskInstanceState

from tests.fakes.scot_api import ScotApi
from tests.fakes.scot_client import ScotServe, trigger
from tests.fakes.scot_world import AUTH, ENTITIES, GITHUB, PASSWORD, SCANNER, SECRETS, USER, World

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "scot" / "dags"
TYPES = ("ipaddr", "ipv6", "domain", "md5", "sha1", "sha256")


def dag_bag() -> DagBag:
    bag = DagBag(dag_folder=str(DAGS), include_examples=False)
    assert bag.import_errors == {}
    return bag


def conf(entity_id: int, entity_type: str, value: str, scot: ScotApi) -> dict[str, Any]:
    """What SCOT4 puts in a run's conf (send_flair_enrichment_request, sandialabs/scot4-api @ a061ff80)."""
    return {"entity_id": entity_id, "entity_type": entity_type, "entity_value": value, "callback_url": scot.base_url}


def tabs_of(scot: ScotApi, entity_id: int) -> dict[str, dict[str, Any]]:
    posts = scot.accepted(entity_id)
    assert all(n == 1 for n in Counter(p.body["title"] for p in posts).values())
    return {p.body["title"]: p.body for p in posts}


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


class TestParsing:
    def test_one_dag_per_type_one_task_per_enabled_source(self, world: World) -> None:
        bag = dag_bag()
        assert set(bag.dag_ids) == {f"scot4_entity_{t}_enrichment" for t in TYPES}
        ipaddr = bag.get_dag("scot4_entity_ipaddr_enrichment")
        assert ipaddr is not None
        assert ipaddr.task_ids == ["assets", "rdns", "geoip", "threatlists", "shodan", "onyphe"]
        assert set(ipaddr.params.keys()) == {"entity_id", "entity_type", "entity_value", "callback_url"}
        assert ipaddr.schedule_interval is None  # triggered by SCOT only
        md5 = bag.get_dag("scot4_entity_md5_enrichment")
        assert md5 is not None and md5.task_ids == ["threatlists", "virustotal"]

    def test_a_source_without_its_key_has_no_task(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("BOTES_SHODAN__API_KEY")
        monkeypatch.delenv("BOTES_VIRUSTOTAL__API_KEY")
        monkeypatch.setenv("BOTES_THREATLISTS__LISTS", "[]")
        bag = dag_bag()
        ipaddr = bag.get_dag("scot4_entity_ipaddr_enrichment")
        assert ipaddr is not None and "shodan" not in ipaddr.task_ids
        assert "scot4_entity_md5_enrichment" not in bag.dag_ids       # no source left for hashes
        assert "scot4_entity_domain_enrichment" not in bag.dag_ids

    def test_dag_ids_follow_the_setting(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_SCOT__AIRFLOW_DAG_ID", "scot_entity_{entity_type}_enrichment")  # SCOT's docs
        assert "scot_entity_ipaddr_enrichment" in dag_bag().dag_ids


def run_dag(entity_id: int, entity_type: str, value: str, world: World, retries: int | None = None) -> Any:
    dag = dag_bag().get_dag(f"scot4_entity_{entity_type}_enrichment")
    assert isinstance(dag, DAG)
    if retries is not None:  # dag.test() waits out each retry_delay (a minute) in real time
        for task in dag.tasks:
            task.retries = retries
    return dag.test(run_conf=conf(entity_id, entity_type, value, world.scot))


class TestRuns:
    def test_each_task_posts_its_sources_tab(self, world: World, caplog: pytest.LogCaptureFixture) -> None:
        for entity_id, entity_type, value, titles in ENTITIES:
            run = run_dag(entity_id, entity_type, value, world)
            assert run.state == DagRunState.SUCCESS, (entity_id, states(run))
            assert set(tabs_of(world.scot, entity_id)) == titles, entity_id
        assert world.scot.refused() == []   # SCOT4's schema and the apikey header, every time

        github = tabs_of(world.scot, 1)
        assert github["Onyphe"]["description"] == f"Onyphe could not be looked up for {GITHUB}: http 500"
        assert github["Shodan host"]["enrichment_class"] == "jsontree"
        assert "| roles | Scanner |" in tabs_of(world.scot, 2)["Internal asset"]["data"]["markdown"]
        assert "| malicious | 53/62 engines |" in \
            tabs_of(world.scot, 4)["VirusTotal file report"]["data"]["markdown"]
        assert not [secret for secret in SECRETS if secret in caplog.text]

    def test_a_source_that_does_not_cover_the_value_is_skipped(self, world: World) -> None:
        run = run_dag(2, "ipaddr", SCANNER, world)
        assert states(run) == {"assets": TaskInstanceState.SUCCESS, "rdns": TaskInstanceState.SUCCESS,
                               "geoip": TaskInstanceState.SKIPPED, "threatlists": TaskInstanceState.SUCCESS,
                               "shodan": TaskInstanceState.SKIPPED, "onyphe": TaskInstanceState.SKIPPED}
        assert world.shodan.calls() == [] and world.onyphe.calls() == []

    def test_runs_share_the_redis_cache(self, world: World) -> None:
        for entity_id in (50, 51):
            assert run_dag(entity_id, "ipaddr", GITHUB, world).state == DagRunState.SUCCESS
        assert len(world.shodan.calls()) == 1 and len(world.dns.queries) == 1
        assert tabs_of(world.scot, 50)["Shodan host"] == tabs_of(world.scot, 51)["Shodan host"]

    def test_the_params_refuse_a_bad_value_when_the_run_is_triggered(self, world: World) -> None:
        with pytest.raises(ParamValidationError, match="entity_value"):
            run_dag(60, "ipaddr", "999.1.1.1", world)
        with pytest.raises(ParamValidationError, match="entity_value"):
            run_dag(61, "md5", "xyz", world)
        assert world.scot.posts == []

    def test_a_value_the_params_let_through_fails_the_tasks_before_any_lookup(self, world: World) -> None:
        run = run_dag(62, "domain", "foo.12", world)  # passes the coarse pattern, not the exact check
        assert run.state == DagRunState.FAILED
        assert states(run) == {"threatlists": TaskInstanceState.FAILED}  # at once: a bad conf is not retried
        assert world.scot.posts == [] and world.shodan.calls() == []

    def test_a_tab_scot_never_accepts_fails_its_task(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BOTES_SCOT__CALLBACK_ATTEMPTS", "2")
        world.scot.answer_busy(100)
        run = run_dag(63, "domain", "evil.example", world, retries=0)
        assert states(run) == {"threatlists": TaskInstanceState.FAILED}
        assert run.state == DagRunState.FAILED
        assert [p.status for p in world.scot.posts] == [503, 503]  # both attempts, then the task failed


@pytest.fixture
def airflow_api(world: World) -> Iterator[str]:
    """Airflow's own webserver app (its stable REST API, HTTP Basic auth as SCOT uses it) on loopback, with the
    DAGs in its database and SCOT's account; anonymous callers get no role, so no auth is 401 as the API
    documents (Airflow's default gives them the Public role, which answers 403)."""
    from airflow.www.app import create_app
    from werkzeug.serving import make_server

    dag_bag().sync_to_db()
    app = create_app()
    app.config["AUTH_ROLE_PUBLIC"] = None
    security = app.appbuilder.sm
    if security.find_user(username=USER) is None:
        security.add_user(USER, "SCOT", "Enrichment", "scot@example.com", security.find_role("Admin"), PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def botes_api(world: World, tmp_path: Path) -> Iterator[str]:
    """`botes scot serve`, run by the project's virtualenv (Airflow's has botes-pipeline without its CLI)."""
    python = os.environ.get("BOTES_PYTHON", str(REPO / ".venv" / "bin" / "python"))
    service = ScotServe(world.env, tmp_path / "serve.log", python=python)
    try:
        yield service.url
    finally:
        service.stop()


def both(airflow_api: str, botes_api: str, send: Any) -> tuple[requests.Response, requests.Response]:
    return send(airflow_api), send(botes_api)


def test_the_service_answers_scot_as_airflow_does(world: World, airflow_api: str, botes_api: str) -> None:
    base = world.scot.base_url
    ok_airflow, ok_botes = both(airflow_api, botes_api, lambda host: trigger(host, 70, "ipaddr", GITHUB, base, AUTH))
    assert ok_airflow.status_code == ok_botes.status_code == 200, (ok_airflow.text, ok_botes.text)
    run_airflow, run_botes = ok_airflow.json(), ok_botes.json()
    assert set(run_airflow) == set(run_botes)
    for field in ("dag_id", "conf", "state", "run_type", "external_trigger", "note", "end_date",
                  "last_scheduling_decision"):
        assert run_airflow[field] == run_botes[field], field
    assert run_botes["dag_run_id"].startswith("manual__") and run_airflow["dag_run_id"].startswith("manual__")

    got_airflow = requests.get(f"{airflow_api}/api/v1/dags/{run_airflow['dag_id']}/dagRuns/"
                               f"{run_airflow['dag_run_id']}", auth=AUTH, timeout=60)
    got_botes = requests.get(f"{botes_api}/api/v1/dags/{run_botes['dag_id']}/dagRuns/{run_botes['dag_run_id']}",
                             auth=AUTH, timeout=60)
    assert got_airflow.status_code == got_botes.status_code == 200
    assert set(got_airflow.json()) == set(got_botes.json())

    refusals: list[tuple[str, Any, bool]] = [  # (what, request, same detail text)
        ("unknown DAG", lambda host: trigger(host, 71, "email", "a@evil.example", base, AUTH), True),
        ("no auth", lambda host: trigger(host, 72, "ipaddr", GITHUB, base, None), True),
        ("wrong password", lambda host: trigger(host, 73, "ipaddr", GITHUB, base, (USER, "guess")), True),
        ("invalid IP", lambda host: trigger(host, 74, "ipaddr", "999.1.1.1", base, AUTH), False),
        ("invalid hash", lambda host: trigger(host, 75, "sha1", "xyz", base, AUTH), False),
        ("not JSON", lambda host: requests.post(f"{host}/api/v1/dags/scot4_entity_ipaddr_enrichment/dagRuns",
                                                data=b"{oops", auth=AUTH, timeout=60,
                                                headers={"Content-Type": "application/json"}), True),
        ("unknown run", lambda host: requests.get(f"{host}/api/v1/dags/scot4_entity_ipaddr_enrichment/dagRuns/x",
                                                  auth=AUTH, timeout=60), True),
    ]
    for what, send, same_detail in refusals:
        airflow, botes = both(airflow_api, botes_api, send)
        assert airflow.status_code == botes.status_code, (what, airflow.text, botes.text)
        assert airflow.headers["Content-Type"].split(";")[0] == botes.headers["Content-Type"].split(";")[0] == \
            "application/problem+json", what
        problem_airflow, problem_botes = airflow.json(), botes.json()
        for field in ("type", "title", "status", *(("detail",) if same_detail else ())):
            assert problem_airflow[field] == problem_botes[field], (what, field, problem_airflow, problem_botes)
        if airflow.status_code == 401:
            # HTTP requires the challenge on a 401; Airflow 2.11 leaves it out (its last auth backend, the
            # session one, answers without it). The service sends it.
            assert botes.headers["WWW-Authenticate"] == "Basic"
