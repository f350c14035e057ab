"""The one place query is wired: settings → pool, NATS, projector, position watcher, HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from nats.aio.client import Client as NATS
from psycopg_pool import AsyncConnectionPool

from helpdesk_shared.clock import ServiceClock, clock_from
from helpdesk_shared.connections import connect_nats as open_nats
from helpdesk_shared.metrics import serve_metrics, watch_pool
from helpdesk_shared.migrations import require
from helpdesk_shared.policies import calendar_of
from helpdesk_shared.policy_book import PolicyBook, PolicyFeed, follow_policies
from helpdesk_shared.settings import from_env
from helpdesk_shared.stream import StreamLimits
from helpdesk_shared.telemetry import setup_tracing
from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.jwks import remote_authenticator
from helpdesk_shared.web.revocation import following_revocations
from helpdesk_shared.web.parked import ParkedConsumers, ParkedRoutes

from helpdesk_query.adapters.attachments import AttachmentStore
from helpdesk_query.adapters.changes import ChangeFeed
from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_query.adapters.positions import PositionWatcher, SlaMarks, StreamCoverage
from helpdesk_query.adapters.readmodel import ReadModel, reading_pool
from helpdesk_query.adapters.schema import CONTROL, MIGRATIONS, SLA_POSITION_CHANNEL
from helpdesk_query.application import Queries
from helpdesk_query.entrypoints.http.hours_report import HoursReport
from helpdesk_query.entrypoints.http.errors import ERROR_HANDLERS
from helpdesk_query.entrypoints.http.ids import IDS
from helpdesk_query.entrypoints.http.routes import CONTROLLERS, ENUMS
from helpdesk_query.entrypoints import projector as ticket_projector
from helpdesk_query.entrypoints import sla_projector
from helpdesk_query.entrypoints.projector import Projector
from helpdesk_query.entrypoints.rebuild import Rebuilt, rebuild
from helpdesk_query.entrypoints.sla_projector import SlaProjector
from helpdesk_query.reports import Reports
from helpdesk_query.settings import QuerySettings

VERSION = "0.1.0"
log = logging.getLogger("helpdesk.query")


@dataclass
class Running:
    """query's wired parts, opened in the lifespan and closed with it."""

    pool: AsyncConnectionPool
    nc: NATS
    queries: Queries
    stopping: asyncio.Event
    clock: ServiceClock  # clock_from's: the one time of this process
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    projector: Projector | None = None
    sla_projector: SlaProjector | None = None
    feed: ChangeFeed | None = None
    policy_feed: PolicyFeed | None = None  # keeps the policies, calendars and measures on the published versions


async def connect_nats(settings: QuerySettings, name: str) -> NATS:
    return await open_nats(settings.nats_url, name)


async def start(settings: QuerySettings, watcher: PositionWatcher, sla_watcher: PositionWatcher,
                marks: SlaMarks) -> Running:
    await asyncio.to_thread(require, settings.database_url, MIGRATIONS)
    nc = await connect_nats(settings, "helpdesk-query")
    stream = EventStream(nc, StreamLimits.of(settings))
    await stream.ensure()
    clock = clock_from(settings)
    await clock.follow(nc)
    policies = await asyncio.to_thread(PolicyBook.local, settings.policy_dir)
    calendars = {pid: calendar_of(p) for pid, p in policies.items()}
    measures = {pid: p.budget.measure for pid, p in policies.items()}

    def derive(policy_id: str) -> None:  # a published version: its calendar and measure follow
        calendars[policy_id] = calendar_of(policies[policy_id])
        measures[policy_id] = policies[policy_id].budget.measure

    policies.on_change(derive)
    policy_feed = await follow_policies(nc.jetstream(), policies)
    pool = reading_pool(settings.database_url, settings.pool_size)
    await pool.open(wait=True)
    watch_pool("query", pool)
    queries = Queries(ReadModel(pool), stream, AttachmentStore(nc.jetstream()), clock, calendars,
                      policies, measures)
    running = Running(pool, nc, queries, asyncio.Event(), clock, policy_feed=policy_feed)
    running.tasks.append(asyncio.create_task(watcher.listen(settings.database_url, running.stopping)))
    running.feed = ChangeFeed(stream, watcher, buffer=settings.stream_buffer, max_streams=settings.stream_max,
                              replay_limit=settings.stream_replay_limit, sla_watcher=sla_watcher)
    running.tasks.append(asyncio.create_task(running.feed.run(await queries.readmodel.position(), running.stopping)))
    running.tasks.append(asyncio.create_task(running.feed.run_sla(await queries.readmodel.sla_position(),
                                                                  running.stopping)))
    running.tasks.append(asyncio.create_task(sla_watcher.listen(settings.database_url, running.stopping)))
    running.tasks.append(asyncio.create_task(marks.follow(nc.jetstream(), settings.stream_replicas,
                                                          running.stopping)))
    if settings.run_projector:
        running.projector = Projector(settings.database_url, nc.jetstream(), watcher, settings.projector_batch,
                                      settings.consumer_stuck_seconds)
        running.tasks.append(asyncio.create_task(running.projector.run()))
        running.sla_projector = SlaProjector(settings.database_url, nc.jetstream(), settings.projector_batch,
                                             settings.consumer_stuck_seconds)
        running.tasks.append(asyncio.create_task(running.sla_projector.run()))
    return running


