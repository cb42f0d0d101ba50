"""The seed design (the proof of concept this project replaced), reproduced to measure against.

What it did, and what this module does the same way:

- **per-event blocking lookups with 4 slots**: 4 worker threads; each takes one event and looks its values up
  one after another with blocking calls (``requests`` for the APIs, the MaxMind reader and the assets table
  for the local sources), so at most 4 lookups are ever waiting;
- **cache check-then-set with no TTL**: ``GET`` the value's key in Redis; on a miss call the source and
  ``SET`` the answer with no expiry. Two workers that miss the same key at once both call the source;
- **an index flush after every document**: each enriched event is indexed on its own with ``refresh=true``.

It runs outside Flink, in one process: that spares it the engine's overhead, so the comparison flatters
the seed, never this pipeline. Values are chosen as the pipeline chooses them (public addresses for GeoIP
and the APIs, internal ones for the assets table, file hashes for VirusTotal), so both make the same calls.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import redis
import requests

from pipeline.addresses import AddressClassifier, Scope
from pipeline.config import Settings
from pipeline.enrich.assets import AssetTable
from pipeline.enrich.base import ADDRESS_FIELDS, HASH_FIELDS
from pipeline.events import get_path
from pipeline.index.documents import index_document
from pipeline.index.writer import open_client

__all__ = ["SeedRun", "run_seed"]

SLOTS = 4


@dataclass(slots=True)
class SeedRun:
    events: int
    seconds: float
    lookups: int
    misses: int


class _Sources:
    """The seed's lookups: blocking, one value at a time."""

    def __init__(self, settings: Settings, provider_url: str) -> None:
        self._city = geoip2.database.Reader(str(settings.geoip.city_db))
        self._asn = geoip2.database.Reader(str(settings.geoip.asn_db))
        self._assets = AssetTable.from_csv(settings.assets.path)
        self._url = provider_url
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def geoip(self, ip: str) -> Any:
        result: dict[str, Any] = {}
        try:
            city = self._city.city(ip)
            result["country"] = city.country.iso_code
            result["city"] = city.city.name
        except geoip2.errors.AddressNotFoundError:
            pass
        with contextlib.suppress(geoip2.errors.AddressNotFoundError):
            result["asn"] = self._asn.asn(ip).autonomous_system_number
        return result or None

    def assets(self, ip: str) -> Any:
        return self._assets.find(ip)

    def _get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        response = self._session().get(f"{self._url}{path}", headers=headers, timeout=10)
        return response.json() if response.status_code == 200 else None

    def shodan(self, ip: str) -> Any:
        return self._get(f"/shodan/host/{ip}?key=bench")

    def onyphe(self, ip: str) -> Any:
        return self._get(f"/summary/ip/{ip}", {"Authorization": "bearer bench"})

    def virustotal(self, value: str) -> Any:
        return self._get(f"/api/v3/files/{value}", {"x-apikey": "bench"})


def _values(event: dict[str, Any], classifier: AddressClassifier) -> list[tuple[str, str]]:
    """(source name, value) pairs of one event, in the order the seed looked them up."""
    pairs: list[tuple[str, str]] = []
    for field in ADDRESS_FIELDS:
        ip = get_path(event, f"{field}.ip")
        if not isinstance(ip, str):
            continue
        scope = classifier.scope(ip)
        if scope is Scope.INTERNAL:
            pairs.append(("assets", ip))
        elif scope is Scope.PUBLIC:
            pairs.extend((source, ip) for source in ("geoip", "shodan", "onyphe"))
    for field in HASH_FIELDS:
        value = get_path(event, field)
        if isinstance(value, str):
            pairs.append(("virustotal", value.lower()))
            break
    return pairs


def _compact(answer: Any) -> Any:
    """The answer's top-level scalars: the document stays about as large as the pipeline's."""
    if not isinstance(answer, dict):
        return answer
    return {k: v for k, v in list(answer.items())[:40] if isinstance(v, (str, int, float, bool))}


def run_seed(events_file: Path, settings: Settings, provider_url: str, slots: int = SLOTS) -> SeedRun:
    """Enriches and indexes every event of ``events_file`` (normalised ECS NDJSON) the seed's way."""
    sources = _Sources(settings, provider_url)
    lookup: dict[str, Callable[[str], Any]] = {
        "geoip": sources.geoip, "assets": sources.assets, "shodan": sources.shodan, "onyphe": sources.onyphe,
        "virustotal": sources.virustotal}
    cache = redis.Redis.from_url(settings.redis.url)
    index = open_client(settings.index)
    classifier = AddressClassifier(settings.network.internal_networks)
    work: queue.Queue[str | None] = queue.Queue(maxsize=slots * 4)
    counts = {"lookups": 0, "misses": 0}
    lock = threading.Lock()

    def worker() -> None:
        while (line := work.get()) is not None:
            event = json.loads(line)
            for source, value in _values(event, classifier):
                key = f"seed:{source}:{value}"
                cached = cache.get(key)                     # check ...
                if cached is None:
                    answer = lookup[source](value)
                    cache.set(key, json.dumps(answer))      # ... then set, no TTL
                    with lock:
                        counts["misses"] += 1
                else:
                    answer = json.loads(cached)
                with lock:
                    counts["lookups"] += 1
                if answer is not None:
                    event.setdefault("seed", {})[source] = _compact(answer)
            doc = index_document(event, settings.index)
            index.index(index=doc.index, id=doc.id, document=doc.source, refresh="true")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(slots)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    events = 0
    with events_file.open(encoding="utf-8") as f:
        for line in f:
            work.put(line)
            events += 1
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return SeedRun(events, time.monotonic() - started, counts["lookups"], counts["misses"])
