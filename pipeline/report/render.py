"""The report as one HTML page: the panels through a Jinja2 template, the charts as Plotly divs, and plotly.js
and the world outline inlined, so the page opens with no network."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import plotly.io as pio
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from pipeline.report.figures import failures_figure, map_figure, ports_figure, sides_figure, timeline_figure
from pipeline.report.panels import Panels

__all__ = ["render_html", "PLOTLY_CONFIG"]

PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True,
                                 "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("pipeline.report", "templates"),
                              autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["n"] = lambda value: f"{value:,}"
    return environment


def _script_safe(text: str) -> Markup:
    """Text placed inside <script>: a "</" would end the element early."""
    return Markup(text.replace("</", "<\\/"))


def _world_outline() -> str:
    return files("pipeline.report").joinpath("assets", "world_110m.json").read_text(encoding="utf-8")


def _div(figure: Any, div_id: str) -> Markup:
    return Markup(pio.to_html(figure, config=PLOTLY_CONFIG, include_plotlyjs=False, full_html=False,
                              div_id=div_id, default_height=f"{figure.layout.height}px"))


def _charts(panels: Panels) -> dict[str, Markup]:
    charts = {"map": _div(map_figure(panels.locations), "map-chart")}
    for name, rows, what in (("countries", panels.countries, "country"), ("asns", panels.asns, "AS"),
                             ("organizations", panels.organizations, "organisation")):
        if rows:
            charts[name] = _div(sides_figure(rows, what), f"{name}-chart")
    if panels.shodan_ports:
        charts["ports"] = _div(ports_figure(panels.shodan_ports), "ports-chart")
    if panels.failures:
        charts["failures"] = _div(failures_figure(panels.failures), "failures-chart")
    if panels.timeline:
        charts["timeline"] = _div(timeline_figure(panels.timeline, panels.bucket_seconds), "timeline-chart")
    return charts


def render_html(panels: Panels, title: str, input_name: str, bad_lines: int, first_bad: list[str],
                generated: datetime | None = None) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        p=panels, title=title, input_name=input_name, bad_lines=bad_lines, first_bad=first_bad,
        generated=(generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        charts=_charts(panels), plotly_js=_script_safe(get_plotlyjs()),
        world_outline=_script_safe(_world_outline()))
