"""Enriched events built by hand for the report tests, shaped like what `botes run --output` writes."""

from __future__ import annotations

from typing import Any

from pipeline.report.aggregate import Aggregate, Limits

__all__ = ["LONDON", "CHANGCHUN", "WEB", "SCANNER", "side", "threat", "event", "fed"]

LONDON = {"city_name": "London", "country_iso_code": "GB", "country_name": "United Kingdom",
          "location": {"lat": 51.5142, "lon": -0.0931}}
CHANGCHUN = {"city_name": "Changchun", "country_iso_code": "CN", "country_name": "China",
             "location": {"lat": 43.88, "lon": 125.3228}}
WEB = {"hostname": "web01", "owner": "Web team", "location": "DC1", "criticality": "Critical", "roles": ["Web server"]}
SCANNER = {"hostname": "nessus01", "owner": "Security", "criticality": "Medium", "roles": ["Scanner"]}


def side(ip: str, port: int | None = None, geo: dict[str, Any] | None = None, asn: int | None = None,
         org: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"ip": ip}
    if port is not None:
        part["port"] = port
    if geo is not None:
        part["geo"] = geo
    if asn is not None:
        part["as"] = {"number": asn, **({"organization": {"name": org}} if org else {})}
    return part


def threat(provider: str, atomic: str, field: str, **indicator: Any) -> dict[str, Any]:
    return {"indicator": {"provider": provider, "type": "ipv4-addr", **indicator},
            "matched": {"atomic": atomic, "field": field, "type": "indicator_match_rule"}}


def event(ts: str = "2016-08-10T21:00:00.000Z", dataset: str = "suricata", source: dict[str, Any] | None = None,
          destination: dict[str, Any] | None = None, threats: list[dict[str, Any]] | None = None,
          failures: list[dict[str, Any]] | None = None, botes: dict[str, Any] | None = None, **fields: Any
          ) -> dict[str, Any]:
    result: dict[str, Any] = {"@timestamp": ts, "event": {"dataset": dataset, "kind": "event"}, **fields}
    if source is not None:
        result["source"] = source
    if destination is not None:
        result["destination"] = destination
    if threats:
        result["threat"] = {"enrichments": threats}
    extra = dict(botes or {})
    if failures:
        extra["enrichment"] = {"failures": failures}
    if extra:
        result["botes"] = extra
    return result


def fed(*events: dict[str, Any], limits: Limits | None = None) -> Aggregate:
    aggregate = Aggregate(limits)
    for one in events:
        aggregate.add(one)
    return aggregate
