"""ECS ``related.*``: the addresses, hosts, hashes and users an event mentions, gathered from its fields."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pipeline.events import Event
from pipeline.normalize.ecs import CUSTOM_NAMESPACE, ecs_schema

__all__ = ["related_fields"]

_HOST_FIELDS = {"host.name", "host.hostname", "dns.question.name", "tls.client.server_name",
                "observer.hostname"}
_OTHER_USERS = ("target", "effective", "changes")  # user.target.name, ... (not user.group.name)
# Domains that are not host names: parts of a URL's domain, and account domains (DOMAIN\\user).
_NOT_HOSTS = ("registered_domain", "top_level_domain", "subdomain", "user", "group")
_MAX_PATHS = 16384  # field paths remembered (see _Path); beyond that, each is decided again when met


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


class _Path:
    """One field path and what it is; its children are the paths one level down, made when first met.

    An event is walked along this tree instead of building every leaf's dotted path: the kind of a path is
    decided once per process, and the custom namespace (``botes.*``, where nothing is related: no ECS ip
    field, no user, host or hash by ECS's names) is not walked at all."""

    __slots__ = ("path", "kind", "skip", "children")
    count = 0

    def __init__(self, path: str) -> None:
        self.path = path
        self.kind = _kind(path) if path else None
        self.skip = path == CUSTOM_NAMESPACE
        self.children: dict[str, _Path] = {}

    def child(self, key: str) -> _Path:
        node = _Path(f"{self.path}.{key}" if self.path else key)
        if _Path.count < _MAX_PATHS:
            _Path.count += 1
            self.children[key] = node
        return node


_ROOT = _Path("")


def _add_values(value: Any, into: dict[str, None]) -> None:
    for item in value if isinstance(value, list) else (value,):
        if isinstance(item, str):
            if item.strip():
                into.setdefault(item, None)
        elif isinstance(item, int) and not isinstance(item, bool):
            into.setdefault(str(item), None)


def _gather(node: dict[str, Any], at: _Path, found: dict[str, dict[str, None]]) -> None:
    children = at.children
    for key, value in node.items():
        child = children.get(key) or at.child(key)
        if child.skip:
            continue
        if isinstance(value, dict):
            _gather(value, child, found)
        elif child.kind is not None:
            values: dict[str, None] = {}
            _add_values(value, values)
            if values:
                found.setdefault(child.kind, {}).update(values)


def related_fields(event: Event) -> dict[str, list[str]]:
    """{"ip": [...], "hosts": [...], "hash": [...], "user": [...]}, each without repeats, in field order."""
    found: dict[str, dict[str, None]] = {}
    _gather(event, _ROOT, found)
    return {kind: list(values) for kind, values in found.items()}

