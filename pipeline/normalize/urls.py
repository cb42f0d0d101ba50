"""ECS url.* parts derived from url.original, shared by the source types that log request targets."""

from __future__ import annotations

from urllib.parse import urlsplit

from pipeline.events import Event, get_path, set_path

__all__ = ["split_url_original"]


def split_url_original(event: Event) -> None:
    """Fill url.path/query/fragment (and url.full/scheme/domain for an absolute URL) from url.original,
    leaving any of them the source already gave. A URL urlsplit refuses (e.g. a malformed IPv6 host)
    stays in url.original alone."""
    original = get_path(event, "url.original")
    if not isinstance(original, str):
        return
    try:
        parts = urlsplit(original)
    except ValueError:
        return
    derived = {"path": parts.path, "query": parts.query, "fragment": parts.fragment}
    if parts.scheme and parts.netloc:
        derived.update(full=original, scheme=parts.scheme, domain=parts.hostname or "")
    for name, value in derived.items():
        if value and get_path(event, f"url.{name}") is None:
            set_path(event, f"url.{name}", value)
