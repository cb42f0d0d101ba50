"""Where a document is stored, and the document itself (its id is ``pipeline.events.document_id``).

- ``index.server: elasticsearch``: the data stream ``logs-<prefix>.<family>-<namespace>`` (Elastic's
  ``<type>-<dataset>-<namespace>`` scheme, dataset ``<prefix>.<family>``), and every document carries
  ``data_stream.type/dataset/namespace`` naming it.
- ``index.server: opensearch``: the plain index ``<prefix>-<family>``, documents as they are.

Events of no known family go to the family ``other``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.config import IndexSettings
from pipeline.events import Event, document_id
from pipeline.index.writer import IndexDoc
from pipeline.normalize.sources import family_of, resolve_source_type

__all__ = ["index_name", "index_document", "dataset", "data_stream_name", "storage_pattern", "template_pattern",
           "DATA_STREAM_TYPE"]

DATA_STREAM_TYPE = "logs"


def _family(event: Event, routing: Mapping[str, str] | None) -> str:
    source = resolve_source_type(str(event.get("event", {}).get("dataset", "")))
    return family_of(source, routing or {}) if source else "other"


def dataset(settings: IndexSettings, family: str) -> str:
    """``<prefix>.<family>``; a '-' in a family (allowed by kafka.routing) becomes '_', as a dataset has none."""
    return f"{settings.prefix}.{family.replace('-', '_')}"


def data_stream_name(settings: IndexSettings, family: str) -> str:
    return f"{DATA_STREAM_TYPE}-{dataset(settings, family)}-{settings.namespace}"


def _target(settings: IndexSettings, family: str) -> str:
    if settings.server == "elasticsearch":
        return data_stream_name(settings, family)
    return f"{settings.prefix}-{family}"


def index_name(event: Event, settings: IndexSettings, routing: Mapping[str, str] | None = None) -> str:
    """The data stream (elasticsearch) or index (opensearch) the event is written to."""
    return _target(settings, _family(event, routing))


def index_document(event: Event, settings: IndexSettings, routing: Mapping[str, str] | None = None) -> IndexDoc:
    """The bulk ``create`` of one event: where it goes, its deterministic id, and its source."""
    family = _family(event, routing)
    source = event
    if settings.server == "elasticsearch":
        source = {**event, "data_stream": {"type": DATA_STREAM_TYPE, "dataset": dataset(settings, family),
                                           "namespace": settings.namespace}}
    return IndexDoc(_target(settings, family), document_id(event), source)


def template_pattern(settings: IndexSettings) -> str:
    """What the index template applies to: every family (and, for data streams, every namespace)."""
    if settings.server == "elasticsearch":
        return f"{DATA_STREAM_TYPE}-{settings.prefix}.*-*"
    return f"{settings.prefix}-*"


def storage_pattern(settings: IndexSettings) -> str:
    """Every data stream (of the configured namespace) or index the pipeline writes: for searches and stats."""
    if settings.server == "elasticsearch":
        return f"{DATA_STREAM_TYPE}-{settings.prefix}.*-{settings.namespace}"
    return f"{settings.prefix}-*"
