"""The report's charts, as Plotly figures built from the panels' rows."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from pipeline.report.panels import FailureRow, Location, PortRow, Series, SideRow

__all__ = ["COLORS", "map_figure", "sides_figure", "ports_figure", "failures_figure", "timeline_figure"]

COLORS = {"source": "#1f77b4", "destination": "#e4572e"}
_FONT = {"family": "DejaVu Sans, Arial, sans-serif", "size": 12}
_LARGEST_MARKER = 46  # pixels across, for the location with the most events, when there are few


def _largest_marker(markers: int) -> float:
    """Smaller markers when there are many, so that the map is not a blanket of circles."""
    scaled: float = _LARGEST_MARKER * math.sqrt(20 / max(markers, 1))
    return max(12.0, min(_LARGEST_MARKER, scaled))


def _layout(figure: go.Figure, height: int) -> go.Figure:
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font=_FONT,
                         paper_bgcolor="white", plot_bgcolor="white",
                         legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
    return figure


def map_figure(locations: dict[str, list[Location]]) -> go.Figure:
    """Source and destination locations on a world outline, each marker's area proportional to its events."""
    figure = go.Figure()
    largest = max((place.events for places in locations.values() for place in places), default=1)
    diameter = _largest_marker(sum(len(places) for places in locations.values()))
    for side, places in locations.items():
        figure.add_trace(go.Scattergeo(
            name=side,
            lat=[p.lat for p in places], lon=[p.lon for p in places],
            text=[f"{p.place}, {p.country}" if p.country and p.country != p.place else p.place for p in places],
            customdata=[p.events for p in places],
            hovertemplate="%{text}<br>%{customdata:,} events<extra>" + side + "</extra>",
            mode="markers",
            marker={"size": [p.events for p in places], "sizemode": "area", "sizemin": 4,
                    "sizeref": 2 * largest / diameter**2, "color": COLORS.get(side, "#555"),
                    "opacity": 0.6, "line": {"width": 1, "color": "white"}},
        ))
    figure.update_geos(projection_type="natural earth", showcountries=True, countrycolor="#c8ccd2",
                       showland=True, landcolor="#eef0f3", showocean=True, oceancolor="#f7fafd",
                       showlakes=False, showframe=False, coastlinecolor="#aab0b8", fitbounds=False,
                       lataxis_range=[-58, 85])
    return _layout(figure, 470)


def sides_figure(rows: list[SideRow], what: str) -> go.Figure:
    """Horizontal bars: events with each country/ASN/organisation as source and as destination."""
    labels = [row.label if len(row.label) <= 38 else row.label[:37] + "…" for row in rows]
    figure = go.Figure()
    for side in ("source", "destination"):
        figure.add_trace(go.Bar(
            name=side, orientation="h", y=labels, x=[getattr(row, side) for row in rows],
            marker_color=COLORS[side], hovertemplate="%{y}: %{x:,} events<extra>" + side + "</extra>"))
    figure.update_layout(barmode="group", bargap=0.25, xaxis_title=f"events by {what}")
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_xaxes(gridcolor="#e5e7eb")
    return _layout(figure, 120 + 34 * max(len(rows), 1))


def ports_figure(rows: list[PortRow]) -> go.Figure:
    """Events to contacted hosts per port Shodan saw open on them (the hosts in the hover)."""
    figure = go.Figure(go.Bar(
        x=[f"{row.port}" for row in rows], y=[row.events for row in rows], customdata=[row.hosts for row in rows],
        marker_color="#6c5ce7", hovertemplate="port %{x}: %{y:,} events to %{customdata} host(s)<extra></extra>"))
    figure.update_xaxes(type="category", title="open port (Shodan)")
    figure.update_yaxes(title="events to hosts with it open", gridcolor="#e5e7eb", rangemode="tozero")
    return _layout(figure, 300)


def failures_figure(rows: list[FailureRow]) -> go.Figure:
    """Events with a failed lookup per source, one bar segment per reason."""
    sources = sorted({row.source for row in rows},
                     key=lambda s: (-sum(r.events for r in rows if r.source == s), s))
    figure = go.Figure()
    for reason in sorted({row.reason for row in rows}):
        counts = {row.source: row.events for row in rows if row.reason == reason}
        figure.add_trace(go.Bar(
            name=reason, orientation="h", y=sources, x=[counts.get(source, 0) for source in sources],
            hovertemplate="%{y}: %{x:,} × %{fullData.name}<extra></extra>"))
    figure.update_layout(barmode="stack", xaxis_title="events with a failed lookup")
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_xaxes(gridcolor="#e5e7eb")
    return _layout(figure, 120 + 40 * max(len(sources), 1))


def timeline_figure(series: list[Series], bucket_seconds: int) -> go.Figure:
    """Events per time bucket, stacked by source type."""
    figure = go.Figure()
    for one in series:
        figure.add_trace(go.Bar(
            name=one.name, x=one.starts, y=one.events, offset=0, width=bucket_seconds * 1000,
            hovertemplate="%{x}: %{y:,} events<extra>" + one.name + "</extra>"))
    figure.update_layout(barmode="stack", bargap=0)
    figure.update_xaxes(type="date", title=f"time (UTC), {_duration(bucket_seconds)} buckets")
    figure.update_yaxes(title="events", gridcolor="#e5e7eb")
    return _layout(figure, 320)


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{seconds} second{'s' if seconds > 1 else ''}"
