"""The investigation report, end to end: the real embedded job writes enriched events and the report
(`botes run --output ... --report ...`), and headless Chromium (Debian's package), driven by Playwright,
opens the page with the network cut off.

Inputs: the bundled synthetic sample plus four SYNTHETIC Suricata fileinfo events whose files VirusTotal
knows, a SYNTHETIC threat list, and recorded real Shodan and VirusTotal answers served on loopback
(tests/fakes/provider.py). One Shodan answer gets two CVEs added, since neither recording lists any, and
one address answers 503 so that failures show. The panels count what the Kibana dashboards of the compose
stack count (docker/kibana/saved_objects.ndjson): Shodan facts of contacted (destination) hosts in events
to them, and events with a failure per source and reason. Every number the page must show is counted here, straight
from the enriched events, not by the report's code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from pipeline.config import bundled_data
from tests.conftest import DATA
from tests.fakes.provider import ProviderServer, Reply

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the others stop the calls home that a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
MALICIOUS = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"  # 53 engines
TROJAN = "417c06700c3e899f0554654102fa064385bf1d3ecec32471ac488096d81bf38c"     # 7 engines
CLEAN = "0001a1252300b4732e4a010a5dd13a291dcb8b0ebee6febedb5152dfb0bcd488"      # 0 engines: no hit
LISTED_IP, LISTED_NET = "175.16.199.0", "89.160.20.0/24"
SHODAN_CVES = ["CVE-2021-41617", "CVE-2016-20012"]
FILE_EVENTS = [  # SYNTHETIC, in BOTES suricata form: (source address, hash of the file it fetched)
    ("192.168.250.100", MALICIOUS), ("10.10.10.10", TROJAN), ("192.168.2.50", CLEAN), ("192.168.250.70", MALICIOUS)]


@dataclass(frozen=True)
class Run:
    events: list[dict[str, Any]]
    report: Path
    stderr: str


def _get(event: dict[str, Any], path: str) -> Any:
    node: Any = event
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _provider() -> ProviderServer:
    provider = ProviderServer(default=Reply(404, b'{"error": "No information available for that IP."}')).start()
    for digest in (MALICIOUS, TROJAN, CLEAN):
        provider.reply(f"/api/v3/files/{digest}", Reply.file(DATA / "providers" / "virustotal" / f"{digest}.json"))
    cloudflare = json.loads((DATA / "providers" / "shodan" / "1.1.1.1_shodan.json").read_text())
    provider.reply("/shodan/host/81.2.69.160", Reply(200, json.dumps({**cloudflare, "vulns": SHODAN_CVES}).encode()))
    provider.reply("/shodan/host/89.160.20.112", Reply.file(DATA / "providers" / "shodan" / "140.82.121.4_shodan.json"))
    provider.reply("/shodan/host/216.160.83.56", Reply(503, b'{"error": "unavailable"}'))
    return provider


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("report")
    extra = work / "extra"
    extra.mkdir()
    (extra / "botesv1.suricata.json").write_text("".join(json.dumps({
        "timestamp": f"2016-08-10T22:1{i}:00.000000+0000", "event_type": "fileinfo", "src_ip": source,
        "src_port": 51000 + i, "dest_ip": LISTED_IP, "dest_port": 80, "proto": "TCP", "app_proto": "http",
        "http": {"hostname": "files.example", "url": f"/f{i}.doc"},
        "fileinfo": {"filename": f"/f{i}.doc", "size": 40960, "sha256": digest, "stored": False}}) + "\n"
        for i, (source, digest) in enumerate(FILE_EVENTS)))
    blocklist = work / "blocklist.txt"
    blocklist.write_text(f"# SYNTHETIC test feed\n{LISTED_IP}\n{LISTED_NET}\n")
    provider = _provider()
    key = "test-key-not-real"
    env = {**os.environ, "BOTES_VIRUSTOTAL__URL": provider.url, "BOTES_VIRUSTOTAL__API_KEY": key,
           "BOTES_SHODAN__URL": provider.url, "BOTES_SHODAN__API_KEY": key,
           "BOTES_SHODAN__RATE": "1000", "BOTES_SHODAN__BURST": "1000",  # the free tier's 1/s would fail lookups
           "BOTES_THREATLISTS__LISTS": json.dumps([{"path": str(blocklist), "kind": "ip", "name": "test-blocklist"}])}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", "run", "--input", str(bundled_data("sample")), "--input", str(extra),
             "--output", str(work / "enriched.ndjson"), "--report", str(work / "report.html")],
            env=env, capture_output=True, text=True, timeout=600)
    finally:
        provider.stop()
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (work / "enriched.ndjson").read_text().splitlines()]
    yield Run(events, work / "report.html", result.stderr)


@dataclass
class Opened:
    page: Page
    requests: list[str]
    console_errors: list[str]
    screenshot: Path
    chart_widths: dict[str, tuple[float, float]]  # as first drawn: (box width, width Plotly drew)


@pytest.fixture(scope="module")
def opened(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opened]:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} missing: scripts/test.sh installs Debian's chromium"
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
            context.on("request", lambda request: requests.append(request.url))
            # Anything but the page itself is recorded above and refused here, so none could leave.
            context.route(lambda url: not url.startswith("file:"), lambda route: route.abort())
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if _is_error(m) else None)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {_describe(r)}"))
            page.goto(run.report.as_uri(), wait_until="load")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d._fullLayout)"
                " && document.querySelectorAll('#map-chart path.point').length > 0", timeout=60_000)
            widths = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.plotly-graph-div')]
                .map(d => [d.id, [d.getBoundingClientRect().width, d._fullLayout.width]]))""")
            screenshot = tmp_path_factory.mktemp("screenshot") / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)  # resizes the page: charts are redrawn
            yield Opened(page, requests, errors, screenshot, {k: tuple(v) for k, v in widths.items()})
        finally:
            browser.close()


