"""A real HTTP file server on loopback with byte-range support (RFC 9110 ``Range: bytes=N-``), standing in for
the public BOTES bucket. It records each request's Range header, can cut the connection after a number of
bytes of the body (a dropped download), or ignore ranges (a server without range support)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["RangeFileServer"]


@dataclass
class RangeFileServer:
    files: dict[str, bytes]
    ignore_ranges: bool = False
    cut_after: dict[str, int] = field(default_factory=dict)   # path -> bytes sent before hanging up (once)
    ranges: list[tuple[str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RangeFileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                owner.ranges.append((path, self.headers.get("Range")))
                body = owner.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match and not owner.ignore_ranges:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Accept-Ranges", "none" if owner.ignore_ranges else "bytes")
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = owner.cut_after.pop(path, None)
                self.wfile.write(body[start:] if cut is None else body[start:start + cut])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

        return Handler
