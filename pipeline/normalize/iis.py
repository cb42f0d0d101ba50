"""Microsoft IIS W3C extended logs as Splunk exports them (sourcetype ``iis``), following Elastic's IIS
integration for ECS.

W3C writes ``-`` for an empty field and logs ``date`` and ``time`` apart, always in UTC.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from pipeline.events import Event, get_path, set_path
from pipeline.normalize.sourcetype import SourceType

__all__ = ["SOURCES", "prepare_iis", "finish_iis"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}:\d{2}(\.\d+)?$")
_NANOSECONDS_PER_MS = 1_000_000


def prepare_iis(flat: dict[str, Any]) -> dict[str, Any]:
    """Drop W3C's "-" placeholders; join date and time into one UTC timestamp."""
    flat = {key: value for key, value in flat.items() if value != "-"}
    date, clock = flat.get("date"), flat.get("time")
    if isinstance(date, str) and isinstance(clock, str) and _DATE.match(date.strip()) \
            and _CLOCK.match(clock.strip()):
        flat["time"] = f"{date.strip()}T{clock.strip().zfill(8)}+00:00"  # W3C logs are in UTC by definition
        del flat["date"]
    return flat


def finish_iis(event: Event) -> None:
    _copy(event, "client.ip", "source.ip")
    _copy(event, "server.ip", "destination.ip")
    _copy(event, "server.port", "destination.port")
    duration = get_path(event, "event.duration")
    if isinstance(duration, int):  # time_taken is in milliseconds; ECS wants nanoseconds
        set_path(event, "event.duration", duration * _NANOSECONDS_PER_MS)
    version = get_path(event, "http.version")
    if isinstance(version, str) and version.upper().startswith("HTTP/"):
        set_path(event, "http.version", version[5:])
    agent = get_path(event, "user_agent.original")
    if isinstance(agent, str):  # W3C writes the User-Agent with "+" for spaces and %-escapes
        set_path(event, "user_agent.original", unquote_plus(agent))
    _set_url(event)
    _split_user(event)
    set_path(event, "event.kind", "event")
    set_path(event, "event.category", ["web"])
    set_path(event, "event.type", ["access"])
    status = get_path(event, "http.response.status_code")
    if isinstance(status, int):
        set_path(event, "event.outcome", "success" if status < 400 else "failure")


def _copy(event: Event, source: str, target: str) -> None:
    value = get_path(event, source)
    if value is not None:
        set_path(event, target, value)


def _set_url(event: Event) -> None:
    path = get_path(event, "url.path")
    if not isinstance(path, str):
        return
    query = get_path(event, "url.query")
    set_path(event, "url.original", f"{path}?{query}" if isinstance(query, str) else path)
    name = path.rpartition("/")[2]
    if "." in name.strip("."):
        set_path(event, "url.extension", name.rpartition(".")[2].lower())


def _split_user(event: Event) -> None:
    """cs-username "DOMAIN\\user" or "user@domain" is ECS user.name plus user.domain."""
    name = get_path(event, "user.name")
    if not isinstance(name, str):
        return
    domain, separator, user = name.partition("\\")
    if not separator:
        user, separator, domain = name.partition("@")
    if separator and user and domain:
        set_path(event, "user.name", user)
        set_path(event, "user.domain", domain)


SOURCES = (
    SourceType("iis", "web", "iis", {}, finish_iis, prepare_iis),  # the Splunk sourcetype is also "iis"
)
