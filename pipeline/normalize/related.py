"""ECS ``related.*``: the addresses, hosts, hashes and users an event mentions, gathered from its fields."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from pipeline.events import Event, iter_leaves
from pipeline.normalize.ecs import ecs_schema

__all__ = ["related_fields"]

_HOST_FIELDS = {"host.name", "host.hostname", "dns.question.name", "tls.client.server_name",
                "observer.hostname"}
_OTHER_USERS = ("target", "effective", "changes")  # user.target.name, ... (not user.group.name)
# Domains that are not host names: parts of a URL's domain, and account domains (DOMAIN\\user).
_NOT_HOSTS = ("registered_domain", "top_level_domain", "subdomain", "user", "group")


@lru_cache(maxsize=16384)  # field paths repeat from event to event: decide each once
def _kind(path: str) -> str | None:
    parts = path.split(".")
    if ecs_schema().types.get(path) == "ip":
        return "ip"
    if path.startswith("botes."):
        return None
    if "hash" in parts[:-1] or parts[-1] in ("imphash", "ja3", "ja3s"):
        return "hash"
    if parts[-2:] == ["user", "name"] or (  # user.name, source.user.name, process.user.name, ...
            len(parts) >= 3 and parts[-3] == "user" and parts[-2] in _OTHER_USERS and parts[-1] == "name"):
        return "user"
    if path in _HOST_FIELDS or (parts[-1] == "domain" and not any(p in _NOT_HOSTS for p in parts)):
        return "hosts"
    return None


def _values(value: Any) -> Iterable[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, (str, int)) and not isinstance(item, bool) and str(item).strip():
            yield str(item)


def related_fields(event: Event) -> dict[str, list[str]]:
    """{"ip": [...], "hosts": [...], "hash": [...], "user": [...]}, each without repeats, in field order."""
    found: dict[str, dict[str, None]] = {}
    for path, value in iter_leaves(event):
        kind = _kind(path)
        if kind is not None:
            for item in _values(value):
                found.setdefault(kind, {}).setdefault(item, None)
    return {kind: list(values) for kind, values in found.items()}
