"""Posting a result to SCOT: ``POST {callback_url}/entity/{entity_id}/enrichment`` with
``Authorization: apikey <key>``, retried with exponential backoff while SCOT is unreachable or busy.

The header is how SCOT4 reads an API key (``api_token_mixin``, sandialabs/scot4-api @ a061ff80
``src/app/api/deps.py``), and the path is its ``add_enrichment`` route (``src/app/api/endpoints/entity.py``).
Keys come from ``scot.api_keys`` by callback host and are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from pydantic import SecretStr

from pipeline.config import ScotSettings
from pipeline.enrich.base import retry_after_seconds
from pipeline.enrich.scot import ScotEnrichment
from pipeline.scot.entities import Entity
from pipeline.scot.trigger import callback_host

__all__ = ["CallbackPoster", "Delivery", "enrichment_url"]

log = logging.getLogger(__name__)

# Answers worth asking again: SCOT busy, restarting, or in front of a proxy that is.
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_SHOWN = 200  # characters of SCOT's error answer kept in a reason


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    attempts: int
    status: int | None = None  # SCOT's last HTTP status, if it answered
    reason: str = ""           # why it was not delivered


def enrichment_url(entity: Entity) -> str:
    return f"{entity.callback_url}/entity/{entity.id}/enrichment"


class CallbackPoster:
    """One aiohttp session (made on first use, in the running loop) for every post."""

    def __init__(self, settings: ScotSettings, *, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 max_connections: int = 32) -> None:
        self._keys = dict(settings.api_keys)
        self._attempts = settings.callback_attempts
        self._backoff = settings.callback_backoff
        self._backoff_max = settings.callback_backoff_max
        self._timeout = aiohttp.ClientTimeout(total=settings.callback_timeout)
        self._sleep = sleep
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._refused_hosts: set[str] = set()

    def api_key(self, callback_url: str) -> SecretStr | None:
        """The key configured for the URL's ``host:port``, else for its host."""
        for name in callback_host(callback_url):
            if name in self._keys:
                return self._keys[name]
        return None

    async def post(self, entity: Entity, body: ScotEnrichment) -> Delivery:
        key = self.api_key(entity.callback_url)
        if key is None:
            return Delivery(False, 0, reason=f"no API key for {callback_host(entity.callback_url)[0]} in scot.api_keys")
        headers = {"Authorization": f"apikey {key.get_secret_value()}"}
        url = enrichment_url(entity)
        delivery = Delivery(False, 0)
        for attempt in range(1, self._attempts + 1):
            delivery, retry_after = await self._post_once(url, headers, body, attempt)
            if delivery.ok or retry_after is None or attempt == self._attempts:
                break
            await self._sleep(self._delay(attempt, retry_after))
        if not delivery.ok:
            log.warning("enrichment %r for entity %s not delivered to %s after %d attempt(s): %s",
                        body["title"], entity.id, url, delivery.attempts, delivery.reason)
        return delivery

    async def _post_once(self, url: str, headers: dict[str, str], body: ScotEnrichment, attempt: int
                         ) -> tuple[Delivery, float | None]:
        """The outcome of one post, and the Retry-After to respect (0 if none) when it is worth retrying."""
        try:
            async with self._client().post(url, json=body, headers=headers) as response:
                if response.status < 300:
                    return Delivery(True, attempt, response.status), None
                text = (await response.text(errors="replace"))[:_SHOWN]
                reason = f"SCOT answered HTTP {response.status}: {text}".rstrip(": ")
                if response.status in (401, 403):
                    self._note_refusal(url, response.status)
                if response.status in _RETRY_STATUSES:
                    return (Delivery(False, attempt, response.status, reason),
                            retry_after_seconds(response.headers.get("Retry-After")) or 0.0)
                return Delivery(False, attempt, response.status, reason), None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Delivery(False, attempt, reason=f"SCOT unreachable ({type(exc).__name__})"), 0.0

    def _delay(self, attempt: int, retry_after: float) -> float:
        backoff = min(self._backoff * 2.0 ** (attempt - 1), self._backoff_max)
        # Jitter spreads the retries of many results that failed together (SCOT restarting).
        return min(max(backoff * random.uniform(0.5, 1.0), retry_after), self._backoff_max)

    def _note_refusal(self, url: str, status: int) -> None:
        host = callback_host(url)[0]
        if host not in self._refused_hosts:
            self._refused_hosts.add(host)
            log.warning("SCOT at %s refused the API key (HTTP %d); check BOTES_SCOT__API_KEYS", host, status)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=self._max_connections))
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
