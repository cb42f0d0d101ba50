"""Tenable Nessus scan results as the Splunk Add-on for Tenable writes them (sourcetype ``nessus:scan``):
one event per plugin finding on one scanned host, in ECS ``vulnerability.*`` terms.

The scanned host is ``host.*`` (what the finding is about) and also ``destination.*`` (where the scanner
connected, and where the enrichers look); the plugin that reported it is ``rule.*``.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.events import Event, get_path, remove_path, set_path
from pipeline.normalize.sourcetype import SourceType

__all__ = ["SOURCES", "prepare_nessus", "finish_nessus"]

# Nessus writes host_start/host_end as ctime text: "Wed Aug 10 21:39:41 2016" (the scanner's local time).
_CTIME = re.compile(r"^(?:[A-Za-z]{3}\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})$")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                        "nov", "dec"), start=1)}
_NO_SERVICE = "general"  # Nessus's service name for findings not tied to a service
_NO_PORT = 0  # Nessus's port for host-level findings
_SEVERITIES = ("informational", "low", "medium", "high", "critical")  # Nessus severity 0-4


def prepare_nessus(flat: dict[str, Any]) -> dict[str, Any]:
    """Splunk's multi-value form for ports, ISO host times, and an event time when ``time`` is missing."""
    flat = _ports_as_multi_values(dict(flat))
    for key, value in flat.items():
        if "{}" in key and not isinstance(value, list):
            # The normaliser makes "name{}" an array; "ports{}.port" is just as multi-valued in Splunk.
            flat[key] = [value]
    for key in ("host_start", "host_end"):
        value = flat.get(key)
        if isinstance(value, str):
            flat[key] = _iso_from_ctime(value)
    if "time" not in flat and flat.get("host_end") not in (None, ""):
        flat["time"] = flat["host_end"]  # the end of this host's scan is when the finding was made
    return flat


def _ports_as_multi_values(flat: dict[str, Any]) -> dict[str, Any]:
    """JSON ``ports: [{port, protocol, transport}, ...]`` is what Splunk flattens to ``ports{}.port`` etc."""
    ports = flat.get("ports")
    if isinstance(ports, list) and all(isinstance(p, dict) for p in ports):
        del flat["ports"]
        for key in dict.fromkeys(k for p in ports for k in p):
            flat[f"ports{{}}.{key}"] = [p.get(key) for p in ports if p.get(key) not in (None, "")]
    return flat


def _iso_from_ctime(text: str) -> str:
    match = _CTIME.match(text.strip())
    if match is None or match.group(1).lower() not in _MONTHS:
        return text  # not ctime: left to the date converter as it is
    month, day, hour, minute, second, year = match.groups()
    return f"{year}-{_MONTHS[month.lower()]:02d}-{int(day):02d}T{int(hour):02d}:{minute}:{second}"


def finish_nessus(event: Event) -> None:
    ip = get_path(event, "destination.ip")
    if ip is not None:
        set_path(event, "host.ip", ip if isinstance(ip, list) else [ip])
    _format_macs(event)
    _set_vulnerability(event)
    _set_network(event)
    set_path(event, "event.kind", "event")
    set_path(event, "event.category", ["vulnerability"])
    set_path(event, "event.type", ["info"])


def _format_macs(event: Event) -> None:
    """Nessus lists every interface's MAC in one text field; ECS host.mac is an array of AA-BB-..."""
    macs = get_path(event, "host.mac")
    if not isinstance(macs, (str, list)):
        return
    formatted = []
    for mac in macs.split() if isinstance(macs, str) else macs:
        digits = re.sub(r"[^0-9A-Fa-f]", "", str(mac))
        if len(digits) == 12:
            formatted.append("-".join(digits[i:i + 2] for i in range(0, 12, 2)).upper())
    if formatted:
        set_path(event, "host.mac", formatted)
    else:
        del event["host"]["mac"]


def _set_vulnerability(event: Event) -> None:
    set_path(event, "vulnerability.scanner.vendor", "Tenable")
    severity = get_path(event, "vulnerability.severity")
    if isinstance(severity, str) and severity.strip().isdigit() and int(severity) < len(_SEVERITIES):
        set_path(event, "vulnerability.severity", _SEVERITIES[int(severity)])
        if get_path(event, "event.severity") is None:
            set_path(event, "event.severity", int(severity))
    ids = get_path(event, "vulnerability.id")
    if ids is not None:
        set_path(event, "vulnerability.enumeration", "CVE")
    category = get_path(event, "vulnerability.category")
    if isinstance(category, str):
        set_path(event, "vulnerability.category", [category])
    references = get_path(event, "vulnerability.reference")
    if isinstance(references, str):  # see_also: one URL per line
        links = references.split()
        set_path(event, "vulnerability.reference", links[0] if len(links) == 1 else links)
    if get_path(event, "vulnerability.score.base") is not None:
        set_path(event, "vulnerability.score.version", "3.0")
    else:
        cvss2 = get_path(event, "botes.nessus.cvss.base_score")
        if cvss2 is not None:  # no CVSSv3 score: the CVSSv2 one is the base score
            remove_path(event, "botes.nessus.cvss.base_score")
            set_path(event, "vulnerability.score.base", cvss2)
            set_path(event, "vulnerability.score.version", "2.0")
    if get_path(event, "vulnerability.score.base") is not None:
        set_path(event, "vulnerability.classification", "CVSS")


def _set_network(event: Event) -> None:
    """Splunk keeps ports{}.* as parallel arrays; ECS fields are sets, so repeats and placeholders go."""
    ports = get_path(event, "destination.port")
    if ports is not None:
        kept = [p for p in dict.fromkeys(ports if isinstance(ports, list) else [ports]) if p != _NO_PORT]
        _set_orremove_path(event, "destination.port", kept, isinstance(ports, list))
    for field in ("transport", "protocol"):
        value = get_path(event, f"network.{field}")
        if value is None:
            continue
        values = [str(v).strip().lower() for v in (value if isinstance(value, list) else [value])]
        kept = [v for v in dict.fromkeys(values) if v and not (field == "protocol" and v == _NO_SERVICE)]
        _set_orremove_path(event, f"network.{field}", kept, isinstance(value, list))


def _set_orremove_path(event: Event, path: str, values: list[Any], as_list: bool) -> None:
    if values:
        set_path(event, path, values if as_list else values[0])
    else:
        remove_path(event, path)


SOURCES = (
    SourceType("nessus-scan", "scanner", "nessus", {"vendor": "Tenable", "product": "Nessus", "type": "scanner"},
               finish_nessus, prepare_nessus, ("nessus:scan",)),
)
