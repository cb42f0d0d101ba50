"""VirusTotal file reports (API v3 ``GET {url}/api/v3/files/{hash}``) for the file hashes of an event.

What goes where in the event, for a target such as ``file.hash.sha256``:

- ``botes.<hash owner>.virustotal.*``: the report, where the owner is the field set holding the hash
  (``botes.file.virustotal.*`` for ``file.hash.*``, ``botes.process.virustotal.*``,
  ``botes.process.parent.virustotal.*``, ``botes.dll.virustotal.*``): ``last_analysis_stats``
  (malicious, suspicious, undetected, harmless, timeout, confirmed_timeout, failure, type_unsupported),
  ``reputation``, ``type`` (type_description), ``type_tag``, ``meaningful_name``, ``names`` (the first
  five), ``threat_label`` (popular_threat_classification.suggested_threat_label), the ``sha256``,
  ``sha1`` and ``md5`` VirusTotal knows, ``size``, ``first_submission_date``, ``last_submission_date``,
  ``last_analysis_date``, ``last_modification_date`` (ISO 8601, UTC) and ``link`` (the report's page).
- ``threat.enrichments``: one ECS indicator-match entry when at least one engine says malicious or
  suspicious (a file with no detections adds none).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import vt  # type: ignore[import-untyped]

from pipeline.addresses import AddressClassifier
from pipeline.config import VirusTotalSettings
from pipeline.enrich.base import hash_targets, indicator_match, retry_after_seconds
from pipeline.errors import ConfigError
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target, set_path

__all__ = ["VirusTotalEnricher", "REPORT_FIELD", "file_report", "hash_owner", "detections", "engines"]

log = logging.getLogger(__name__)

REPORT_FIELD = "virustotal"  # results go to botes.<hash owner>.virustotal.*
_GUI_LINK = "https://www.virustotal.com/gui/file/{}"
_HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}", re.IGNORECASE)
_STATS = ("malicious", "suspicious", "undetected", "harmless", "timeout", "confirmed-timeout", "failure",
          "type-unsupported")
_VERDICTS = ("malicious", "suspicious", "undetected", "harmless")  # engines that gave an answer
_MAX_NAMES = 5
_DATES = ("first_submission_date", "last_submission_date", "last_analysis_date", "last_modification_date")
# Error codes from https://docs.virustotal.com/reference/errors
_UNAUTHORIZED = frozenset({"WrongCredentialsError", "AuthenticationRequiredError", "UserNotActiveError"})
_RATE_LIMITED = frozenset({"QuotaExceededError", "TooManyRequestsError"})


def hash_owner(field: str) -> str:
    """The field set a hash belongs to: ``process.parent.hash.md5`` -> ``process.parent``."""
    owner, sep, _ = field.rpartition(".hash.")
    return owner if sep else field


def detections(report: dict[str, Any]) -> int:
    """Engines that call the file malicious or suspicious."""
    stats = report.get("last_analysis_stats", {})
    return int(stats.get("malicious", 0)) + int(stats.get("suspicious", 0))


def engines(report: dict[str, Any]) -> int:
    """Engines that gave a verdict (not counting timeouts, failures and unsupported types)."""
    stats = report.get("last_analysis_stats", {})
    return sum(int(stats.get(verdict, 0)) for verdict in _VERDICTS)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> str | None:
    seconds = _count(value)
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def file_report(body: Any) -> dict[str, Any]:
    """The fields we keep from a ``{"data": <file object>}`` body; ValueError if it is not one."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != "file" or not isinstance(data.get("attributes"), dict):
        raise ValueError("not a VirusTotal file object")
    attributes: dict[str, Any] = data["attributes"]
    stats = attributes.get("last_analysis_stats")
    stats = stats if isinstance(stats, dict) else {}
    names = attributes.get("names")
    threat = attributes.get("popular_threat_classification")
    report: dict[str, Any] = {
        "sha256": _text(attributes.get("sha256")) or _text(data.get("id")),
        "sha1": _text(attributes.get("sha1")),
        "md5": _text(attributes.get("md5")),
        "size": _count(attributes.get("size")),
        "type": _text(attributes.get("type_description")),
        "type_tag": _text(attributes.get("type_tag")),
        "meaningful_name": _text(attributes.get("meaningful_name")),
        "names": [n for n in names if isinstance(n, str)][:_MAX_NAMES] if isinstance(names, list) else None,
        "reputation": _count(attributes.get("reputation")),
        "threat_label": _text(threat.get("suggested_threat_label")) if isinstance(threat, dict) else None,
        "last_analysis_stats": {name.replace("-", "_"): stats[name] for name in _STATS
                                if _count(stats.get(name)) is not None},
        **{name: _date(attributes.get(name)) for name in _DATES},
    }
    return {key: value for key, value in report.items() if value not in (None, [])}


