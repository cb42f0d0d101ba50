"""A real HTTP server on loopback that answers like an external provider (Shodan, Onyphe, VirusTotal).

Tests register replies per path, point the real client library at ``server.url`` and read back the
requests it made. Besides recorded bodies it can answer 429 with Retry-After, 5xx, a malformed body, or
hang (hold the connection without answering) to exercise timeouts, or hold its answer until the test
opens a gate (for ordering without sleeps).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["Reply", "Request", "ProviderServer", "GATE_WAIT"]

GATE_WAIT = 60.0  # the longest a gated reply waits for its gate


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    hang: float = 0.0  # seconds to wait before answering (longer than the client's timeout = a hang)
    # Answer only once this is set (the test opens it; stop() opens every gate; at most GATE_WAIT s).
    gate: threading.Event | None = field(default=None, compare=False)

    @classmethod
    def file(cls, path: Path, status: int = 200) -> Reply:
        return cls(status, path.read_bytes())


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() when it arrived
    body: bytes = b""


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the cache tests open many connections at once
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return  # the client gave up waiting (the timeout tests): nothing to report
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class ProviderServer:
    """Replies by exact path (query string ignored), or ``default`` for any other path."""

    def __init__(self, default: Reply = Reply(404, b'{"error": "not found"}')) -> None:
        self.replies: dict[str, Reply] = {}
        self.default = default
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, path: str, reply: Reply) -> None:
        self.replies[path] = reply

    def calls(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for_call(self, path: str, timeout: float) -> Request:
        """The first request to ``path``, as soon as it has arrived (AssertionError after ``timeout`` s)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: any(r.path == path for r in self.requests), timeout):
                raise AssertionError(f"no request to {path} within {timeout} s")
            return next(r for r in self.requests if r.path == path)

    def start(self) -> ProviderServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        for reply in [*self.replies.values(), self.default]:
            if reply.gate is not None:
                reply.gate.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def _record(self, request: Request) -> Reply:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
            return self.replies.get(request.path, self.default)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = server._record(Request(self.command, parts.path, parts.query, dict(self.headers),
                                               time.monotonic(), body))
                if reply.gate is not None:
                    reply.gate.wait(GATE_WAIT)
                if reply.hang:
                    time.sleep(reply.hang)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler
