"""pipeline.scot.dagruns: runs and errors shaped as Airflow 2.11's stable REST API shapes them."""

from __future__ import annotations

import json
from datetime import datetime

from pipeline.scot.dagruns import DagRunStore, problem

# The properties of Airflow 2.11's DAGRun schema (api_connexion/openapi/v1.yaml, components.schemas.DAGRun)
# plus execution_date, which its DAGRunSchema dumps beside logical_date. scripts/test_airflow.sh compares a
# run of `botes scot serve` with a run of the real Airflow webserver for the same request.
AIRFLOW_DAGRUN_FIELDS = {"dag_run_id", "dag_id", "logical_date", "execution_date", "start_date", "end_date",
                         "data_interval_start", "data_interval_end", "last_scheduling_decision", "run_type",
                         "state", "external_trigger", "conf", "note"}


def test_a_new_run_is_queued_manual_and_echoes_its_conf() -> None:
    run = DagRunStore(10).new("scot4_entity_ipaddr_enrichment", {"entity_id": 1})
    assert run is not None
    shown = run.as_airflow()
    assert set(shown) == AIRFLOW_DAGRUN_FIELDS
    assert shown["state"] == "queued" and shown["run_type"] == "manual" and shown["external_trigger"] is True
    assert shown["conf"] == {"entity_id": 1}
    assert shown["dag_run_id"] == f"manual__{shown['logical_date']}"  # Airflow's DagRun.generate_run_id
    assert datetime.fromisoformat(shown["logical_date"]).utcoffset() is not None
    assert shown["start_date"] is None and shown["end_date"] is None


def test_states_through_a_run() -> None:
    run = DagRunStore(10).new("d", {})
    assert run is not None
    run.start()
    assert run.as_airflow()["state"] == "running" and run.as_airflow()["start_date"] is not None
    run.finish(2, [])
    assert run.as_airflow()["state"] == "success" and run.as_airflow()["end_date"] is not None
    other = DagRunStore(10).new("d", {})
    assert other is not None
    other.start()
    other.finish(1, ["shodan: SCOT answered HTTP 422"])
    assert other.as_airflow()["state"] == "failed"


def test_runs_triggered_at_once_get_distinct_ids() -> None:
    store = DagRunStore(10_000)
    ids = [run.run_id for run in (store.new("d", {}) for _ in range(2_000)) if run is not None]
    assert len(set(ids)) == 2_000


def test_a_taken_run_id_is_refused() -> None:
    store = DagRunStore(10)
    assert store.new("d", {}, run_id="scot-1") is not None
    assert store.new("d", {}, run_id="scot-1") is None
    assert store.new("other", {}, run_id="scot-1") is not None  # unique per DAG, as in Airflow


def test_only_finished_runs_are_forgotten() -> None:
    store = DagRunStore(2)
    first, second = store.new("d", {}, "a"), store.new("d", {}, "b")
    assert first is not None and second is not None
    first.finish(1, [])
    store.new("d", {}, "c")
    assert store.get("d", "a") is None
    assert store.get("d", "b") is second   # still running: kept although the store is over its size
    assert store.get("d", "c") is not None


def test_problem_json() -> None:
    response = problem(404, "DAG not found", "DAG with dag_id: 'x' not found")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert response.text is not None
    assert json.loads(response.text) == {
        "detail": "DAG with dag_id: 'x' not found", "status": 404, "title": "DAG not found",
        "type": "https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/NotFound"}
    assert json.loads(problem(413, "Request Entity Too Large").text or "")["type"] == "about:blank"
