"""A loopback stand-in for SCOT4's API as an enrichment callback sees it: ``POST /api/v1/entity/{id}/enrichment``.

It answers as SCOT4 does (sandialabs/scot4-api @ a061ff80b9838bce4c00c32a5dbfd737374ec094):

- ``Authorization: apikey <key>`` is read as ``api_token_mixin`` reads it (``src/app/api/deps.py``: the header
  starts with "apikey", the key is the rest without spaces); a wrong key is 401 "Invalid API Key", no header 401.
- The body is checked as ``add_enrichment`` checks it (``src/app/api/endpoints/entity.py``): first as
  ``EnrichmentCreate`` (``src/app/schemas/enrichment.py``), then ``data`` against the model its
  ``enrichment_class`` maps to in ``enrichment_class_schema_map``; a failure is 422. The models below restate
  those pydantic models field for field (SCOT4 uses pydantic 2, as this project does).
- Success is 200 with the entity (here only its id).

Tests read what was accepted and refused, can make it answer 503 to the next N posts, and wait on a condition
for posts to arrive (no sleeping).
"""

from __future__ import annotations

import enum
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

__all__ = ["ScotApi", "Post", "EnrichmentCreate", "CLASS_SCHEMAS", "validate_enrichment"]


class EnrichmentClass(enum.Enum):  # app.enums.EnrichmentClassEnum
    markdown = "markdown"
    linechart = "linechart"
    jsontree = "jsontree"
    plaintext = "plaintext"


class EnrichmentCreate(BaseModel):  # app.schemas.enrichment.EnrichmentCreate (with EnrichmentBase's fields)
    title: Annotated[str | None, Field()] = ""
    entity_id: Annotated[int | None, Field()] = None
    enrichment_class: EnrichmentClass
    data: dict[str, Any]
    description: Annotated[str | None, Field()] = ""


class PlainTextEnrichment(BaseModel, extra="allow"):
    plaintext: str


class MarkdownEnrichment(BaseModel, extra="allow"):
    markdown: str


class JsonTreeEnrichment(BaseModel, extra="allow"):
    pass


class ChartData(BaseModel, extra="allow"):
    labels: list[str]
    datasets: list[Any]


class ChartsEnrichment(BaseModel, extra="allow"):
    chart_data: ChartData


CLASS_SCHEMAS: dict[EnrichmentClass, type[BaseModel]] = {
    EnrichmentClass.jsontree: JsonTreeEnrichment, EnrichmentClass.plaintext: PlainTextEnrichment,
    EnrichmentClass.markdown: MarkdownEnrichment, EnrichmentClass.linechart: ChartsEnrichment,
}


def validate_enrichment(body: Any) -> EnrichmentCreate:
    """What SCOT4's add_enrichment accepts; ValidationError for what it answers 422 to."""
    enrichment = EnrichmentCreate.model_validate(body)
    CLASS_SCHEMAS[enrichment.enrichment_class].model_validate(enrichment.data)
    return enrichment


@dataclass(frozen=True)
class Post:
    entity_id: int
    status: int            # what the fake answered
    body: Any              # the JSON body (None if it was not JSON)
    authorization: str | None
    at: float              # time.monotonic() on arrival
    error: str = ""        # why it was refused


_PATH = re.compile(r"^/api/v1/entity/(?P<id>-?\d+)/enrichment$")


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


class ScotApi:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.posts: list[Post] = []
        self._busy = 0              # answer 503 to this many more posts
        self._changed = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        """SCOT's API_EXTERNAL_BASE, the callback_url SCOT puts in its requests."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/v1"

    @property
    def host(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> ScotApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def answer_busy(self, count: int) -> None:
        """Answer 503 (with Retry-After: 0) to the next ``count`` posts."""
        with self._changed:
            self._busy = count

    def accepted(self, entity_id: int | None = None) -> list[Post]:
        with self._changed:
            return [p for p in self.posts if p.status == 200 and entity_id in (None, p.entity_id)]

    def refused(self) -> list[Post]:
        with self._changed:
            return [p for p in self.posts if p.status != 200]

    def wait_for_accepted(self, count: int, timeout: float) -> list[Post]:
        """Wait until ``count`` posts were accepted (or the timeout passes); the accepted posts."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(p.status == 200 for p in self.posts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return [p for p in self.posts if p.status == 200]

    def _record(self, entity_id: int, raw: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        with self._changed:
            status, answer, body = self._answer(entity_id, raw, authorization)
            self.posts.append(Post(entity_id, status, body, authorization, time.monotonic(),
                                   "" if status == 200 else json.dumps(answer)))
            self._changed.notify_all()
            return status, answer

    def _answer(self, entity_id: int, raw: bytes, authorization: str | None) -> tuple[int, dict[str, Any], Any]:
        if not authorization or not authorization.startswith("apikey"):
            return 401, {"detail": "Not authenticated"}, None
        if "".join(authorization.split()[1:]) != self.api_key:
            return 401, {"detail": "Invalid API Key"}, None
        try:
            body = json.loads(raw)
        except ValueError:
            return 422, {"detail": "body is not JSON"}, None
        if self._busy > 0:
            self._busy -= 1
            return 503, {"detail": "busy"}, body
        try:
            validate_enrichment(body)
        except ValidationError as exc:
            return 422, {"detail": str(exc)}, body
        return 200, {"id": entity_id}, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as SCOT's uvicorn does

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                match = _PATH.match(self.path)
                if match is None:
                    self._send(404, {"detail": "Not Found"})
                    return
                status, answer = api._record(int(match["id"]), raw, self.headers.get("Authorization"))
                self._send(status, answer, {"Retry-After": "0"} if status == 503 else {})

            def _send(self, status: int, answer: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler
