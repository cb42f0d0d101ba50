"""`botes scot serve`: the part of Airflow 2's stable REST API that SCOT4 calls, run by the project's enrichers.

- ``POST /api/v1/dags/{dag_id}/dagRuns`` (HTTP Basic auth, SCOT's ``{"conf": {...}}``) answers 200 with the
  queued run, as Airflow does, and enriches in the background: every source of the entity type that covers
  the value looks it up (through the shared cache) and its tab is posted to SCOT, retried with backoff. A
  source that does not look such values up (Shodan, GeoIP and Onyphe for an internal address, the assets
  table for a public one) posts nothing, as its Airflow task is skipped.
- ``GET /api/v1/dags/{dag_id}/dagRuns/{dag_run_id}``: the run, whose state is queued, running, success (SCOT
  got every tab) or failed (some tab could not be delivered).
- ``GET /health``: no auth, for probes.

Checks happen in Airflow's order (authentication, then the DAG, then the body), and each refusal is
Airflow's problem JSON; nothing is posted to SCOT for a refused request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import BasicAuth, web

from pipeline.cache.redis import check_redis
from pipeline.config import EntityType, Settings
from pipeline.errors import ConfigError
from pipeline.scot.callback import CallbackPoster, Delivery
from pipeline.scot.dagruns import DagRun, DagRunStore, problem
from pipeline.scot.enrichment import EntityEnricher, NotCovered, enabled_sources
from pipeline.scot.entities import Entity, InvalidEntity
from pipeline.scot.trigger import callback_host, entity_of, read_trigger

__all__ = ["ScotService", "build_app", "serve", "parse_listen", "MAX_BODY"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024   # SCOT's request is a few hundred bytes; a larger body is refused (413) before parsing
SHUTDOWN_GRACE = 30.0  # seconds running enrichments may take to finish when the service is stopped


class ScotService:
    def __init__(self, settings: Settings, sources: dict[EntityType, list[str]], enricher: EntityEnricher,
                 poster: CallbackPoster) -> None:
        scot = settings.scot
        self._username, self._password = _account(settings)
        self._dag_id = re.compile(scot.dag_id_pattern)
        self._dag_id_template = scot.airflow_dag_id
        self._sources = sources
        self._enricher = enricher
        self._poster = poster
        self._runs = DagRunStore(scot.max_runs)
        self._slots = asyncio.Semaphore(scot.max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- HTTP ---------------------------------------------------------------------------------------------

    async def trigger(self, request: web.Request) -> web.StreamResponse:
        refusal = self._authenticate(request)
        if refusal is not None:
            return refusal
        dag_id = request.match_info["dag_id"]
        entity_type = self._entity_type(dag_id)
        if entity_type is None:
            return problem(404, "DAG not found", f"DAG with dag_id: '{dag_id}' not found")
        try:
            body = read_trigger(await request.read())
            entity = entity_of(body, entity_type)
        except InvalidEntity as exc:
            return problem(400, "Bad Request", str(exc))
        if self._poster.api_key(entity.callback_url) is None:
            return problem(400, "Bad Request", f"conf.callback_url: no API key for "
                           f"{callback_host(entity.callback_url)[0]} (scot.api_keys); results would not be accepted")
        run = self._runs.new(dag_id, body.conf.model_dump(), body.dag_run_id, body.note)
        if run is None:
            return problem(409, "Conflict", f"DAGRun with DAG ID: '{dag_id}' and DAGRun ID: "
                           f"'{body.dag_run_id}' already exists")
        task = asyncio.create_task(self._enrich(run, entity, self._sources[entity_type]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(run.as_airflow())

    async def dag_run(self, request: web.Request) -> web.StreamResponse:
        refusal = self._authenticate(request)
        if refusal is not None:
            return refusal
        dag_id, run_id = request.match_info["dag_id"], request.match_info["dag_run_id"]
        if self._entity_type(dag_id) is None:
            return problem(404, "DAG not found", f"DAG with dag_id: '{dag_id}' not found")
        run = self._runs.get(dag_id, run_id)
        if run is None:
            return problem(404, "DAGRun not found",
                           f"DAGRun with DAG ID: '{dag_id}' and DagRun ID: '{run_id}' not found")
        return web.json_response(run.as_airflow())

    async def health(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "healthy", "in_flight": len(self._tasks),
                                  "dags": sorted(self.dag_ids())})

    def _authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        try:
            credentials = BasicAuth.decode(header) if header else None
        except ValueError:
            credentials = None
        # Both compared in constant time, whatever the first comparison gave.
        good_user = credentials is not None and hmac.compare_digest(credentials.login.encode(), self._username)
        good_password = credentials is not None and hmac.compare_digest(credentials.password.encode(),
                                                                        self._password)
        if good_user and good_password:
            return None
        return problem(401, "Unauthorized", None, headers={"WWW-Authenticate": "Basic"})

    def _entity_type(self, dag_id: str) -> EntityType | None:
        found = self._dag_id.fullmatch(dag_id)
        if found is None:
            return None
        entity_type = found.group("entity_type")
        return next((t for t in self._sources if t == entity_type), None)

    def dag_ids(self) -> list[str]:
        """The DAG ids SCOT4's default endpoint names (any id the pattern reads as one of the types works)."""
        return [self._dag_id_template.format(entity_type=t) for t in self._sources]

    # --- the enrichment ------------------------------------------------------------------------------------

    async def _enrich(self, run: DagRun, entity: Entity, sources: list[str]) -> None:
        async with self._slots:
            run.start()
            results = await asyncio.gather(*(self._one_source(source, entity) for source in sources))
        delivered = [source for source, result in zip(sources, results, strict=True)
                     if isinstance(result, Delivery) and result.ok]
        undelivered = [f"{source}: {result.reason}" for source, result in zip(sources, results, strict=True)
                       if isinstance(result, Delivery) and not result.ok]
        run.finish(len(delivered), undelivered)
        log.info("%s %s: entity %s (%s %s): %d tab(s) delivered, %d not delivered, %d source(s) skipped",
                 run.dag_id, run.run_id, entity.id, entity.type, entity.value, len(delivered), len(undelivered),
                 len(sources) - len(delivered) - len(undelivered))

    async def _one_source(self, source: str, entity: Entity) -> Delivery | NotCovered:
        try:
            tab = await self._enricher.tab(source, entity)
            return tab if isinstance(tab, NotCovered) else await self._poster.post(entity, tab)
        except Exception as exc:  # a bug must not stop the other sources of the run
            log.exception("%s: enrichment of entity %s failed", source, entity.id)
            return Delivery(False, 0, reason=f"error: {type(exc).__name__}")

    async def drain(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Let running enrichments finish (at most ``grace`` seconds), then cancel the rest."""
        if not self._tasks:
            return
        log.warning("stopping: waiting up to %.0f s for %d enrichment(s) in flight", grace, len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.warning("%d enrichment(s) cancelled at stop; their tabs were not all posted", len(pending))


@web.middleware
async def _problem_json(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """aiohttp's own refusals (no such route, wrong method, body too large) as problem JSON too."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        detail = (f"The request body is larger than {MAX_BODY} bytes" if exc.status == 413
                  else f"{request.method} {request.path}: {exc.reason}")
        return problem(exc.status, exc.reason, detail, headers)


