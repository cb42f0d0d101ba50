"""Suricata EVE specifics, following what Elastic's Filebeat suricata module produces."""

from __future__ import annotations

from urllib.parse import urlsplit

from pipeline.events import Event, get_path, set_path
from pipeline.normalize.sourcetype import SourceType

__all__ = ["SOURCES", "finish_suricata"]

_CATEGORIES = {
    "alert": ["network", "intrusion_detection"],
    "http": ["network", "web"],
    "fileinfo": ["network", "file"],
}
_TYPES = {"flow": ["connection"], "alert": ["info"], "dns": ["protocol"], "http": ["protocol"],
          "tls": ["protocol"], "fileinfo": ["info"]}


def finish_suricata(event: Event) -> None:
    event_type = get_path(event, "botes.suricata.eve.event_type")
    set_path(event, "event.kind", "alert" if event_type == "alert" else "event")
    set_path(event, "event.category", _CATEGORIES.get(str(event_type), ["network"]))
    types = list(_TYPES.get(str(event_type), ["info"]))
    action = get_path(event, "botes.suricata.eve.alert.action")
    if action in ("allowed", "blocked"):
        types.append("allowed" if action == "allowed" else "denied")
    set_path(event, "event.type", types)
    transport = get_path(event, "network.transport")
    if isinstance(transport, str):
        set_path(event, "network.transport", transport.lower())
    original_url = get_path(event, "url.original")
    if isinstance(original_url, str):
        try:
            parts = urlsplit(original_url)
        except ValueError:  # e.g. a malformed IPv6 host; url.original keeps what was sent
            return
        set_path(event, "url.path", parts.path)
        if parts.query:
            set_path(event, "url.query", parts.query)


SOURCES = (
    SourceType("suricata", "ids", "suricata", {"vendor": "OISF", "product": "Suricata", "type": "ids"},
               finish_suricata, aliases=("suricata:eve",)),
)
