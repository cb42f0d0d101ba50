"""The paid APIs (Shodan, Onyphe, VirusTotal) as one local HTTP server that adds a fixed delay to every call.

    python bench/provider.py --port 0 --delay 0.1 --ready FILE

Answers with the recorded bodies in tests/data/providers/ (real third-party answers, provenance there):
Shodan ``GET /shodan/host/{ip}``, Onyphe ``GET /summary/ip/{ip}``, VirusTotal ``GET /api/v3/files/{hash}``.
About a third of the values get each API's "not found" answer (decided by a hash of the value, so the same
value always gets the same answer). It counts calls per (API, value): ``GET /_calls`` returns them as JSON,
``POST /_reset`` forgets them. Runs in its own process (an asyncio server: the delay costs no thread), and
writes its URL to ``--ready`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "providers"
_NOT_FOUND = {
    "shodan": (404, b'{"error": "No information available for that IP."}'),
    "onyphe": (200, b'{"count": 0, "error": 0, "results": [], "status": "ok", "total": 0}'),
    "virustotal": (404, (DATA / "virustotal" / "not_found.json").read_bytes()),
}
_FOUND = {
    "shodan": (DATA / "shodan" / "140.82.121.4_shodan.json").read_bytes(),
    "onyphe": (DATA / "onyphe" / "summary_ip_1.1.1.1.json").read_bytes(),
    "virustotal": (DATA / "virustotal" /
                   "0001a1252300b4732e4a010a5dd13a291dcb8b0ebee6febedb5152dfb0bcd488.json").read_bytes(),
}


def _known(value: str) -> bool:
    return hashlib.blake2b(value.encode(), digest_size=1).digest()[0] % 3 != 0


def make_app(delay: float) -> web.Application:
    calls: Counter[tuple[str, str]] = Counter()

    def handler(api: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def answer(request: web.Request) -> web.Response:
            value = request.match_info["value"]
            calls[(api, value)] += 1
            await asyncio.sleep(delay)
            if _known(value):
                return web.Response(body=_FOUND[api], content_type="application/json")
            status, body = _NOT_FOUND[api]
            return web.Response(status=status, body=body, content_type="application/json")
        return answer

    async def report(request: web.Request) -> web.Response:
        per_api: dict[str, dict[str, int]] = {}
        for (api, value), count in calls.items():
            per_api.setdefault(api, {})[value] = count
        return web.json_response(per_api)

    async def reset(request: web.Request) -> web.Response:
        calls.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/shodan/host/{value}", handler("shodan"))
    app.router.add_get("/summary/ip/{value}", handler("onyphe"))
    app.router.add_get("/api/v3/files/{value}", handler("virustotal"))
    app.router.add_get("/_calls", report)
    app.router.add_post("/_reset", reset)
    return app


async def _serve(port: int, delay: float, ready: Path) -> None:
    runner = web.AppRunner(make_app(delay), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    ready.write_text(json.dumps({"url": f"http://127.0.0.1:{bound}"}))
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds added to every call")
    parser.add_argument("--ready", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.delay, args.ready))


if __name__ == "__main__":
    main()
