"""A loopback port nothing listens on: for "the server is not there" tests (connection refused at once)."""

from __future__ import annotations

import socket

__all__ = ["closed_port"]


def closed_port() -> int:
    """A port that was free a moment ago: bound, then released, so a connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
