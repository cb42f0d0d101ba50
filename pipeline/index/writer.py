"""Writing documents to the index with bulk ``create`` requests: a document already there (409) counts as a
duplicate, not an error, so retries and restarts never index an event twice.

``BulkIndexer`` is what the streaming job uses: many concurrent callers each await their own document,
and their documents share bulk requests sized by count and by bytes. It only answers a caller once the
index has taken the document (created or duplicate) or refused it for good (a mapping conflict, a
document too large); anything else (no connection, a timeout, 429, 5xx) is tried again with backoff
for as long as it takes, so an unreachable index holds the job back instead of losing documents.
``IndexWriter`` writes one batch synchronously (benchmarks use it as a baseline).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elastic_transport import HttpHeaders, TransportError, Urllib3HttpNode
from elastic_transport._models import DEFAULT, DefaultType
from elastic_transport._node import NodeApiResponse
from elasticsearch import ApiError, Elasticsearch

from pipeline.config import IndexSettings
from pipeline.errors import DependencyError
from pipeline.events import Event

__all__ = ["PlainJsonNode", "open_client", "check_index", "IndexWriter", "BulkResult", "IndexDoc",
           "BulkIndexer", "IndexOutcome", "Created", "Duplicate", "Refused", "IndexUnavailable",
           "RequestRefused", "BulkSender", "AlreadyStored", "elasticsearch_sender", "index_unavailable", "item_outcome",
           "WriterStats"]

log = logging.getLogger(__name__)

# Per-document statuses worth trying again: every 5xx, and these. 403 is how Elasticsearch reports a
# write block (disk flood stage, a read-only index) and 404 a missing index where auto-creation is off:
# both end when an operator acts, and dead-lettering every document meanwhile would be the wrong answer.
_RETRY_STATUSES = {403, 404, 408, 429}
# The old synchronous writer's narrower set (it gives up after max_attempts anyway).
_SYNC_RETRY_STATUSES = {429, 502, 503, 504}


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


def open_client(settings: IndexSettings, max_retries: int = 3) -> Elasticsearch:
    """A client for ``index.url``; the job's writer passes ``max_retries=0`` and retries with backoff itself."""
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
        request_timeout=settings.request_timeout, retry_on_timeout=max_retries > 0, max_retries=max_retries,
        **auth,
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
            elif status in _SYNC_RETRY_STATUSES and not last_attempt:
                retry.append(doc)
            else:
                error = outcome.get("error", {})
                reason = f"{status} {error.get('type', '')}: {error.get('reason', '')}".strip()
                result.rejected.append((doc, reason))
        return retry


# --------------------------------------------------------------------------- the streaming job's writer


@dataclass(frozen=True, slots=True)
class Created:
    pass


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Already in the index (an earlier run, a replay, a retry): nothing to do."""


@dataclass(frozen=True, slots=True)
class Refused:
    """The index will never take this document as it is: it goes to the dead-letter topic."""

    reason: str


IndexOutcome = Created | Duplicate | Refused


class IndexUnavailable(Exception):
    """The request got no answer about its documents (no connection, a timeout, 429, 5xx): try again."""


class RequestRefused(Exception):
    """The request as a whole was refused (400, 413): its documents are tried in smaller groups, and a
    document refused on its own is refused for good."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = f"{status} {reason}"


# NDJSON lines (action, document, action, document, ...) -> one bulk answer item per document.
BulkSender = Callable[[list[bytes]], Awaitable[list[dict[str, Any]]]]
# (index, id) of the documents of a batch the index already holds where a `create` cannot see them (a data
# stream's older backing index): they are answered as duplicates and not sent. May raise IndexUnavailable.
AlreadyStored = Callable[[list[IndexDoc]], Awaitable[set[tuple[str, str]]]]


def item_outcome(item: dict[str, Any]) -> IndexOutcome | None:
    """What one item of a bulk answer means; None: try that document again."""
    answer: dict[str, Any] = item.get("create") or next(iter(item.values()), {})
    status = int(answer.get("status", 500))
    if status in (200, 201):
        return Created()
    if status == 409:
        return Duplicate()
    if status in _RETRY_STATUSES or status >= 500:
        return None
    error = answer.get("error", {})
    if not isinstance(error, dict):
        error = {"reason": str(error)}
    return Refused(f"{status} {error.get('type', '')}: {error.get('reason', '')}".strip())


def index_unavailable(exc: ApiError | TransportError, what: str = "") -> IndexUnavailable:
    """The client's error as the one BulkIndexer waits out and retries; ``what`` names the request."""
    reason = f"{exc.meta.status} {exc.message}" if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc.message}"
    return IndexUnavailable(f"{what}: {reason}" if what else reason)


def elasticsearch_sender(client: Elasticsearch) -> BulkSender:
    """The bulk request through the official client, in a worker thread; its errors become the two
    exceptions BulkIndexer understands."""
    async def send(lines: list[bytes]) -> list[dict[str, Any]]:
        try:
            response = await asyncio.to_thread(client.bulk, operations=lines)  # type: ignore[arg-type]
        except ApiError as exc:
            status = int(exc.meta.status)
            if status in (400, 413):
                raise RequestRefused(status, str(exc.message)) from None
            if status in (401, 403):
                log.error("the index refuses the job's credentials (%s): check index.username/password/api_key", status)
            raise index_unavailable(exc) from None
        except TransportError as exc:
            raise index_unavailable(exc) from None
        items: list[dict[str, Any]] = response["items"]
        if len(items) != len(lines) // 2:
            raise IndexUnavailable(f"the bulk answer has {len(items)} items for {len(lines) // 2} documents")
        return items
    return send


