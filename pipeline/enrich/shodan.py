"""Shodan host lookups for public addresses: open ports, hostnames, OS, ISP/org, vulns, last update, and
per service (banner) its port, transport, module, product, version, HTTP title and TLS subject.

The official ``shodan`` client is synchronous (``requests``), so each lookup runs in a worker thread,
at most ``max_in_flight`` at a time. Shodan has no ECS home: results go under
``botes.<field>.shodan.*`` (e.g. ``botes.destination.shodan.ports``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import requests
import shodan  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter

from pipeline.addresses import AddressClassifier, Scope, parse_ip
from pipeline.config import ShodanSettings
from pipeline.enrich.base import address_targets, retry_after_seconds
from pipeline.errors import ConfigError
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target, parse_timestamp

__all__ = ["ShodanEnricher"]

log = logging.getLogger(__name__)

# Shodan's answer (HTTP 404) for an address it has never seen.
_NOT_FOUND = "No information available"


@dataclass(frozen=True, slots=True)
class _Reply:
    """What one call of the client gave: the host record, or the error text with the last HTTP response."""

    host: Any = None
    error: str | None = None
    status: int | None = None        # of the last HTTP response, if there was one
    retry_after: str | None = None   # its Retry-After header
    timed_out: bool = False          # requests gave up waiting (no response at all)


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request a connect and a read timeout. The shodan client passes none, and a worker
    thread stuck on a silent server cannot be killed, only waited for."""

    def __init__(self, timeout: float, connections: int) -> None:
        super().__init__(pool_maxsize=connections)  # one kept-alive connection per worker thread
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float | None, float | None] | None = None, verify: bool | str = True,
             cert: str | tuple[str, str] | None = None, proxies: dict[str, str] | None = None
             ) -> requests.Response:
        return super().send(request, stream=stream, timeout=self._timeout if timeout is None else timeout,
                            verify=verify, cert=cert, proxies=proxies)


class _HostClient:
    """One ``shodan.Shodan`` client shared by the worker threads.

    The client raises ``APIError`` with a message only (the body's "error" text, or its own text for
    401/403/502 and unparsable bodies), never the status or headers; so a response hook keeps, per
    thread, the status and Retry-After of the last response.
    """

    def __init__(self, settings: ShodanSettings, api_key: str) -> None:
        self._client = shodan.Shodan(api_key)
        self._client.base_url = settings.url.rstrip("/")
        # The client sleeps in the calling thread to stay under 1 request/s, without a lock: under
        # concurrency it only holds worker threads. Shodan's own 429 (with Retry-After) is the limit.
        self._client.api_rate_limit = 0
        # _session is the requests.Session the client sends everything through (shodan >= 1.22).
        session = self._client._session
        # requests times connect and each read separately, so this cannot bound a whole call: it only
        # ends a stuck thread. Twice the lookup's timeout, so the lookup's own deadline fires first.
        adapter = _TimeoutAdapter(2 * settings.timeout, settings.max_in_flight)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.hooks["response"].append(self._remember)
        self._last = threading.local()

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = (response.status_code, response.headers.get("Retry-After"))

    def host(self, ip: str) -> _Reply:
        """Runs in a worker thread."""
        self._last.response = None
        try:
            return _Reply(host=self._client.host(ip))
        except shodan.APIError as exc:
            status, retry_after = self._last.response or (None, None)
            # The client replaces requests' exception with "Unable to connect to Shodan"; the
            # original stays as the implicit context.
            timed_out = isinstance(exc.__context__, requests.exceptions.Timeout)
            return _Reply(error=str(exc.value), status=status, retry_after=retry_after, timed_out=timed_out)

    def close(self) -> None:
        self._client._session.close()


def _strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return sorted({v.strip() for v in values if isinstance(v, str) and v.strip()})


def _ports(host: dict[str, Any]) -> list[int]:
    ports = {p for p in host.get("ports") or [] if isinstance(p, int)}
    ports |= {b["port"] for b in _banners(host) if isinstance(b.get("port"), int)}
    return sorted(ports)


def _banners(host: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in host.get("data") or [] if isinstance(b, dict)]


def _vulns(host: dict[str, Any]) -> list[str]:
    """CVE ids: the host's list (a dict keyed by CVE in some answers) plus each banner's."""
    found: set[str] = set()
    for source in (host, *_banners(host)):
        vulns = source.get("vulns")
        if isinstance(vulns, dict | list):
            found.update(v.strip().upper() for v in vulns if isinstance(v, str) and v.strip())
    return sorted(found)


def _as_number(value: Any) -> int | None:
    text = str(value or "").strip().upper().removeprefix("AS")
    return int(text) if text.isdigit() else None


def _utc(value: Any) -> str | None:
    """Shodan's timestamps carry no zone and are UTC."""
    when = parse_timestamp(value)
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


_MAX_SERVICES = 50


