"""What SCOT4 sends to trigger an enrichment, checked: ``POST /api/v1/dags/{dag_id}/dagRuns`` with
``{"conf": {"entity_id", "entity_type", "entity_value", "callback_url"}}``.

SCOT4 builds this body in ``send_flair_enrichment_request`` (sandialabs/scot4-api @ a061ff80
``src/app/utils.py``): ``entity_id`` is the entity's integer id, ``callback_url`` its ``API_EXTERNAL_BASE``
(``https://<scot>/api/v1``). The other fields of Airflow's DAGRun schema are accepted as Airflow accepts them
(``dag_run_id`` names the run); unknown top-level fields are refused, as Airflow's schema refuses them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import EntityType
from pipeline.scot.entities import Entity, InvalidEntity, entity_value

__all__ = ["TriggerRequest", "read_trigger", "entity_of", "callback_host", "MAX_CALLBACK_URL"]

MAX_CALLBACK_URL = 2048


class _Conf(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)  # other conf keys are kept, as Airflow keeps them

    entity_id: Annotated[int, Field(ge=0)]
    entity_type: str
    entity_value: str
    callback_url: Annotated[str, Field(max_length=MAX_CALLBACK_URL)]


class TriggerRequest(BaseModel):
    """The body of ``POST .../dagRuns``: Airflow 2's DAGRun fields, of which SCOT sends only ``conf``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    conf: _Conf
    dag_run_id: Annotated[str | None, Field(min_length=1, max_length=250, pattern=r"^[A-Za-z0-9_.:+\-~]+$")] = None
    logical_date: str | None = None
    execution_date: str | None = None
    data_interval_start: str | None = None
    data_interval_end: str | None = None
    note: str | None = None


def _problems(error: ValidationError) -> str:
    # Pydantic's messages never quote the input, so a 1 MB value is not echoed back.
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())


def read_trigger(body: bytes) -> TriggerRequest:
    """The trigger request in ``body``; InvalidEntity saying what is wrong with it."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidEntity("Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidEntity("Request body must be a JSON object with a 'conf' object")
    try:
        return TriggerRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidEntity(_problems(exc)) from None


def entity_of(request: TriggerRequest, dag_entity_type: EntityType) -> Entity:
    """The entity the request asks to enrich, for a DAG of ``dag_entity_type``; InvalidEntity if the conf
    names another type, the value is not one of the type, or the callback URL is not an http(s) URL."""
    conf = request.conf
    if conf.entity_type != dag_entity_type:
        raise InvalidEntity(f"conf.entity_type: {conf.entity_type[:64]!r} is not this DAG's entity type "
                            f"{dag_entity_type!r}")
    try:
        value = entity_value(dag_entity_type, conf.entity_value)
    except InvalidEntity as exc:
        raise InvalidEntity(f"conf.entity_value: {exc}") from None
    return Entity(conf.entity_id, dag_entity_type, value, _callback_url(conf.callback_url))


def _callback_url(url: str) -> str:
    problem = f"conf.callback_url: {url[:64]!r} is not an http(s) URL of SCOT's API (e.g. https://scot/api/v1)"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise InvalidEntity(problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password \
            or parts.query or parts.fragment or (port is not None and not 0 < port < 65536):
        raise InvalidEntity(problem)
    return url.rstrip("/")


def callback_host(url: str) -> tuple[str, str]:
    """The names an API key may be configured under for a callback URL: ``host:port`` and ``host``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}", host
