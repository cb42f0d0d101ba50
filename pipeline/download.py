"""`botes download`: the public BOTES files (``botesv1.<type>.json.gz``), resumable, for users with internet.

The remote names are those of the NybbleHub/BOTES README's download table (Splunk spellings such as
``botesv1.WinEventLog-Security.json.gz``). Files are saved under the normaliser's own type names
(``botesv1.wineventlog-security.json.gz``), which ``botes replay`` and the Logstash pipelines look for.
A download is written to ``<name>.part`` and renamed when complete; a ``.part`` left by a cut download is
resumed with an HTTP Range request (or started again when the server ignores the range).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests

from pipeline.config import DownloadSettings
from pipeline.errors import ConfigError, PipelineError

__all__ = ["REMOTE_NAMES", "BotesDownload", "DownloadError", "DownloadProgress", "planned_downloads",
           "download_file"]

# Source type (the normaliser's name) -> file name in the public BOTES bucket.
REMOTE_NAMES: dict[str, str] = {
    "fgt_event": "botesv1.fgt_event.json.gz",
    "fgt_traffic": "botesv1.fgt_traffic.json.gz",
    "fgt_utm": "botesv1.fgt_utm.json.gz",
    "iis": "botesv1.iis.json.gz",
    "nessus-scan": "botesv1.nessus-scan.json.gz",
    **{f"stream-{kind}": f"botesv1.stream-{kind}.json.gz"
       for kind in ("dhcp", "dns", "http", "icmp", "ip", "ldap", "mapi", "sip", "smb", "snmp", "tcp")},
    "suricata": "botesv1.suricata.json.gz",
    "wineventlog-application": "botesv1.WinEventLog-Application.json.gz",
    "wineventlog-security": "botesv1.WinEventLog-Security.json.gz",
    "wineventlog-system": "botesv1.WinEventLog-System.json.gz",
    "winregistry": "botesv1.winregistry.json.gz",
    "xmlwineventlog": "botesv1.XmlWinEventLog-Microsoft-Windows-Sysmon-Operational.json.gz",
}
_CHUNK = 1 << 16


class DownloadError(PipelineError):
    """A file could not be fetched (offline, HTTP error, cut connection); what was fetched is kept."""


class DownloadProgress(Protocol):
    def started(self, name: str, total: int | None, already: int) -> None: ...
    def advanced(self, size: int) -> None: ...


@dataclass(frozen=True, slots=True)
class BotesDownload:
    source_type: str
    url: str
    path: Path


def planned_downloads(types: Iterable[str] | None, directory: Path, settings: DownloadSettings
                      ) -> list[BotesDownload]:
    """What to fetch for ``types`` (all when None) into ``directory``; ConfigError names an unknown type."""
    wanted = list(types) if types is not None else list(REMOTE_NAMES)
    unknown = [t for t in wanted if t not in REMOTE_NAMES]
    if unknown:
        raise ConfigError(f"--types: unknown {', '.join(unknown)} (known: {', '.join(REMOTE_NAMES)})")
    base = settings.base_url.rstrip("/")
    return [BotesDownload(t, f"{base}/{REMOTE_NAMES[t]}", directory / f"botesv1.{t}.json.gz")
            for t in dict.fromkeys(wanted)]


def _total_size(response: requests.Response, offset: int) -> int | None:
    """The whole file's size from Content-Range (a resumed download) or Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if response.status_code == 206 and "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return int(length) + offset if length is not None else None


def download_file(session: requests.Session, item: BotesDownload, settings: DownloadSettings,
                  progress: DownloadProgress) -> int:
    """Fetch one file (resuming its ``.part``); returns the bytes fetched by this call."""
    part = item.path.with_name(item.path.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    host = urlsplit(item.url).netloc
    connected = False
    try:
        with session.get(item.url, headers=headers, stream=True,
                         timeout=(settings.connect_timeout, settings.read_timeout)) as response:
            connected = True
            if response.status_code == 416 and offset:   # the .part already holds the whole file
                part.replace(item.path)
                return 0
            if response.status_code not in (200, 206):
                raise DownloadError(f"{item.url}: HTTP {response.status_code} {response.reason}")
            if response.status_code == 200:              # the server ignored the range: start again
                offset = 0
            total = _total_size(response, offset)
            progress.started(item.path.name, total, offset)
            fetched = 0
            with part.open("ab" if offset else "wb") as out:
                for chunk in response.iter_content(_CHUNK):
                    out.write(chunk)
                    fetched += len(chunk)
                    progress.advanced(len(chunk))
    except requests.RequestException as exc:
        if not connected:
            raise DownloadError(f"cannot reach {host} ({type(exc).__name__}): are you offline? "
                                f"(download.base_url is {settings.base_url})") from None
        kept = part.stat().st_size if part.exists() else 0
        raise DownloadError(f"{item.path.name}: the download from {host} was cut ({type(exc).__name__}); "
                            f"{kept} bytes kept in {part.name}, run again to resume") from None
    if total is not None and part.stat().st_size != total:
        raise DownloadError(f"{item.path.name}: got {part.stat().st_size} of {total} bytes from {host}; "
                            "run again to resume")
    part.replace(item.path)
    return fetched