@dataclass(slots=True, eq=False)
class _Pending:
    doc: IndexDoc
    action: bytes
    source: bytes
    future: asyncio.Future[IndexOutcome]
    since: float

    @property
    def size(self) -> int:
        return len(self.action) + len(self.source) + 2


@dataclass(slots=True)
class WriterStats:
    created: int = 0
    duplicates: int = 0
    refused: int = 0
    requests: int = 0
    retries: int = 0        # requests or documents sent again
    waiting: int = 0        # documents accepted by index() and not answered yet


class BulkIndexer:
    """Group commit: ``await index(doc)`` from many tasks; their documents go out together.

    A batch leaves as soon as a request slot is free (``max_requests`` per indexer): the first slot at
    once, further slots once the batch is full (``max_actions`` documents or ``max_bytes``) or its oldest
    document has waited ``linger`` seconds. So a lone event is written at once, and under load requests
    grow to the configured size. Memory is bounded by the callers: each waits for its own document.
    """

    def __init__(self, send: BulkSender, *, max_actions: int, max_bytes: int, max_requests: int = 2,
                 linger: float = 1.0, backoff: float = 0.5, max_backoff: float = 10.0,
                 already_stored: AlreadyStored | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self._send = send
        self._max_actions = max_actions
        self._max_bytes = max_bytes
        self._max_requests = max_requests
        self._linger = linger
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._already_stored = already_stored
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._queue: deque[_Pending] = deque()
        self._queued_bytes = 0
        self._in_flight = 0
        self._changed = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        self._unavailable_since: float | None = None
        self.stats = WriterStats()

    async def index(self, doc: IndexDoc) -> IndexOutcome:
        action = json.dumps({"create": {"_index": doc.index, "_id": doc.id}}, separators=(",", ":")).encode()
        source = json.dumps(doc.source, separators=(",", ":")).encode()
        entry = _Pending(doc, action, source, asyncio.get_running_loop().create_future(), self._clock())
        self._queue.append(entry)
        self._queued_bytes += entry.size
        self.stats.waiting += 1
        self._changed.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
        try:
            return await entry.future
        finally:
            self.stats.waiting -= 1

    def _batch_full(self) -> bool:
        return len(self._queue) >= self._max_actions or self._queued_bytes >= self._max_bytes

    async def _wait_for_change(self, timeout: float | None = None) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def _dispatch(self) -> None:
        while self._queue:
            if self._in_flight >= self._max_requests:
                await self._wait_for_change()
                continue
            if self._in_flight and not self._batch_full():
                left = self._linger - (self._clock() - self._queue[0].since)
                if left > 0:
                    await self._wait_for_change(left)
                    continue
            batch = self._take_batch()
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._write(batch))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    def _take_batch(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        size = batch[0].size
        while self._queue and len(batch) < self._max_actions and size + self._queue[0].size <= self._max_bytes:
            entry = self._queue.popleft()
            batch.append(entry)
            size += entry.size
        self._queued_bytes -= size
        return batch

    async def _write(self, batch: list[_Pending]) -> None:
        try:
            await self._write_until_answered(batch)
        except Exception as exc:  # a bug: fail the callers (and so the job, which restarts from its checkpoint)
            for entry in batch:
                if not entry.future.done():
                    entry.future.set_exception(exc)
        finally:
            self._in_flight -= 1
            self._changed.set()

    async def _write_until_answered(self, batch: list[_Pending]) -> None:
        pending, attempt = batch, 0
        while pending:
            self.stats.requests += 1
            try:
                pending = await self._without_stored(pending)
                if not pending:
                    return
                items = await self._send([line for entry in pending for line in (entry.action, entry.source)])
            except IndexUnavailable as exc:
                self._note_unavailable(str(exc), len(pending))
                await self._pause(attempt)
                attempt += 1
                continue
            except RequestRefused as exc:
                if len(pending) == 1:
                    self._answer(pending[0], Refused(exc.reason))
                    return
                half = len(pending) // 2
                await self._write_until_answered(pending[:half])
                pending, attempt = pending[half:], 0
                continue
            self._note_available()
            retry = []
            for entry, item in zip(pending, items, strict=True):
                outcome = item_outcome(item)
                if outcome is None:
                    retry.append(entry)
                else:
                    self._answer(entry, outcome)
            if retry:
                self.stats.retries += len(retry)
                await self._pause(attempt)
                attempt += 1
            pending = retry

    async def _without_stored(self, pending: list[_Pending]) -> list[_Pending]:
        if self._already_stored is None:
            return pending
        stored = await self._already_stored([entry.doc for entry in pending])
        for entry in pending:
            if (entry.doc.index, entry.doc.id) in stored:
                self._answer(entry, Duplicate())
        return [entry for entry in pending if (entry.doc.index, entry.doc.id) not in stored]

    def _answer(self, entry: _Pending, outcome: IndexOutcome) -> None:
        if isinstance(outcome, Created):
            self.stats.created += 1
        elif isinstance(outcome, Duplicate):
            self.stats.duplicates += 1
        else:
            self.stats.refused += 1
        if not entry.future.done():
            entry.future.set_result(outcome)

    async def _pause(self, attempt: int) -> None:
        delay = min(self._max_backoff, self._backoff * 2 ** attempt)
        await self._sleep(delay * (0.5 + self._jitter() / 2))

    def _note_unavailable(self, reason: str, documents: int) -> None:
        self.stats.retries += 1
        if self._unavailable_since is None:
            self._unavailable_since = self._clock()
            log.warning("index unavailable (%s): %d document(s) waiting; trying again with backoff, "
                        "the job waits meanwhile", reason, documents)

    def _note_available(self) -> None:
        if self._unavailable_since is not None:
            log.warning("index available again after %.1f s", self._clock() - self._unavailable_since)
            self._unavailable_since = None
