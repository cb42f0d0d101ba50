"""write_report: one self-contained page (nothing it would fetch), every panel present, input problems as errors."""

from __future__ import annotations

import json
import os
import stat
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs_version

from pipeline.report import ReportError, write_report
from tests.unit.report.enriched import LONDON, WEB, event, side, threat

PANELS = {"summary", "map", "networks", "threats", "virustotal", "shodan", "critical", "scanner", "red-team",
          "failures", "timeline"}


class _Page(HTMLParser):
    """What a browser would load by itself: resource URLs, scripts, panels."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.scripts: list[str] = []
        self.panels: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "srcset", "data", "poster"):
            if found.get(name):
                self.fetched.append(f"{tag}[{name}]={found[name]}")
        if tag == "link" and found.get("href"):
            self.fetched.append(f"link[href]={found['href']}")
        if found.get("data-panel"):
            self.panels.add(str(found["data-panel"]))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _write(path: Path, events: list[dict[str, Any]], extra_lines: tuple[str, ...] = ()) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + "".join(line + "\n" for line in extra_lines))
    return path


def _events() -> list[dict[str, Any]]:
    return [
        event(source=side("81.2.69.160", 4444, geo=LONDON, asn=64496, org="</script><script>alert(1)</script>"),
              destination=side("192.168.250.70", 80), rule={"name": "<img src=x onerror=alert(2)>"},
              threats=[threat("blocklist", "81.2.69.160", "source.ip")],
              botes={"destination": {"asset": WEB, "shodan": {"ports": [80], "vulns": ["CVE-2021-1"]}}},
              failures=[{"source": "rdns", "field": "source.ip", "reason": "timeout"}]),
        event(ts="2016-08-10T22:00:00.000Z", dataset="fgt_traffic", source=side("192.168.250.70")),
    ]


def test_the_page_loads_nothing_from_anywhere_and_carries_plotly_and_the_world_outline(tmp_path: Path) -> None:
    outcome = write_report(_write(tmp_path / "in.ndjson", _events()), tmp_path / "out" / "report.html")
    assert outcome.written == tmp_path / "out" / "report.html"
    html = outcome.written.read_text(encoding="utf-8")
    assert outcome.size == len(html.encode())
    page = _Page()
    page.feed(html)
    assert page.fetched == []
    assert any(f"plotly.js v{get_plotlyjs_version()}" in script for script in page.scripts)
    assets = [s for s in page.scripts if s.startswith("window.PlotlyGeoAssets")]
    assert len(assets) == 1
    outline = json.loads(assets[0].split('"world_110m": ', 1)[1].rsplit("}};", 1)[0])
    assert {"land", "countries", "coastlines"} <= outline["objects"].keys()
    assert page.panels == PANELS


def test_text_from_events_cannot_become_markup_or_script(tmp_path: Path) -> None:
    write_report(_write(tmp_path / "in.ndjson", _events()), tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "</script><script>alert(1)" not in html
    page = _Page()
    page.feed(html)
    assert not any(script.strip().startswith("alert(1)") for script in page.scripts)


def test_lines_that_are_not_events_are_counted_and_named_and_the_rest_reported(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.ndjson", _events(), ('{"cut', "[1]"))
    outcome = write_report(source, tmp_path / "r.html")
    assert (outcome.events, outcome.bad_lines) == (2, 2)
    assert [b.number for b in outcome.first_bad] == [3, 4]
    html = (tmp_path / "r.html").read_text()
    assert 'data-panel="bad-lines"' in html and "line 4: a JSON list, not an object" in html


def test_no_event_at_all_writes_nothing(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.ndjson", [], ('{"src_ip": "10.0.0.1"}',))
    outcome = write_report(source, tmp_path / "r.html")
    assert (outcome.events, outcome.bad_lines, outcome.written) == (0, 1, None)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(("content", "message"), [(None, "no such file"), ("", "no events in it"),
                                                    ("\n  \n", "no events in it")])
def test_a_missing_or_empty_input_is_an_error_that_says_so(tmp_path: Path, content: str | None, message: str) -> None:
    source = tmp_path / "in.ndjson"
    if content is not None:
        source.write_text(content)
    with pytest.raises(ReportError, match=message):
        write_report(source, tmp_path / "r.html")


def test_a_report_that_cannot_be_written_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ReportError, match="cannot write the report"):
        write_report(_write(tmp_path / "in.ndjson", _events()), tmp_path / "taken")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.ndjson", "taken"]
    assert list((tmp_path / "taken").iterdir()) == []


def test_the_report_is_as_readable_as_any_new_file(tmp_path: Path) -> None:
    """A report is made to be shared: the umask decides, as for the enriched NDJSON beside it."""
    previous = os.umask(0o022)
    try:
        outcome = write_report(_write(tmp_path / "in.ndjson", _events()), tmp_path / "r.html")
    finally:
        os.umask(previous)
    assert outcome.written is not None
    assert stat.S_IMODE(outcome.written.stat().st_mode) == 0o644
