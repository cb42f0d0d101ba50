"""Bulk writes with ``create``: a document already there (409) counts as a duplicate, not an error."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elastic_transport import HttpHeaders, TransportError, Urllib3HttpNode
from elastic_transport._models import DEFAULT, DefaultType
from elastic_transport._node import NodeApiResponse
from elasticsearch import ApiError, Elasticsearch

from pipeline.config import IndexSettings
from pipeline.errors import DependencyError
from pipeline.events import Event

__all__ = ["PlainJsonNode", "open_client", "check_index", "IndexWriter", "BulkResult", "IndexDoc"]

log = logging.getLogger(__name__)

_RETRY_STATUSES = {429, 502, 503, 504}


class PlainJsonNode(Urllib3HttpNode):
    """Sends ``application/json`` / ``application/x-ndjson``, not the elasticsearch client's
    compatibility media type, which OpenSearch-API servers answer with 406 (``index.server: opensearch``)."""

    def perform_request(self, method: str, target: str, body: bytes | None = None,
                        headers: HttpHeaders | None = None,
                        request_timeout: DefaultType | float | None = DEFAULT) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("content-type", "accept"):
                if name in headers:
                    headers[name] = ("application/x-ndjson" if "x-ndjson" in headers[name]
                                     else "application/json")
        return super().perform_request(method, target, body=body, headers=headers,
                                       request_timeout=request_timeout)


def open_client(settings: IndexSettings) -> Elasticsearch:
    auth: dict[str, Any] = {}
    if settings.api_key is not None:
        auth["api_key"] = settings.api_key.get_secret_value()
    elif settings.username and settings.password is not None:
        auth["basic_auth"] = (settings.username, settings.password.get_secret_value())
    if settings.server == "opensearch":
        auth["node_class"] = PlainJsonNode
    if settings.ca_certs is not None:
        auth["ca_certs"] = str(settings.ca_certs)
    return Elasticsearch(
        settings.url, verify_certs=settings.verify_certs,
        request_timeout=settings.request_timeout, retry_on_timeout=True, max_retries=3, **auth,
    )


def check_index(client: Elasticsearch) -> str:
    """The server's name and version, or DependencyError naming the setting."""
    try:
        info = client.info()
    except (TransportError, ApiError) as exc:
        raise DependencyError(f"index.url: the index server does not answer ({exc})") from None
    version = info.get("version", {})
    return f"{version.get('distribution', 'elasticsearch')} {version.get('number', '?')}"


@dataclass(frozen=True, slots=True)
class IndexDoc:
    index: str
    id: str
    source: Event


@dataclass(slots=True)
class BulkResult:
    created: int = 0
    duplicates: int = 0
    rejected: list[tuple[IndexDoc, str]] = field(default_factory=list)  # (document, reason)


class IndexWriter:
    """Writes batches; retries what the server asks to retry, returns what it refuses."""

    def __init__(self, client: Elasticsearch, max_attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._max_attempts = max_attempts
        self._sleep = sleep

    def write(self, docs: Sequence[IndexDoc]) -> BulkResult:
        result = BulkResult()
        pending = list(docs)
        for attempt in range(1, self._max_attempts + 1):
            if not pending:
                break
            pending = self._write_once(pending, result, last_attempt=attempt == self._max_attempts)
            if pending:
                self._sleep(min(30.0, 0.5 * 2 ** attempt))
        return result

    def _write_once(self, docs: list[IndexDoc], result: BulkResult, last_attempt: bool) -> list[IndexDoc]:
        operations: list[dict[str, Any]] = []
        for doc in docs:
            operations.append({"create": {"_index": doc.index, "_id": doc.id}})
            operations.append(doc.source)
        response = self._client.bulk(operations=operations)
        retry: list[IndexDoc] = []
        for doc, item in zip(docs, response["items"], strict=True):
            outcome = item.get("create", {})
            status = int(outcome.get("status", 500))
            if status in (200, 201):
                result.created += 1
            elif status == 409:
                result.duplicates += 1
            elif status in _RETRY_STATUSES and not last_attempt:
                retry.append(doc)
            else:
                error = outcome.get("error", {})
                reason = f"{status} {error.get('type', '')}: {error.get('reason', '')}".strip()
                result.rejected.append((doc, reason))
        return retry
