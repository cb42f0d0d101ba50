"""SCOT4 entity enrichment: the Airflow REST API subset SCOT calls (`botes scot serve`) and the task body the
Airflow DAGs in scot/dags/ run, both on the project's enrichers and cache."""

from pipeline.scot.callback import CallbackPoster, Delivery
from pipeline.scot.enrichment import EntityEnricher, NotCovered, enabled_sources
from pipeline.scot.entities import Entity, InvalidEntity
from pipeline.scot.tasks import enrich_and_post

__all__ = ["CallbackPoster", "Delivery", "EntityEnricher", "NotCovered", "enabled_sources", "Entity", "InvalidEntity",
           "enrich_and_post"]