def build_app(service: ScotService) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_problem_json])
    app.router.add_post("/api/v1/dags/{dag_id}/dagRuns", service.trigger)
    app.router.add_get("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", service.dag_run)
    app.router.add_get("/health", service.health)
    return app


def parse_listen(listen: str) -> tuple[str, int]:
    """(host, port) of ``HOST:PORT`` (``[::1]:8089`` for IPv6); ConfigError naming the setting."""
    host, colon, port = listen.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"scot.listen / --listen: {listen!r} is not HOST:PORT (e.g. 0.0.0.0:8089)")
    return host, int(port)


def _account(settings: Settings) -> tuple[bytes, bytes]:
    """The Basic-auth account SCOT calls with; ConfigError naming the settings when there is none."""
    scot = settings.scot
    if not scot.username or scot.password is None or not scot.password.get_secret_value():
        raise ConfigError("scot.username / scot.password: the service needs the account SCOT calls with "
                          "(its ENRICHMENT_USERNAME / ENRICHMENT_PASSWORD); set BOTES_SCOT__USERNAME and "
                          "BOTES_SCOT__PASSWORD")
    return scot.username.encode(), scot.password.get_secret_value().encode()


def _check_start(settings: Settings) -> dict[EntityType, list[str]]:
    """Refuse to start (ConfigError, exit 2) without an account, keys, or any source to run."""
    scot = settings.scot
    _account(settings)
    if not scot.api_keys:
        raise ConfigError("scot.api_keys: no SCOT API key, so no result could be posted; set "
                          "BOTES_SCOT__API_KEYS='{\"scot.example.com\": \"<key>\"}'")
    sources = enabled_sources(settings)
    if not sources:
        raise ConfigError("scot.sources: no source is enabled for any entity type")
    if settings.cache.backend == "redis":
        check_redis(settings)
    return sources


def serve(settings: Settings, listen: str, on_ready: Callable[[str, dict[str, list[str]]], None]) -> None:
    """Run until SIGINT/SIGTERM. ``on_ready(url, sources)`` is called once the port is open."""
    host, port = parse_listen(listen)
    sources = _check_start(settings)
    asyncio.run(_serve(settings, sources, host, port, on_ready))


async def _serve(settings: Settings, sources: dict[EntityType, list[str]], host: str, port: int,
                 on_ready: Callable[[str, dict[str, list[str]]], None]) -> None:
    enricher = EntityEnricher(settings, [s for names in sources.values() for s in names])
    poster = CallbackPoster(settings.scot)
    service = ScotService(settings, sources, enricher, poster)
    runner = web.AppRunner(build_app(service), access_log=None, handle_signals=False)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        on_ready(f"http://{shown_host}:{bound[1]}", {str(t): names for t, names in sources.items()})
        await _until_stopped()
        await site.stop()   # no new requests; the runs in flight go on
        await service.drain()
    finally:
        await runner.cleanup()
        await poster.aclose()
        await enricher.aclose()


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
