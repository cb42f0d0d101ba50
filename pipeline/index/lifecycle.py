"""The ILM policy of the data streams (``index.server: elasticsearch``): roll over, then delete.

Rollover at ``index.rollover_max_age`` or ``index.rollover_max_primary_shard_size``, whichever comes first;
then delete each backing index ``index.retention`` after its rollover (no delete phase when retention is
null). ILM counts a phase's ``min_age`` from the rollover, so an event is deleted between ``retention`` and
``retention + rollover_max_age`` after it was written, whatever its own @timestamp.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import IndexSettings
from pipeline.index.documents import template_pattern

__all__ = ["policy_name", "lifecycle_policy", "es_duration", "rollover_data_streams"]

_UNITS = (("d", timedelta(days=1)), ("h", timedelta(hours=1)), ("m", timedelta(minutes=1)),
          ("s", timedelta(seconds=1)), ("ms", timedelta(milliseconds=1)))


def policy_name(settings: IndexSettings) -> str:
    return f"{settings.prefix}@lifecycle"


def es_duration(age: timedelta) -> str:
    """A duration in Elasticsearch's time units, in the largest unit that holds it exactly: 90d, 36h, 1500ms."""
    for unit, size in _UNITS:
        if age % size == timedelta(0):
            return f"{age // size}{unit}"
    return f"{age // timedelta(microseconds=1)}micros"


def lifecycle_policy(settings: IndexSettings) -> dict[str, Any]:
    """The ``policy`` of PUT _ilm/policy/<name>."""
    phases: dict[str, Any] = {
        "hot": {"min_age": "0ms", "actions": {"rollover": {
            "max_age": es_duration(settings.rollover_max_age),
            "max_primary_shard_size": settings.rollover_max_primary_shard_size,
        }}},
    }
    if settings.retention is not None:
        phases["delete"] = {"min_age": es_duration(settings.retention), "actions": {"delete": {}}}
    return {"phases": phases}


def rollover_data_streams(client: Elasticsearch, settings: IndexSettings) -> dict[str, str]:
    """Roll every data stream of the pipeline (any namespace) over now: data stream -> its new write index."""
    streams = client.indices.get_data_stream(name=template_pattern(settings))["data_streams"]
    return {stream["name"]: str(client.indices.rollover(alias=stream["name"])["new_index"])
            for stream in sorted(streams, key=lambda s: str(s["name"]))}
