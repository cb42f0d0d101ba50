"""SCOT4 entity enrichment DAGs for Airflow 2 (tested with 2.11): one DAG per SCOT entity type, one task per
source, each task posting its own tab to SCOT.

SCOT4 triggers ``POST /api/v1/dags/scot4_entity_<type>_enrichment/dagRuns`` with
``{"conf": {"entity_id", "entity_type", "entity_value", "callback_url"}}`` (``send_flair_enrichment_request``
in sandialabs/scot4-api @ a061ff80 ``src/app/utils.py``). The DAG's params check that conf when the run is
triggered, so Airflow itself answers 400 to a value that is not of the DAG's type; each task then looks the
entity up in its source through the project's enrichers and Redis cache (as `botes scot serve` does) and posts
``{title, enrichment_class, description, data}`` to ``{callback_url}/entity/{entity_id}/enrichment`` with
``Authorization: apikey <key>``. A source that cannot answer posts a tab saying why and the task succeeds;
a source that does not look such values up (GeoIP for an internal address) posts nothing and the task is
skipped; a tab SCOT does not accept fails the task (Airflow retries it).

Set up on the scheduler and workers: the ``botes-pipeline`` package importable (see README, "SCOT4 entity
enrichment"), and its settings in the environment (``BOTES_SCOT__API_KEYS``, ``BOTES_REDIS__URL``, the
sources' keys...) or in a file named by ``BOTES_CONFIG``. Which DAGs and tasks exist follows ``scot.sources``
and which sources are enabled when Airflow parses this file.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow import DAG
from airflow.models.param import Param
from airflow.operators.python import PythonOperator

from pipeline.config import Settings, load_settings
from pipeline.scot.enrichment import enabled_sources
from pipeline.scot.trigger import MAX_CALLBACK_URL

# What Airflow checks when a run is triggered (JSON Schema; "ipv4"/"ipv6" are checked by jsonschema's
# FormatChecker, which Airflow's Param uses). Each task checks the value exactly again before any lookup.
_HASH = {"md5": 32, "sha1": 40, "sha256": 64}
_VALUE_SCHEMAS: dict[str, dict[str, Any]] = {
    "ipaddr": {"format": "ipv4", "maxLength": 15},
    "ipv6": {"format": "ipv6", "maxLength": 45},
    "domain": {"minLength": 3, "maxLength": 253, "pattern": r"^[^\s/:@*]+\.[^\s/:@*.]+\.?$"},
    **{name: {"pattern": f"^[0-9a-fA-F]{{{length}}}$"} for name, length in _HASH.items()},
}


def _settings() -> Settings:
    config = os.environ.get("BOTES_CONFIG")
    return load_settings(Path(config) if config else None)


def _enrich(source: str, entity_type: str, **context: Any) -> dict[str, Any]:
    from airflow.exceptions import AirflowFailException, AirflowSkipException

    from pipeline.scot.enrichment import NotCovered
    from pipeline.scot.entities import InvalidEntity
    from pipeline.scot.tasks import enrich_and_post

    try:
        tab = enrich_and_post(_settings(), source, entity_type, dict(context["params"]))  # type: ignore[arg-type]
    except InvalidEntity as exc:  # the conf will not get better: fail without retries
        raise AirflowFailException(str(exc)) from None
    if isinstance(tab, NotCovered):  # e.g. Shodan for an internal address: no tab, the task is skipped
        raise AirflowSkipException(tab.reason)
    return dict(tab)


def _params(entity_type: str) -> dict[str, Param]:
    return {
        "entity_id": Param(type="integer", minimum=0, description="SCOT's id of the entity"),
        "entity_type": Param(entity_type, type="string", enum=[entity_type]),
        "entity_value": Param(type="string", description=f"the {entity_type} to enrich",
                              **_VALUE_SCHEMAS[entity_type]),
        "callback_url": Param(type="string", pattern=r"^https?://[^\s]+$", maxLength=MAX_CALLBACK_URL,
                              description="SCOT's API base (its API_EXTERNAL_BASE), e.g. https://scot/api/v1"),
    }


def _dag(dag_id: str, entity_type: str, sources: list[str]) -> DAG:
    with DAG(
        dag_id,
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        params=_params(entity_type),
        tags=["scot4_enrichment", "botes"],
        default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
        doc_md=f"Enriches a SCOT4 `{entity_type}` entity: one task (and one tab in SCOT) per source: "
               f"{', '.join(sources)}.",
    ) as dag:
        for source in sources:
            PythonOperator(task_id=source, python_callable=_enrich,
                           op_kwargs={"source": source, "entity_type": entity_type})
    return dag


_SETTINGS = _settings()
for _entity_type, _sources in enabled_sources(_SETTINGS).items():
    _dag_id = _SETTINGS.scot.airflow_dag_id.format(entity_type=_entity_type)
    globals()[_dag_id] = _dag(_dag_id, _entity_type, _sources)