def _confidence(report: dict[str, Any]) -> str:
    # This project's rule of thumb, not VirusTotal's: how many engines call the file malicious.
    malicious = int(report.get("last_analysis_stats", {}).get("malicious", 0))
    if malicious >= 10:
        return "High"
    return "Medium" if malicious >= 3 else "Low"


def _description(report: dict[str, Any]) -> str:
    stats = report.get("last_analysis_stats", {})
    text = f"{stats.get('malicious', 0)}/{engines(report)} engines flag the file as malicious"
    if stats.get("suspicious"):
        text += f", {stats['suspicious']} as suspicious"
    label = report.get("threat_label")
    return f"{label}: {text}" if label else text


def _indicator(target: Target, report: dict[str, Any]) -> dict[str, Any]:
    """The ECS threat.enrichments entry for a file that engines detect."""
    file: dict[str, Any] = {"hash": {kind: report[kind] for kind in ("sha256", "sha1", "md5") if kind in report}}
    if "size" in report:
        file["size"] = report["size"]
    if "meaningful_name" in report:
        file["name"] = report["meaningful_name"]
    indicator: dict[str, Any] = {
        "type": "file",
        "provider": REPORT_FIELD,
        "file": file,
        "description": _description(report),
        "confidence": _confidence(report),
        "scanner_stats": int(report.get("last_analysis_stats", {}).get("malicious", 0)),
        "first_seen": report.get("first_submission_date"),
        "last_seen": report.get("last_submission_date"),
        "modified_at": report.get("last_modification_date"),
        "reference": _GUI_LINK.format(report["sha256"]) if "sha256" in report else None,
    }
    return {
        "indicator": {key: value for key, value in indicator.items() if value is not None},
        "matched": indicator_match(target),
    }