def _is_error(message: ConsoleMessage) -> bool:
    return message.type == "error"


def _describe(request: Request) -> str:
    return f"{request.url} ({request.failure})"


def _chart(page: Page, div_id: str) -> list[dict[str, Any]]:
    """The traces Plotly drew in a chart: name, x, y, lat, lon, customdata."""
    traces: list[dict[str, Any]] = page.evaluate(
        """id => document.getElementById(id).data.map(t => ({name: t.name, x: t.x, y: t.y, lat: t.lat,
                                                             lon: t.lon, customdata: t.customdata}))""", div_id)
    return traces


def _rows(page: Page, table: str) -> dict[str, dict[str, str]]:
    """Rows of a report table by their key: each data-field cell's number (data-count) or text."""
    rows: dict[str, dict[str, str]] = page.evaluate(
        """table => Object.fromEntries([...document.querySelectorAll(`[data-table="${table}"] > tbody > tr[data-key]`)]
             .map(tr => [tr.dataset.key, Object.fromEntries([...tr.querySelectorAll('[data-field]')].map(td => {
                 const n = td.querySelector('[data-count]');
                 return [td.dataset.field, n ? n.dataset.count : td.textContent.trim()];
             }))]))""", table)
    return rows


def _metric(page: Page, name: str) -> int:
    return int(page.get_attribute(f'[data-metric="{name}"] [data-count]', "data-count") or -1)


def _side_counts(events: list[dict[str, Any]], path: str) -> dict[str, Counter[Any]]:
    return {side: Counter(v for e in events if (v := _get(e, f"{side}.{path}")) is not None)
            for side in ("source", "destination")}


def test_the_page_makes_no_request_and_logs_no_error(opened: Opened) -> None:
    assert len(opened.requests) == 1 and opened.requests[0].startswith("file:"), opened.requests
    assert opened.console_errors == []
    assert opened.screenshot.stat().st_size > 50_000, f"screenshot: {opened.screenshot}"


def test_every_chart_is_drawn_to_the_width_of_its_box(opened: Opened) -> None:
    assert set(opened.chart_widths) == {"map-chart", "countries-chart", "asns-chart", "organizations-chart",
                                        "ports-chart", "failures-chart", "timeline-chart"}
    for chart, (box, drawn) in opened.chart_widths.items():
        assert abs(box - drawn) < 2, f"{chart}: drawn {drawn} px wide in a {box} px box"


def test_summary_cards(run: Run, opened: Opened) -> None:
    events = run.events
    threat_events = sum(1 for e in events if any(t["indicator"]["provider"] != "virustotal"
                                                 for t in _get(e, "threat.enrichments") or []))
    assert threat_events > 0
    assert _metric(opened.page, "events") == len(events) == 304
    assert _metric(opened.page, "source-types") == len({e["event"]["dataset"] for e in events})
    assert _metric(opened.page, "threat-events") == threat_events
    assert _metric(opened.page, "failure-events") == sum(1 for e in events if _get(e, "botes.enrichment.failures"))
    assert _metric(opened.page, "source-addresses") == len({e["source"]["ip"] for e in events if "source" in e})


