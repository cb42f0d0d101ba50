"""DAG runs as Airflow 2's stable REST API shows them, and the answers it gives when something is wrong.

The shapes follow Airflow 2.11's ``api_connexion/openapi/v1.yaml`` (``DAGRun``, ``Error``) and what its
endpoints return (``api_connexion/endpoints/dag_run_endpoint.py``, ``schemas/dag_run_schema.py``,
``exceptions.py``): a run is ``{dag_run_id, dag_id, logical_date, execution_date, start_date, end_date,
data_interval_start, data_interval_end, last_scheduling_decision, run_type, state, external_trigger, conf,
note}``, a manual run's id is ``manual__<logical date>``, and an error is RFC 7807 problem JSON
``{type, title, status, detail}``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

__all__ = ["DagRun", "DagRunStore", "problem", "ERROR_TYPES", "FINISHED"]

_DOCS = "https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/"
# Airflow's EXCEPTIONS_LINK_MAP: the problem type of each status its API answers with.
ERROR_TYPES = {400: "BadRequest", 401: "Unauthenticated", 403: "PermissionDenied", 404: "NotFound",
               405: "MethodNotAllowed", 409: "AlreadyExists", 500: "Unknown"}
FINISHED = ("success", "failed")


def problem(status: int, title: str, detail: str | None = None, headers: dict[str, str] | None = None
            ) -> web.Response:
    """An Airflow-shaped error: ``application/problem+json`` with type, title, status and detail."""
    kind = ERROR_TYPES.get(status)
    body = {"detail": detail, "status": status, "title": title,
            "type": _DOCS + kind if kind else "about:blank"}
    return web.Response(status=status, text=json.dumps(body, indent=2), content_type="application/problem+json",
                        headers=headers)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(slots=True)
class DagRun:
    dag_id: str
    run_id: str
    logical_date: datetime
    conf: dict[str, Any]
    note: str | None = None
    state: str = "queued"
    start_date: datetime | None = None
    end_date: datetime | None = None
    delivered: int = 0              # results SCOT accepted
    undelivered: list[str] = field(default_factory=list)  # "<source>: <why>" for results SCOT never got

    def start(self) -> None:
        self.state = "running"
        self.start_date = datetime.now(UTC)

    def finish(self, delivered: int, undelivered: list[str]) -> None:
        self.delivered, self.undelivered = delivered, undelivered
        self.state = "failed" if undelivered else "success"
        self.end_date = datetime.now(UTC)

    def as_airflow(self) -> dict[str, Any]:
        logical = _iso(self.logical_date)
        return {"conf": self.conf, "dag_id": self.dag_id, "dag_run_id": self.run_id,
                "data_interval_end": logical, "data_interval_start": logical, "end_date": _iso(self.end_date),
                "execution_date": logical, "external_trigger": True, "last_scheduling_decision": None,
                "logical_date": logical, "note": self.note, "run_type": "manual",
                "start_date": _iso(self.start_date), "state": self.state}


class DagRunStore:
    """Runs by (dag id, run id); beyond ``max_runs`` the oldest finished ones are forgotten."""

    def __init__(self, max_runs: int) -> None:
        self._runs: OrderedDict[tuple[str, str], DagRun] = OrderedDict()
        self._max_runs = max_runs
        self._last_logical = datetime.min.replace(tzinfo=UTC)

    def get(self, dag_id: str, run_id: str) -> DagRun | None:
        return self._runs.get((dag_id, run_id))

    def new(self, dag_id: str, conf: dict[str, Any], run_id: str | None = None, note: str | None = None
            ) -> DagRun | None:
        """A queued run; None if ``run_id`` is taken for this DAG (Airflow answers 409)."""
        logical = self._next_logical_date()
        run_id = run_id or f"manual__{logical.isoformat()}"
        if (dag_id, run_id) in self._runs:
            return None
        run = DagRun(dag_id, run_id, logical, conf, note)
        self._runs[(dag_id, run_id)] = run
        self._forget_oldest()
        return run

    def _next_logical_date(self) -> datetime:
        # Airflow refuses a second run with the same logical date; two triggers in one microsecond must not clash.
        now = datetime.now(UTC)
        self._last_logical = max(now, self._last_logical + timedelta(microseconds=1))
        return self._last_logical

    def _forget_oldest(self) -> None:
        excess = len(self._runs) - self._max_runs
        if excess <= 0:
            return
        for key in [key for key, run in self._runs.items() if run.state in FINISHED][:excess]:
            del self._runs[key]
