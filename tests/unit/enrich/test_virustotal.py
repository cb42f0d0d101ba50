"""pipeline.enrich.virustotal: the real vt-py client against recorded VirusTotal API v3 bodies.

The bodies in tests/data/providers/virustotal/ are real VirusTotal answers (provenance in
tests/data/providers/README.md): three file reports, ``not_found.json`` (VirusTotal sends it with 404)
and ``wrong_key.json`` (sent with 401). The ``provider`` fixture serves them on loopback at
``/api/v3/files/<hash>``, the path vt-py builds from ``host``; expected values below are read off
those bodies, not off this code's output.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from pipeline.addresses import AddressClassifier
from pipeline.config import Settings, VirusTotalSettings
from pipeline.enrich.chain import EnrichmentChain
from pipeline.enrich.registry import build_enricher
from pipeline.enrich.scot import scot_enrichment
from pipeline.enrich.virustotal import VirusTotalEnricher, detections, engines, file_report, hash_owner
from pipeline.errors import ConfigError
from pipeline.events import Failed, Found, NotFound, Outcome, Target, get_path
from tests.fakes.ports import closed_port
from tests.fakes.provider import ProviderServer, Reply

DATA = Path(__file__).resolve().parents[2] / "data" / "providers" / "virustotal"
KEY = "vt-test-key-7f3a9c"  # must never show in a reason or a log line

WORD_MACRO = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"  # 53 malicious
DOS_COM = "0001a1252300b4732e4a010a5dd13a291dcb8b0ebee6febedb5152dfb0bcd488"     # 0 detections
DOTNET_EXE = "417c06700c3e899f0554654102fa064385bf1d3ecec32471ac488096d81bf38c"  # 7 malicious
MISSING = "fffdddd2c3dc06d147c5ddddddd5c7e6acda4d1f1369fbc994cddd3c19a2de88"

T = TypeVar("T")


def path(value: str) -> str:
    return f"/api/v3/files/{value}"


def serve_reports(server: ProviderServer) -> None:
    for sha256 in (WORD_MACRO, DOS_COM, DOTNET_EXE):
        server.reply(path(sha256), Reply.file(DATA / f"{sha256}.json"))
    server.reply(path(MISSING), Reply.file(DATA / "not_found.json", 404))


def settings(server: ProviderServer, **overrides: Any) -> VirusTotalSettings:
    values: dict[str, Any] = {"url": server.url, "api_key": SecretStr(KEY), "timeout": 2.0, **overrides}
    return VirusTotalSettings(**values)


def run(server: ProviderServer, use: Callable[[VirusTotalEnricher], Awaitable[T]], **overrides: Any) -> T:
    """Build the enricher, use it and close it, all inside one event loop (its client binds to it)."""

    async def main() -> T:
        enricher = VirusTotalEnricher(settings(server, **overrides), AddressClassifier())
        try:
            return await use(enricher)
        finally:
            await enricher.aclose()

    return asyncio.run(main())


def lookup(server: ProviderServer, value: str, **overrides: Any) -> Outcome:
    return run(server, lambda e: e.lookup(value), **overrides)


def found(server: ProviderServer, value: str) -> dict[str, Any]:
    outcome = lookup(server, value)
    assert isinstance(outcome, Found), outcome
    return outcome.data


def offline() -> VirusTotalEnricher:
    """For the pure methods: nothing is contacted until a lookup."""
    return VirusTotalEnricher(VirusTotalSettings(api_key=SecretStr(KEY)), AddressClassifier())


def report_of(sha256: str) -> Found:
    """The Found a lookup gives for a recorded report, without a server (for the pure methods)."""
    return Found(file_report(json.loads((DATA / f"{sha256}.json").read_text())))


class TestLookup:
    def test_detected_word_macro_virus(self, provider: ProviderServer) -> None:
        serve_reports(provider)
        data = found(provider, WORD_MACRO)
        assert data["last_analysis_stats"] == {
            "malicious": 53, "suspicious": 0, "undetected": 9, "harmless": 0, "timeout": 0,
            "confirmed_timeout": 0, "failure": 0, "type_unsupported": 13}
        assert data["threat_label"] == "virus.hill/w97m"
        assert data["reputation"] == 0
        assert data["type"] == "MS Word Document"
        assert data["type_tag"] == "doc"
        assert data["meaningful_name"] == "cDCUTY.tmp"
        assert data["names"] == ["cDCUTY.tmp", "b214da9f6b0d6e6de5090b3f9672defe", "aa",
                                 "b214da9f6b0d6e6de5090b3f9672defeb7162dfcbcac2724c71c03385abe577e1ab0cd8d64000.exe",
                                 "VirusShare_b214da9f6b0d6e6de5090b3f9672defe"]  # first 5 of 11
        assert data["sha256"] == WORD_MACRO
        assert data["md5"] == "b214da9f6b0d6e6de5090b3f9672defe"
        assert data["sha1"] == "b7162dfcbcac2724c71c03385abe577e1ab0cd8d"
        assert data["size"] == 64000
        assert data["last_analysis_date"] == "2020-04-10T19:24:05Z"
        assert data["first_submission_date"] == "2007-10-26T04:11:58Z"
        assert data["last_submission_date"] == "2018-07-26T14:15:30Z"
        assert data["last_modification_date"] == "2022-09-16T15:14:06Z"

    def test_request_path_and_key_header(self, provider: ProviderServer) -> None:
        serve_reports(provider)
        found(provider, WORD_MACRO)
        [request] = provider.calls()
        assert (request.method, request.path) == ("GET", f"/api/v3/files/{WORD_MACRO}")
        assert request.headers["X-Apikey"] == KEY

    def test_url_with_trailing_slash(self, provider: ProviderServer) -> None:
        serve_reports(provider)
        outcome = lookup(provider, DOS_COM, url=provider.url + "/")
        assert isinstance(outcome, Found)
        assert [r.path for r in provider.calls()] == [path(DOS_COM)]

    def test_clean_file_has_no_threat_label(self, provider: ProviderServer) -> None:
        serve_reports(provider)
        data = found(provider, DOS_COM)
        assert data["last_analysis_stats"]["malicious"] == 0
        assert data["last_analysis_stats"]["timeout"] == 1
        assert "threat_label" not in data
        assert data["type"] == "DOS COM"
        assert data["names"] == ["VirusShare_119aef5280f0d609dc5b30d454c1b94c"]

    def test_md5_and_sha1_are_looked_up_as_given(self, provider: ProviderServer) -> None:
        md5 = "772d8e55f1010beafb6c6472ba3a4d69"
        sha1 = "b983ce6bb2f25d7250eb5cf38b3332d27c3b39a7"
        for value in (md5, sha1):
            provider.reply(path(value), Reply.file(DATA / f"{DOTNET_EXE}.json"))
        assert found(provider, md5)["sha256"] == DOTNET_EXE
        assert found(provider, sha1)["md5"] == md5
        assert [r.path for r in provider.calls()] == [path(md5), path(sha1)]

    def test_not_found_is_a_result(self, provider: ProviderServer) -> None:
        serve_reports(provider)
        assert lookup(provider, MISSING) == NotFound()

    def test_404_without_virustotal_error_is_a_failure(self, provider: ProviderServer) -> None:
        # e.g. a wrong `url`: caching "not found" for every hash would hide it for negative_ttl
        assert lookup(provider, MISSING) == Failed("http 404")  # the fixture's default 404 body

    def test_wrong_key(self, provider: ProviderServer, caplog: pytest.LogCaptureFixture) -> None:
        provider.default = Reply.file(DATA / "wrong_key.json", 401)
        caplog.set_level(logging.DEBUG)

        async def twice(enricher: VirusTotalEnricher) -> list[Outcome]:
            return [await enricher.lookup(WORD_MACRO), await enricher.lookup(DOS_COM)]

        outcomes = run(provider, twice)
        assert outcomes == [Failed("unauthorized"), Failed("unauthorized")]
        refusals = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refusals) == 1 and "WrongCredentialsError" in refusals[0].getMessage()
        assert KEY not in caplog.text
        assert all(KEY not in str(o) for o in outcomes)

    def test_authentication_required_without_status_401(self, provider: ProviderServer) -> None:
        body = b'{"error": {"code": "AuthenticationRequiredError", "message": "x"}}'
        provider.default = Reply(403, body)
        assert lookup(provider, WORD_MACRO) == Failed("unauthorized")

    def test_rate_limited_with_retry_after_seconds(self, provider: ProviderServer) -> None:
        body = b'{"error": {"code": "QuotaExceededError", "message": "Quota exceeded"}}'
        provider.default = Reply(429, body, {"Content-Type": "application/json", "Retry-After": "7"})
        assert lookup(provider, WORD_MACRO) == Failed("http 429", 7.0)

    def test_rate_limited_with_retry_after_date(self, provider: ProviderServer) -> None:
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
        provider.default = Reply(429, b"slow down", {"Content-Type": "text/plain", "Retry-After": when})
        outcome = lookup(provider, WORD_MACRO)
        assert isinstance(outcome, Failed) and outcome.reason == "http 429"
        assert outcome.retry_after is not None and 100 < outcome.retry_after <= 120

    def test_rate_limited_without_retry_after(self, provider: ProviderServer) -> None:
        provider.default = Reply(429, b'{"error": {"code": "TooManyRequestsError", "message": "x"}}')
        assert lookup(provider, WORD_MACRO) == Failed("http 429", None)

    def test_quota_code_is_rate_limiting_whatever_the_status(self, provider: ProviderServer) -> None:
        provider.default = Reply(403, b'{"error": {"code": "QuotaExceededError", "message": "x"}}')
        assert lookup(provider, WORD_MACRO) == Failed("http 429", None)

    @pytest.mark.parametrize("status", [500, 503])
    def test_server_error(self, provider: ProviderServer, status: int) -> None:
        provider.default = Reply(status, b"<html>backend error</html>", {"Content-Type": "text/html"})
        assert lookup(provider, WORD_MACRO) == Failed(f"http {status}")

    def test_other_client_error(self, provider: ProviderServer) -> None:
        provider.default = Reply(400, b'{"error": {"code": "BadRequestError", "message": "x"}}')
        assert lookup(provider, WORD_MACRO) == Failed("http 400")

    @pytest.mark.parametrize("reply", [
        Reply(200, b'{"data": {"type": "file", "attrib'),                      # cut short
        Reply(200, b"<html>maintenance</html>", {"Content-Type": "text/html"}),  # not JSON
        Reply(200, b'{"error": {"code": "NotFoundError"}}'),                   # no data
        Reply(200, b'{"data": {"type": "url", "id": "x", "attributes": {}}}'),  # not a file
        Reply(200, b'{"data": {"type": "file", "id": "x", "attributes": []}}'),
        Reply(200, b"[1, 2]"),
    ], ids=["truncated", "html", "no-data", "not-a-file", "attributes-list", "list"])
    def test_malformed_body(self, provider: ProviderServer, reply: Reply) -> None:
        provider.default = reply
        assert lookup(provider, WORD_MACRO) == Failed("malformed response")

    def test_malformed_error_body_falls_back_to_the_status(self, provider: ProviderServer) -> None:
        provider.default = Reply(404, b"{not json")
        assert lookup(provider, WORD_MACRO) == Failed("http 404")

    def test_hang_times_out_inside_lookup(self, provider: ProviderServer) -> None:
        # The recorded report, held until the test ends: a lookup that ignored its timeout would get it.
        provider.default = Reply(200, (DATA / f"{WORD_MACRO}.json").read_bytes(), gate=threading.Event())
        started = time.monotonic()
        assert lookup(provider, WORD_MACRO, timeout=0.2) == Failed("timeout")
        assert time.monotonic() - started >= 0.2

    def test_connection_refused(self, provider: ProviderServer) -> None:
        assert lookup(provider, WORD_MACRO, url=f"http://127.0.0.1:{closed_port()}") == Failed("unreachable")

    def test_not_a_hash_is_not_sent(self, provider: ProviderServer) -> None:
        for value in ("", "abc", "../users/me", f"{WORD_MACRO}?x=1", "z" * 64):
            assert lookup(provider, value) == Failed("not a file hash")
        assert provider.calls() == []

    def test_requests_in_flight_are_bounded(self, provider: ProviderServer) -> None:
        for value in ("a" * 64, "b" * 64, "c" * 64):
            provider.reply(path(value), Reply(404, (DATA / "not_found.json").read_bytes(), hang=0.15))

        async def together(enricher: VirusTotalEnricher) -> list[Outcome]:
            return list(await asyncio.gather(*(enricher.lookup(v) for v in ("a" * 64, "b" * 64, "c" * 64))))

        started = time.monotonic()
        assert run(provider, together, max_in_flight=1) == [NotFound()] * 3
        assert time.monotonic() - started >= 0.45  # one at a time: three server-side waits in a row

    def test_one_client_for_many_lookups(self, provider: ProviderServer) -> None:
        serve_reports(provider)

        async def many(enricher: VirusTotalEnricher) -> int:
            clients = set()
            for value in (WORD_MACRO, DOS_COM, DOTNET_EXE):
                assert isinstance(await enricher.lookup(value), Found)
                clients.add(id(enricher._client))
            return len(clients)

        assert run(provider, many) == 1
        assert len(provider.calls()) == 3

    def test_key_never_in_reasons_or_logs(self, provider: ProviderServer, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        replies = [Reply.file(DATA / "wrong_key.json", 401), Reply(429, b"x"), Reply(500, b"x"),
                   Reply(200, b"x"), Reply(200, b"{}", hang=1.0)]
        for reply in replies:
            provider.default = reply
            outcome = lookup(provider, WORD_MACRO, timeout=0.2)
            assert isinstance(outcome, Failed) and KEY not in repr(outcome)
        assert KEY not in caplog.text


class TestConstruction:
    def test_api_key_is_required(self) -> None:
        with pytest.raises(ConfigError, match="BOTES_VIRUSTOTAL__API_KEY"):
            VirusTotalEnricher(VirusTotalSettings(), AddressClassifier())
        with pytest.raises(ConfigError):
            VirusTotalEnricher(VirusTotalSettings(api_key=SecretStr("")), AddressClassifier())

    def test_built_by_the_registry(self) -> None:
        enricher = build_enricher("virustotal", Settings(virustotal=VirusTotalSettings(api_key=SecretStr(KEY))),
                                  AddressClassifier())
        assert isinstance(enricher, VirusTotalEnricher)
        assert KEY not in repr(vars(enricher))

    def test_close_without_lookup(self) -> None:
        asyncio.run(offline().aclose())


class TestTargets:
    def test_strongest_hash_per_field_set(self) -> None:
        event = {
            "file": {"hash": {"md5": "B214DA9F6B0D6E6DE5090B3F9672DEFE", "sha256": WORD_MACRO}},
            "process": {"hash": {"md5": "772d8e55f1010beafb6c6472ba3a4d69"},
                        "parent": {"hash": {"sha1": "b983ce6bb2f25d7250eb5cf38b3332d27c3b39a7",
                                            "md5": "119aef5280f0d609dc5b30d454c1b94c"}}},
            "dll": {"hash": {"sha256": DOS_COM}},
        }
        assert list(offline().targets(event)) == [
            Target("file.hash.sha256", WORD_MACRO),
            Target("process.hash.md5", "772d8e55f1010beafb6c6472ba3a4d69"),
            Target("process.parent.hash.sha1", "b983ce6bb2f25d7250eb5cf38b3332d27c3b39a7"),
            Target("dll.hash.sha256", DOS_COM),
        ]

    def test_md5_alone_lowercased(self) -> None:
        event = {"file": {"hash": {"md5": " B214DA9F6B0D6E6DE5090B3F9672DEFE "}}}
        assert list(offline().targets(event)) == [Target("file.hash.md5", "b214da9f6b0d6e6de5090b3f9672defe")]

    def test_no_hashes(self) -> None:
        event = {"source": {"ip": "8.8.8.8"}, "file": {"name": "a.exe", "hash": {"sha256": "  "}}}
        assert list(offline().targets(event)) == []

    def test_hash_owner(self) -> None:
        assert hash_owner("file.hash.sha256") == "file"
        assert hash_owner("process.parent.hash.md5") == "process.parent"


class TestFragment:
    def test_detected_file(self) -> None:
        target = Target("file.hash.sha256", WORD_MACRO)
        fragment = offline().fragment(target, report_of(WORD_MACRO))
        report = fragment["botes"]["file"]["virustotal"]
        assert report["last_analysis_stats"]["malicious"] == 53
        assert report["threat_label"] == "virus.hill/w97m"
        assert report["link"] == f"https://www.virustotal.com/gui/file/{WORD_MACRO}"
        assert fragment["threat"] == {"enrichments": [{
            "indicator": {
                "type": "file",
                "provider": "virustotal",
                "file": {"hash": {"sha256": WORD_MACRO, "sha1": "b7162dfcbcac2724c71c03385abe577e1ab0cd8d",
                                  "md5": "b214da9f6b0d6e6de5090b3f9672defe"},
                         "size": 64000, "name": "cDCUTY.tmp"},
                "description": "virus.hill/w97m: 53/62 engines flag the file as malicious",
                "confidence": "High",
                "scanner_stats": 53,
                "first_seen": "2007-10-26T04:11:58Z",
                "last_seen": "2018-07-26T14:15:30Z",
                "modified_at": "2022-09-16T15:14:06Z",
                "reference": f"https://www.virustotal.com/gui/file/{WORD_MACRO}",
            },
            "matched": {"atomic": WORD_MACRO, "field": "file.hash.sha256", "type": "indicator_match_rule"},
        }]}
        assert set(fragment) == {"botes", "threat"}

    def test_few_detections_medium_confidence(self) -> None:
        md5 = "772d8e55f1010beafb6c6472ba3a4d69"
        fragment = offline().fragment(Target("process.hash.md5", md5), report_of(DOTNET_EXE))
        [entry] = fragment["threat"]["enrichments"]
        assert entry["indicator"]["description"] == "trojan.: 7/72 engines flag the file as malicious"
        assert entry["indicator"]["confidence"] == "Medium"
        assert entry["matched"] == {"atomic": md5, "field": "process.hash.md5", "type": "indicator_match_rule"}
        assert fragment["botes"]["process"]["virustotal"]["sha256"] == DOTNET_EXE

    def test_clean_file_adds_no_threat_entry(self) -> None:
        found = report_of(DOS_COM)
        assert detections(found.data) == 0 and engines(found.data) == 60
        fragment = offline().fragment(Target("dll.hash.sha256", DOS_COM), found)
        assert "threat" not in fragment
        assert fragment["botes"]["dll"]["virustotal"]["type"] == "DOS COM"

    def test_suspicious_only_is_a_low_confidence_indicator(self) -> None:
        found = Found({"sha256": DOS_COM, "last_analysis_stats": {"malicious": 0, "suspicious": 2,
                                                                   "undetected": 58, "harmless": 0}})
        [entry] = offline().fragment(Target("file.hash.sha256", DOS_COM), found)["threat"]["enrichments"]
        assert entry["indicator"]["description"] == "0/60 engines flag the file as malicious, 2 as suspicious"
        assert entry["indicator"]["confidence"] == "Low"

    def test_parent_process_path(self) -> None:
        fragment = offline().fragment(Target("process.parent.hash.sha256", DOS_COM), report_of(DOS_COM))
        assert get_path(fragment, "botes.process.parent.virustotal.sha256") == DOS_COM

    def test_fragment_does_not_change_the_found_data(self) -> None:
        found = report_of(WORD_MACRO)
        before = dict(found.data)
        offline().fragment(Target("file.hash.sha256", WORD_MACRO), found)
        assert found.data == before


class TestSummary:
    def test_rows_and_markdown(self) -> None:
        enricher = offline()
        found = report_of(WORD_MACRO)
        rows = dict(enricher.summary_rows(found))
        assert rows["malicious"] == "53/62 engines"
        assert rows["threat label"] == "virus.hill/w97m"
        assert rows["type"] == "MS Word Document"
        assert rows["md5"] == "b214da9f6b0d6e6de5090b3f9672defe"
        markdown = scot_enrichment(enricher, WORD_MACRO, found)["data"]["markdown"]
        assert "| malicious | 53/62 engines |" in markdown
        assert "| other names | cDCUTY.tmp, b214da9f6b0d6e6de5090b3f9672defe, aa," in markdown

    def test_failure_markdown(self) -> None:
        enrichment = scot_enrichment(offline(), WORD_MACRO, Failed("http 429", 30))
        assert enrichment["description"] == f"VirusTotal file report could not be looked up for {WORD_MACRO}: http 429"


class TestInChain:
    def test_event_gets_report_and_appended_threat_entry(self, provider: ProviderServer) -> None:
        serve_reports(provider)
        existing = {"indicator": {"provider": "local-feed", "type": "file"},
                    "matched": {"atomic": WORD_MACRO, "field": "file.hash.sha256", "type": "indicator_match_rule"}}
        event = {"file": {"hash": {"sha256": WORD_MACRO}}, "dll": {"hash": {"sha256": DOS_COM}},
                 "threat": {"enrichments": [existing]}}

        async def enrich(enricher: VirusTotalEnricher) -> dict[str, Any]:
            return await EnrichmentChain([enricher]).enrich(event)

        enriched = run(provider, enrich)
        assert get_path(enriched, "botes.file.virustotal.threat_label") == "virus.hill/w97m"
        assert get_path(enriched, "botes.dll.virustotal.last_analysis_stats.malicious") == 0
        entries = enriched["threat"]["enrichments"]
        assert [e["indicator"]["provider"] for e in entries] == ["local-feed", "virustotal"]
        assert "botes" not in enriched or "enrichment" not in enriched["botes"]