def test_the_map_marks_each_location_sized_by_its_events(run: Run, opened: Opened) -> None:
    expected = {side: Counter((round(loc["lat"], 4), round(loc["lon"], 4)) for e in run.events
                              if (loc := _get(e, f"{side}.geo.location")))
                for side in ("source", "destination")}
    assert expected["source"] and expected["destination"]
    drawn = {trace["name"].split(" ")[0]: Counter(dict(zip(zip(trace["lat"], trace["lon"], strict=True),
                                                            trace["customdata"], strict=True)))
             for trace in _chart(opened.page, "map-chart")}
    assert drawn == expected
    page = opened.page
    assert page.locator("#map-chart path.point").count() == sum(len(c) for c in expected.values())
    for outline in ("land", "countries", "coastlines"):  # the world outline was drawn, from the inlined file
        assert page.locator(f"#map-chart .layer.{outline} path").count() >= 1


def test_top_countries_asns_and_organisations(run: Run, opened: Opened) -> None:
    names = {_get(e, f"{s}.geo.country_iso_code"): _get(e, f"{s}.geo.country_name")
             for e in run.events for s in ("source", "destination")}
    for chart, path, label in (
            ("countries-chart", "geo.country_iso_code", lambda iso: f"{names[iso]} ({iso})"),
            ("asns-chart", "as.number", lambda number: f"AS{number} {_asn_org(run.events, number)}".strip()),
            ("organizations-chart", "as.organization.name", lambda name: name)):
        expected = {side: {label(k): v for k, v in counts.items()}
                    for side, counts in _side_counts(run.events, path).items()}
        drawn = {t["name"]: {y: x for y, x in zip(t["y"], t["x"], strict=True) if x}
                 for t in _chart(opened.page, chart)}
        assert drawn == expected, chart
        points = sum(len(t["x"]) for t in _chart(opened.page, chart))  # both sides' rows: a zero is an empty bar
        assert opened.page.locator(f"#{chart} .barlayer .point path").count() == points
        assert opened.page.locator(f"#{chart} .barlayer .point path:not([d='M0,0Z'])").count() == sum(
            len(v) for v in expected.values()) > 0


def _asn_org(events: list[dict[str, Any]], number: int) -> str:
    return next((org for e in events for s in ("source", "destination")
                 if _get(e, f"{s}.as.number") == number and (org := _get(e, f"{s}.as.organization.name"))), "")


def _hits(events: list[dict[str, Any]], virustotal: bool) -> dict[str, list[dict[str, Any]]]:
    """Per indicator, the events that matched it (once each), in file order."""
    behind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        keys = {(t["indicator"]["provider"], t["matched"]["atomic"]) for t in _get(event, "threat.enrichments") or []
                if (t["indicator"]["provider"] == "virustotal") == virustotal}
        for provider, atomic in keys:
            behind[atomic if virustotal else f"{provider}|{atomic}"].append(event)
    return behind


def test_threat_list_hits_with_the_events_behind_them(run: Run, opened: Opened) -> None:
    expected = _hits(run.events, virustotal=False)
    assert set(expected) == {f"test-blocklist|{LISTED_IP}", "test-blocklist|89.160.20.112"}
    rows = _rows(opened.page, "threat-hits")
    assert {key: int(row["events"]) for key, row in rows.items()} == {k: len(v) for k, v in expected.items()}
    for key, behind in expected.items():
        shown = opened.page.evaluate(
            """key => [...document.querySelector(`[data-table="threat-hits"] tr[data-key="${key}"]`)
                       .nextElementSibling.querySelectorAll('table.events tbody tr')]
                      .map(tr => tr.dataset.timestamp)""",
            key)
        assert shown == [e["@timestamp"] for e in behind[:5]]


def test_virustotal_detections_with_the_events_behind_them(run: Run, opened: Opened) -> None:
    expected = _hits(run.events, virustotal=True)
    assert set(expected) == {MALICIOUS, TROJAN}  # the clean file is no hit
    rows = _rows(opened.page, "virustotal-hits")
    assert {k: (int(r["events"]), int(r["detections"])) for k, r in rows.items()} == {
        MALICIOUS: (2, 53), TROJAN: (1, 7)}
    sources = opened.page.evaluate(
        f"""[...document.querySelector('[data-table="virustotal-hits"] tr[data-key="{MALICIOUS}"]')
             .nextElementSibling.querySelectorAll('table.events tbody tr td:nth-child(3)')]
             .map(td => td.textContent)""")
    assert sources == [f"{e['source']['ip']}:{e['source']['port']}" for e in expected[MALICIOUS]]