def _services(host: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per banner (port, transport, Shodan's module name, product, version, HTTP title, TLS
    subject CN), by port; at most ``_MAX_SERVICES``."""
    services: list[dict[str, Any]] = []
    for banner in _banners(host):
        if not isinstance(banner.get("port"), int):
            continue
        http, ssl, meta = banner.get("http"), banner.get("ssl"), banner.get("_shodan")
        cert = ssl.get("cert") if isinstance(ssl, dict) else None
        subject = cert.get("subject") if isinstance(cert, dict) else None
        service = {
            "port": banner["port"],
            "transport": banner.get("transport"),
            "module": meta.get("module") if isinstance(meta, dict) else None,
            "product": banner.get("product"),
            "version": banner.get("version"),
            "http_title": http.get("title") if isinstance(http, dict) else None,
            "tls_subject_cn": subject.get("CN") if isinstance(subject, dict) else None,
        }
        services.append({k: v for k, v in service.items() if isinstance(v, int | str) and v != ""})
    services.sort(key=lambda s: (s["port"], str(s.get("transport", ""))))
    return services[:_MAX_SERVICES]


def _host_facts(host: dict[str, Any]) -> dict[str, Any]:
    """The part of a Shodan host record that goes into an event (``botes.<field>.shodan``)."""
    facts: dict[str, Any] = {
        "ports": _ports(host),
        "hostnames": _strings(host.get("hostnames")),
        "domains": _strings(host.get("domains")),
        "os": host.get("os"),
        "isp": host.get("isp"),
        "org": host.get("org"),
        "asn": _as_number(host.get("asn")),
        "vulns": _vulns(host),
        "tags": _strings(host.get("tags")),
        "last_update": _utc(host.get("last_update")),
        "services": _services(host),
    }
    return {key: value for key, value in facts.items() if value not in (None, "", [])}


class ShodanEnricher:
    name = "shodan"
    title = "Shodan host"

    def __init__(self, settings: ShodanSettings, classifier: AddressClassifier) -> None:
        if settings.api_key is None:
            raise ConfigError("shodan.api_key: not set; set BOTES_SHODAN__API_KEY")
        self._classifier = classifier
        self._timeout = settings.timeout
        self._client = _HostClient(settings, settings.api_key.get_secret_value())
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        # Its own threads: asyncio.to_thread's default pool has min(32, cores + 4) of them (6 on 2 cores),
        # which would cap calls in flight far below max_in_flight.
        self._threads = ThreadPoolExecutor(settings.max_in_flight, thread_name_prefix="shodan")
        self._running: set[asyncio.Future[_Reply]] = set()
        self._refusal_logged = False

    def targets(self, event: Event) -> Iterable[Target]:
        return address_targets(event, self._classifier, Scope.PUBLIC)

    async def lookup(self, value: str) -> Outcome:
        address = parse_ip(value)
        if address is None:
            return Failed("not an IP address")
        try:
            async with asyncio.timeout(self._timeout):
                reply = await self._call(str(address))
        except TimeoutError:
            return Failed("timeout")
        return self._outcome(reply)

    async def _call(self, ip: str) -> _Reply:
        await self._slots.acquire()
        call = asyncio.get_running_loop().run_in_executor(self._threads, self._client.host, ip)
        self._running.add(call)
        call.add_done_callback(self._finished)
        # On timeout the thread runs on (it cannot be killed) and keeps its slot until it returns:
        # the shield stops the timeout from cancelling the task, so the slot is released only then.
        return await asyncio.shield(call)

    def _finished(self, call: asyncio.Future[_Reply]) -> None:
        self._running.discard(call)
        self._slots.release()
        if not call.cancelled():
            call.exception()  # a late failure nobody awaits any more is not "never retrieved"

    def _outcome(self, reply: _Reply) -> Outcome:
        if reply.error is None:
            if not isinstance(reply.host, dict):
                return Failed("malformed response")
            return Found(_host_facts(reply.host))
        return self._failure(reply)

    def _failure(self, reply: _Reply) -> NotFound | Failed:
        message = reply.error or ""
        if _NOT_FOUND in message:
            return NotFound()
        if reply.status == 401:
            if not self._refusal_logged:
                self._refusal_logged = True
                log.warning("shodan refused the API key (HTTP 401); check BOTES_SHODAN__API_KEY")
            return Failed("unauthorized")
        if reply.status == 429:
            return Failed("http 429", retry_after_seconds(reply.retry_after))
        if reply.status is not None and reply.status >= 400:
            return Failed(f"http {reply.status}")
        if message.startswith("Unable to parse JSON"):
            return Failed("malformed response")
        if reply.status is None:
            return Failed("timeout" if reply.timed_out else "unreachable")
        return Failed("api error")  # an error body with a 2xx status; its text is not passed on

    def fragment(self, target: Target, found: Found) -> Event:
        return {"botes": {target.field: {"shodan": found.data}}}

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        data = found.data
        return [("open ports", data.get("ports")), ("hostnames", data.get("hostnames")),
                ("domains", data.get("domains")), ("OS", data.get("os")), ("ISP", data.get("isp")),
                ("organisation", data.get("org")), ("AS number", data.get("asn")),
                ("vulnerabilities", data.get("vulns")), ("tags", data.get("tags")),
                ("last update", data.get("last_update"))]

    async def aclose(self) -> None:
        self._client.close()
        self._threads.shutdown(wait=False)  # a call still running on a silent server is not waited for