class VirusTotalEnricher:
    """One ``vt.Client`` per enricher (and event loop), made on the first lookup; at most
    ``max_in_flight`` requests at a time, each bounded by ``timeout`` including the wait for a slot."""

    name = "virustotal"
    title = "VirusTotal file report"

    def __init__(self, settings: VirusTotalSettings, classifier: AddressClassifier | None = None) -> None:
        if settings.api_key is None or not settings.api_key.get_secret_value():
            raise ConfigError("virustotal.api_key: not set; set BOTES_VIRUSTOTAL__API_KEY")
        self._settings = settings
        self._client: Any = None  # vt.Client, bound to the loop it was made in
        self._connector: aiohttp.TCPConnector | None = None
        self._slots: asyncio.Semaphore | None = None
        self._refusal_logged = False

    def targets(self, event: Event) -> Iterable[Target]:
        """One hash per field set, the strongest present (sha256, then sha1, then md5): VirusTotal
        answers the same report for each, and every request counts against the key's quota."""
        owners: set[str] = set()
        for target in hash_targets(event):
            owner = hash_owner(target.field)
            if owner not in owners:
                owners.add(owner)
                yield target

    def _connect(self) -> tuple[Any, asyncio.Semaphore]:
        if self._client is None or self._slots is None:
            assert self._settings.api_key is not None  # checked in __init__
            self._connector = aiohttp.TCPConnector(limit=self._settings.max_in_flight)
            self._client = vt.Client(self._settings.api_key.get_secret_value(), agent="botes-pipeline",
                                     host=self._settings.url.rstrip("/"), connector=self._connector)
            self._slots = asyncio.Semaphore(self._settings.max_in_flight)
        return self._client, self._slots

    async def lookup(self, value: str) -> Outcome:
        if not _HASH.fullmatch(value):
            return Failed("not a file hash")  # VirusTotal names files by MD5, SHA-1 or SHA-256 only
        client, slots = self._connect()
        try:
            async with asyncio.timeout(self._settings.timeout), slots:
                return await self._fetch(client, value)
        except TimeoutError:
            return Failed("timeout")
        except aiohttp.ClientError:
            return Failed("unreachable")

    async def _fetch(self, client: Any, value: str) -> Outcome:
        # get_async rather than get_object_async: vt.APIError carries neither the HTTP status nor
        # the Retry-After header, and both decide the outcome here.
        response = await client.get_async("/files/{}", value)
        try:
            if response.status == 200:
                try:
                    return Found(file_report(await response.json_async()))
                except (ValueError, aiohttp.ContentTypeError):
                    return Failed("malformed response")
            return self._refusal(response.status, await self._error_code(client, response),
                                 response.headers.get("Retry-After"))
        finally:
            response.release()

    @staticmethod
    async def _error_code(client: Any, response: Any) -> str | None:
        """VirusTotal's error code (vt.APIError.code) from an error body, None if the body has none."""
        try:
            error = await client.get_error_async(response)
        except (ValueError, TypeError, KeyError, aiohttp.ContentTypeError):
            return None
        return error.code if isinstance(error, vt.APIError) and isinstance(error.code, str) else None

    def _refusal(self, status: int, code: str | None, retry_after: str | None) -> Outcome:
        if code == "NotFoundError":
            return NotFound()
        if status == 401 or code in _UNAUTHORIZED:
            if not self._refusal_logged:
                self._refusal_logged = True
                log.warning("virustotal refused the API key (%s); lookups fail until "
                            "BOTES_VIRUSTOTAL__API_KEY is fixed", code or f"http {status}")
            return Failed("unauthorized")
        if status == 429 or code in _RATE_LIMITED:
            return Failed("http 429", retry_after_seconds(retry_after))
        return Failed(f"http {status}")

    def fragment(self, target: Target, found: Found) -> Event:
        report = dict(found.data)
        if "sha256" in report:
            report["link"] = _GUI_LINK.format(report["sha256"])
        fragment: Event = {}
        set_path(fragment, f"botes.{hash_owner(target.field)}.{REPORT_FIELD}", report)
        if detections(found.data) > 0:
            fragment["threat"] = {"enrichments": [_indicator(target, found.data)]}
        return fragment

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        report = found.data
        stats = report.get("last_analysis_stats", {})
        return [
            ("malicious", f"{stats.get('malicious', 0)}/{engines(report)} engines"),
            ("suspicious", stats.get("suspicious", 0)),
            ("threat label", report.get("threat_label")),
            ("reputation", report.get("reputation")),
            ("type", report.get("type")),
            ("name", report.get("meaningful_name")),
            ("other names", report.get("names")),
            ("size", report.get("size")),
            ("sha256", report.get("sha256")),
            ("sha1", report.get("sha1")),
            ("md5", report.get("md5")),
            ("first submitted", report.get("first_submission_date")),
            ("last analysed", report.get("last_analysis_date")),
            ("link", _GUI_LINK.format(report["sha256"]) if "sha256" in report else None),
        ]

    async def aclose(self) -> None:
        client, connector = self._client, self._connector
        self._client = self._connector = self._slots = None
        if client is not None:
            await client.close_async()
        # The session owns the connector, but no session exists if no request was ever sent.
        if connector is not None and not connector.closed:
            await connector.close()