def test_shodan_ports_and_cves_of_contacted_hosts(run: Run, opened: Opened) -> None:
    contacted = {e["destination"]["ip"]: facts for e in run.events if (facts := _get(e, "botes.destination.shodan"))}
    assert set(contacted) == {"81.2.69.160", "89.160.20.112"}
    events_to = Counter(e["destination"]["ip"] for e in run.events if _get(e, "botes.destination.shodan"))
    per_port = Counter({port: sum(events_to[ip] for ip, facts in contacted.items() if port in facts["ports"])
                        for facts in contacted.values() for port in facts["ports"]})
    hosts_per_port = Counter(port for facts in contacted.values() for port in facts["ports"])
    top = sorted(per_port, key=lambda port: (-per_port[port], -hosts_per_port[port], port))[:15]
    (trace,) = _chart(opened.page, "ports-chart")
    assert list(zip(trace["x"], trace["y"], trace["customdata"], strict=True)) == [
        (str(port), per_port[port], hosts_per_port[port]) for port in top]
    cves = _rows(opened.page, "cves")
    assert {cve: (int(row["hosts"]), row["examples"], int(row["events"])) for cve, row in cves.items()} == {
        cve: (1, "81.2.69.160", events_to["81.2.69.160"]) for cve in SHODAN_CVES}
    shown_hosts = _rows(opened.page, "shodan-hosts")
    assert {ip: (row["ports"], int(row["events"])) for ip, row in shown_hosts.items()} == {
        ip: (", ".join(map(str, facts["ports"])), events_to[ip]) for ip, facts in contacted.items()}


def _asset_events(events: list[dict[str, Any]], match: Any, sides: tuple[str, ...]) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        for side in sides:
            asset = _get(event, f"botes.{side}.asset")
            if asset and match(asset):
                found[_get(event, f"{side}.ip")][side] += 1
    return found


def test_traffic_from_and_to_critical_assets(run: Run, opened: Opened) -> None:
    expected = _asset_events(run.events, lambda a: a.get("criticality") == "Critical", ("source", "destination"))
    assert set(expected) == {"192.168.250.70", "fd00:10::10"}
    rows = _rows(opened.page, "critical")
    assert {ip: (int(r["outbound"]), int(r["inbound"])) for ip, r in rows.items()} == {
        ip: (c["source"], c["destination"]) for ip, c in expected.items()}


@pytest.mark.parametrize(("role", "table", "asset"), [("Scanner", "scanner", "192.168.250.100"),
                                                       ("Red Team", "red-team", "10.10.10.10")])
def test_scanner_and_red_team_events_each_in_their_own_panel(run: Run, opened: Opened, role: str, table: str,
                                                            asset: str) -> None:
    expected = _asset_events(run.events, lambda a: role in a.get("roles", []), ("source",))
    assert set(expected) == {asset}
    rows = _rows(opened.page, table)
    assert {ip: int(r["outbound"]) for ip, r in rows.items()} == {ip: c["source"] for ip, c in expected.items()}
    assert opened.page.locator(f'section[data-panel="{table}"] h2').inner_text() == f"Events from {role} assets"
    assert opened.page.locator(f'section[data-panel="{table}"] table.events tbody tr').count() == min(
        5, expected[asset]["source"])


def test_enrichment_failures_by_source(run: Run, opened: Opened) -> None:
    expected = Counter(pair for e in run.events
                       for pair in {f"{f['source']}|{f['reason']}" for f in _get(e, "botes.enrichment.failures") or []})
    assert expected and set(expected) == {"shodan|http 503"}
    rows = _rows(opened.page, "failures")
    assert {key: int(r["events"]) for key, r in rows.items()} == dict(expected)
    drawn = {t["name"]: dict(zip(t["y"], t["x"], strict=True)) for t in _chart(opened.page, "failures-chart")}
    assert drawn == {"http 503": {"shodan": expected["shodan|http 503"]}}


def test_timeline_of_events_per_source_type(run: Run, opened: Opened) -> None:
    expected = Counter(e["event"]["dataset"] for e in run.events)
    drawn = {t["name"]: sum(t["y"]) for t in _chart(opened.page, "timeline-chart")}
    assert drawn == dict(expected)
    firsts = {t["name"]: t["x"][0] for t in _chart(opened.page, "timeline-chart")}
    for dataset, first in firsts.items():  # each series starts in the minute of its first event
        earliest = min(e["@timestamp"] for e in run.events if e["event"]["dataset"] == dataset)
        assert first[:16] == earliest[:16]
    assert {k: int(r["events"]) for k, r in _rows(opened.page, "datasets").items()} == dict(expected)


def test_run_says_where_the_report_went(run: Run) -> None:
    text = " ".join(run.stderr.split())
    assert f"report of {len(run.events)} events -> {run.report}" in text
    assert run.report.stat().st_size < 10_000_000