async def stop(running: Running) -> None:
    running.stopping.set()
    if running.feed:
        running.feed.close()
    for projector in (running.projector, running.sla_projector):
        if projector:
            projector.stop()
    _, pending = await asyncio.wait(running.tasks, timeout=5) if running.tasks else ((), ())
    for task in pending:
        task.cancel()
    if running.policy_feed:
        await running.policy_feed.stop()
    await running.clock.close()
    with contextlib.suppress(Exception):
        await running.nc.drain()
    await running.pool.close()


def create_app(settings: QuerySettings | None = None) -> Litestar:
    """The query HTTP app (with the projector unless disabled); connections open in its lifespan."""
    settings = settings or from_env(QuerySettings)
    watcher = PositionWatcher()
    sla_watcher = PositionWatcher(SLA_POSITION_CHANNEL, f"{CONTROL}.sla_tracking.stream_seq")
    marks = SlaMarks()
    holder: dict[str, Running] = {}
    coverage = StreamCoverage(lambda: holder["running"].nc.jetstream())

    def close_streams() -> None:
        """End every open stream (on SIGTERM, before the server waits for connections to close)."""
        if "running" in holder and holder["running"].feed:
            holder["running"].feed.close()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        holder["running"] = running = await start(settings, watcher, sla_watcher, marks)
        app.state.queries, app.state.feed = running.queries, running.feed  # the hot reads' (routes.py)
        try:
            async with following_revocations(running.nc.jetstream(), authenticator):
                yield
        finally:
            await stop(holder.pop("running"))

    async def database_ready() -> bool:
        return "running" in holder and await holder["running"].queries.readmodel.ping()

    async def nats_ready() -> bool:
        return "running" in holder and holder["running"].nc.is_connected

    async def consumers_ready() -> bool:
        """Not stuck: a projector with work makes progress (lagging is fine)."""
        running = holder.get("running")
        return running is not None and not any(
            p.stuck for p in (running.projector, running.sla_projector) if p is not None)

    authenticator = remote_authenticator(settings)
    parked = ParkedConsumers(settings.database_url, {"query": ticket_projector.projection(),
                                                     "query-sla": sla_projector.projection()})
    readiness = {"database": database_ready, "nats": nats_ready}
    if settings.run_projector:
        readiness["consumer"] = consumers_ready
    return build_app(
        service="query", version=VERSION, handlers=[*CONTROLLERS, ParkedRoutes, HoursReport], authenticator=authenticator,
        readiness=readiness,
        tracer_provider=setup_tracing("query"), lifespan=[lifespan],
        exception_handlers=ERROR_HANDLERS, ids=IDS, enums=ENUMS,
        state={"watcher": watcher, "sla_watcher": sla_watcher, "sla_marks": marks,
               "min_position_timeout": settings.min_position_timeout,
               "stream_keepalive": settings.stream_keepalive_seconds, "close_streams": close_streams,
               "covered": lambda position: coverage.covered(watcher.position, position)},
        dependencies={"queries": Provide(lambda: holder["running"].queries, sync_to_thread=False),
                      "feed": Provide(lambda: holder["running"].feed, sync_to_thread=False),
                      "reports": Provide(lambda: Reports(holder["running"].pool, holder["running"].clock),
                                         sync_to_thread=False),
                      "parked": Provide(lambda: parked, sync_to_thread=False)},
    )


async def run_projector(settings: QuerySettings | None = None) -> None:
    """``helpdesk-query project``: the ticket and SLA projectors only, until SIGTERM/SIGINT.

    No API: ``/metrics``, ``/healthz`` and ``/readyz`` (503 while a projector is stuck) on
    ``HELPDESK_PROJECTOR_METRICS_PORT``. ``serve`` hears its commits through NOTIFY.
    """
    settings = settings or from_env(QuerySettings)
    setup_tracing("query-projector")
    await asyncio.to_thread(require, settings.database_url, MIGRATIONS)
    nc = await connect_nats(settings, "helpdesk-query-projector")
    try:
        await EventStream(nc, StreamLimits.of(settings)).ensure()
        js = nc.jetstream()
        projectors = (Projector(settings.database_url, js, None, settings.projector_batch,
                                settings.consumer_stuck_seconds),
                      SlaProjector(settings.database_url, js, settings.projector_batch,
                                   settings.consumer_stuck_seconds))

        def stop_all() -> None:
            for projector in projectors:
                projector.stop()

        _on_signals(stop_all)
        async with serve_metrics(settings.bind_host, settings.projector_metrics_port,
                                 ready=lambda: not any(projector.stuck for projector in projectors)):
            await asyncio.gather(*(projector.run() for projector in projectors))
    finally:
        await nc.drain()


async def run_rebuild(settings: QuerySettings | None = None, progress: bool = True) -> Rebuilt:
    """``helpdesk-query rebuild``: a new generation from the event store, then the switch."""
    settings = settings or from_env(QuerySettings)
    nc = await connect_nats(settings, "helpdesk-query-rebuild")
    try:
        return await rebuild(settings.database_url, EventStream(nc), progress)  # a reader: leaves the stream's limits
    finally:
        await nc.drain()


def _on_signals(stop: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)


async def checksum(settings: QuerySettings) -> str:
    """``helpdesk-query checksum``: an md5 over every row of the live read model."""
    import psycopg

    from helpdesk_query.adapters.schema import checksum as read_model_checksum

    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        return await read_model_checksum(conn)
