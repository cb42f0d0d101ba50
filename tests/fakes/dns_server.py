"""A real DNS server on loopback (UDP and TCP on one free port) that answers PTR queries for tests.

Tests register PTR records by address (with a TTL), CNAMEs, an rcode to answer with (SERVFAIL,
REFUSED, NOERROR without records), or silence (the query is read and never answered, to exercise
timeouts). Any other name is NXDOMAIN. The server records every query and the largest number it was
answering at once, and can wait before each answer to make that number visible.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any

from dnslib import QTYPE, RCODE, RR, DNSError, DNSRecord  # type: ignore[import-untyped]
from dnslib.server import DNSHandler, DNSLogger, DNSServer  # type: ignore[import-untyped]

__all__ = ["DnsServer", "Query", "reverse_name"]


def reverse_name(address: str) -> str:
    """The PTR query name of an address, computed with the standard library (not the code under test)."""
    return ipaddress.ip_address(address).reverse_pointer + "."


@dataclass(frozen=True)
class Query:
    name: str      # lower case, with the final dot
    type: str      # "PTR", "A", ...
    protocol: str  # "udp" or "tcp"


HOLD_WAIT = 10.0  # the longest a query waits for hold_until_concurrent


class _Silent(DNSError):  # type: ignore[misc]
    """Raised for a silenced name: dnslib's handler catches DNSError and sends nothing."""


class _Handler(DNSHandler):  # type: ignore[misc]
    def get_reply(self, data: bytes) -> bytes:
        fake: DnsServer = self.server.fake
        request = DNSRecord.parse(data)
        name = str(request.q.qname).lower()
        fake._started(Query(name, QTYPE[request.q.qtype], self.protocol))
        try:
            if fake.hold_until_concurrent:
                fake._wait_for_concurrent()
            if fake.delay:
                time.sleep(fake.delay)
            if name in fake._silent:
                raise _Silent(f"silent for {name}")
            reply: bytes = fake._reply(request, name).pack()
            return reply
        finally:
            fake._finished()


class DnsServer:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self.address = address
        self.delay = 0.0  # seconds to wait before every answer
        self.queries: list[Query] = []
        self.max_concurrent = 0
        # Answer nothing until this many queries are in flight at once (or HOLD_WAIT s have passed): a
        # barrier, so a test of concurrency does not depend on timing.
        self.hold_until_concurrent = 0
        self._concurrent = threading.Condition()
        self._records: dict[str, list[Any]] = {}  # lower-case name -> dnslib RRs
        self._rcodes: dict[str, str] = {}
        self._silent: set[str] = set()
        self._lock = threading.Lock()
        self._active = 0
        self._servers = self._bind()

    @property
    def port(self) -> int:
        port: int = self._servers[0].server.server_address[1]
        return port

    # --- what to answer -------------------------------------------------------------------------
    def ptr(self, address: str, *names: str, ttl: int = 300) -> None:
        """PTR records for ``address`` (names with or without the final dot), in this order."""
        self.add(*(f"{reverse_name(address)} {ttl} IN PTR {name.rstrip('.')}." for name in names))

    def add(self, *zone_lines: str) -> None:
        """Any records in zone-file form, e.g. ``"7.113.0.203.in-addr.arpa. 60 IN CNAME 7.0/25.x."``."""
        for line in zone_lines:
            for rr in RR.fromZone(line):
                self._records.setdefault(str(rr.rname).lower(), []).append(rr)

    def rcode(self, address: str, rcode: str) -> None:
        """Answer queries for ``address`` with this rcode ("SERVFAIL", "REFUSED", "NOERROR" = no records)."""
        self._rcodes[reverse_name(address)] = rcode

    def silence(self, address: str) -> None:
        """Never answer queries for ``address``."""
        self._silent.add(reverse_name(address))

    # --- running ------------------------------------------------------------------------------
    def start(self) -> DnsServer:
        for server in self._servers:
            # dnslib's start_thread polls for shutdown every 0.5 s; tests start and stop a server each.
            threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.02},
                             daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.server.shutdown()
            server.server.server_close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bind(self) -> tuple[Any, Any]:
        """UDP on a free port, then TCP on the same one (retried if another process holds it for TCP)."""
        logger = DNSLogger("-request,-reply,-truncated,-error", prefix=False)
        last: OSError | None = None
        for _ in range(20):
            udp = DNSServer(None, address=self.address, port=0, logger=logger, handler=_Handler)
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(None, address=self.address, port=port, tcp=True, logger=logger, handler=_Handler)
            except OSError as exc:
                udp.server.server_close()
                last = exc
                continue
            for server in (udp, tcp):
                server.server.fake = self
            return udp, tcp
        raise RuntimeError(f"no free port for UDP and TCP on {self.address}: {last}")

    def _reply(self, request: Any, name: str) -> Any:
        reply = request.reply()
        rcode = self._rcodes.get(name)
        if rcode is not None:
            reply.header.rcode = getattr(RCODE, rcode)
            return reply
        if name not in self._records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        qtype = QTYPE[request.q.qtype]
        seen: set[str] = set()
        while name in self._records and name not in seen:  # follow CNAMEs held by this server
            seen.add(name)
            records = self._records[name]
            cnames = [rr for rr in records if QTYPE[rr.rtype] == "CNAME"]
            if cnames and qtype != "CNAME":
                reply.add_answer(cnames[0])
                name = str(cnames[0].rdata.label).lower()
                continue
            for rr in records:
                if QTYPE[rr.rtype] == qtype:
                    reply.add_answer(rr)
            break
        return reply

    def _started(self, query: Query) -> None:
        with self._lock:
            self.queries.append(query)
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
        with self._concurrent:
            self._concurrent.notify_all()

    def _wait_for_concurrent(self) -> None:
        with self._concurrent:
            self._concurrent.wait_for(lambda: self.max_concurrent >= self.hold_until_concurrent, HOLD_WAIT)

    def _finished(self) -> None:
        with self._lock:
            self._active -= 1
