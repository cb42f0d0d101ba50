"""Embedded mode when lookups need I/O: an event the first operator cannot finish from memory (here a PTR
lookup, asked of a real DNS server on loopback) leaves it part way through the chain, crosses to the async
operator as JSON, and must come out exactly as the chain enriches it in one go."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline.cache import open_cache, with_cache
from pipeline.config import Settings, bundled_data
from pipeline.enrich import EnrichmentChain, build_enrichers
from pipeline.events import Event, document_id, get_path
from pipeline.normalize import Normalizer, find_botes_files, read_lines
from tests.conftest import settings_with
from tests.fakes.dns_server import DnsServer, reverse_name


def _sample_events() -> list[Event]:
    normalizer = Normalizer()
    events: list[Event] = []
    for botes_file in find_botes_files([bundled_data("sample")]):
        for _number, line in read_lines(botes_file.path):
            event = normalizer.normalize_line(line, botes_file.source_type)
            assert isinstance(event, dict)
            events.append(event)
    return events


def _enriched_in_one_go(settings: Settings, events: list[Event]) -> dict[str, Event]:
    settings = settings.model_copy(update={"cache": settings.cache.model_copy(update={"backend": "memory"})})

    async def run() -> list[Event]:
        chain = EnrichmentChain(with_cache(build_enrichers(settings), open_cache(settings), settings))
        try:
            return [await chain.enrich(event) for event in events]
        finally:
            await chain.aclose()

    return {document_id(event): event for event in asyncio.run(run())}


def test_events_that_need_io_come_out_as_the_chain_enriches_them(tmp_path: Path) -> None:
    events = _sample_events()
    addresses = sorted({address for event in events for field in ("source", "destination")
                        if isinstance(address := get_path(event, f"{field}.ip"), str)})
    answered = addresses[::2]  # the others get NXDOMAIN
    output = tmp_path / "enriched.ndjson"
    with DnsServer() as dns:
        for n, address in enumerate(answered):
            dns.ptr(address, f"host{n}.example.test")
        env = {"BOTES_RDNS__ENABLED": "true", "BOTES_RDNS__NAMESERVERS": '["127.0.0.1"]',
               "BOTES_RDNS__PORT": str(dns.port)}
        result = subprocess.run([sys.executable, "-m", "pipeline", "run", "--output", str(output)],
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        asked_by_the_job = {query.name for query in dns.queries}
        expected = _enriched_in_one_go(settings_with(env), _sample_events())

    assert asked_by_the_job == {reverse_name(address) for address in addresses}
    documents: dict[str, Any] = {document_id(d): d for d in map(json.loads, output.read_text().splitlines())}
    assert documents.keys() == expected.keys()
    for doc_id, document in documents.items():
        assert document == expected[doc_id], doc_id
    domains = {get_path(d, f"{field}.domain") for d in documents.values() for field in ("source", "destination")}
    assert {f"host{n}.example.test" for n in range(len(answered))} <= domains  # the I/O path's answers
    assert "rdns" in result.stderr  # in the lookup summary
