"""The one place intake is wired: settings → clock, store, committer, use cases, HTTP, relay, SMTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from nats.aio.client import Client as NATS

from helpdesk_shared.attachments import prepare as prepare_attachments
from helpdesk_shared.clock import Clock, ServiceClock, clock_from
from helpdesk_shared.clock_sync import consumers_caught_up
from helpdesk_shared.connections import connect_nats, nats_connection
from helpdesk_shared.metrics import serve_metrics, watch_pool
from helpdesk_shared.migrations import require
from helpdesk_shared.policy_book import PolicyBook, following_policies
from helpdesk_shared.settings import SettingsError, from_env
from helpdesk_shared.stream import StreamLimits
from helpdesk_shared.telemetry import setup_tracing
from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.auth import Authenticator, TokenIssuer
from helpdesk_shared.web.keys import KeyDirectoryError, KeyRing
from helpdesk_shared.web.revocation import following_revocations

from helpdesk_intake.adapters.attachment_store import AttachmentStore
from helpdesk_intake.adapters.committer import GroupCommitter
from helpdesk_intake.adapters.credentials import Credentials
from helpdesk_intake.adapters.directory_index import DirectoryIndex
from helpdesk_intake.adapters.eventstore import IntakeEventStore, open_event_store
from helpdesk_intake.adapters.login_throttle import LoginThrottle
from helpdesk_intake.adapters.mail_directory import MailDirectory
from helpdesk_intake.adapters.schema import MIGRATIONS
from helpdesk_intake.adapters.passwords import PasswordCost, Passwords
from helpdesk_intake.adapters.policies import PolicyRules
from helpdesk_intake.application import IdentityService, TicketService
from helpdesk_intake.application.attachments import PortalAttachments
from helpdesk_intake.application.customers import CustomerDirectory
from helpdesk_intake.application.policies import PolicyService
from helpdesk_intake.application.releases import ReleaseService
from helpdesk_intake.application.directory import DirectoryService
from helpdesk_intake.application.webhooks import WebhookService
from helpdesk_intake.application.inbound import InboundMailService
from helpdesk_intake.domain.mail import Limits
from helpdesk_intake.domain.throttling import LoginLimits
from helpdesk_intake.entrypoints import smtp
from helpdesk_intake.entrypoints.http.attachments import attachments_route
from helpdesk_intake.entrypoints.http.client_address import ClientAddress
from helpdesk_intake.entrypoints.http.clock import ClockAdmin, WallClockTokens
from helpdesk_intake.entrypoints.http.errors import DOMAIN_ERROR_HANDLERS
from helpdesk_intake.entrypoints.http.inbound import inbound_email_route
from helpdesk_intake.entrypoints.http.routes import CONTROLLERS, ENUMS, SessionLimit
from helpdesk_intake.entrypoints.http.threads import THREADS, CommandThreads
from helpdesk_intake.entrypoints.http.policies import PolicyController
from helpdesk_intake.entrypoints.http.releases import ReleaseController
from helpdesk_intake.entrypoints.policy_files import PolicyFiles, first_import, watch_policy_files
from helpdesk_intake.entrypoints.http.webhooks import WebhookController
from helpdesk_intake.entrypoints.relay import Relay
from helpdesk_intake.settings import IntakeSettings

VERSION = "0.1.0"
log = logging.getLogger("helpdesk.intake")


@dataclass
class Intake:
    """intake's wired parts, built in the app's lifespan and closed with it."""

    store: IntakeEventStore
    committer: GroupCommitter
    tickets: TicketService
    identity: IdentityService
    directory: DirectoryService
    inbound: InboundMailService
    portal: PortalAttachments
    webhooks: WebhookService
    releases: ReleaseService
    policies: PolicyService

    def close(self) -> None:
        self.store.close()


def attachment_limits(settings: IntakeSettings) -> Limits:
    """What a mail or a portal comment may carry: one set of limits for both channels."""
    return Limits(settings.inbound_max_attachment_bytes, settings.inbound_max_attachments)


def login_limits(settings: IntakeSettings) -> LoginLimits:
    """How patient logins are with wrong passwords (domain/throttling.py)."""
    return LoginLimits(free_failures=settings.login_free_failures,
                       first_delay=dt.timedelta(seconds=settings.login_first_delay_seconds),
                       max_delay=dt.timedelta(seconds=settings.login_max_delay_seconds),
                       address_attempts=settings.login_address_attempts,
                       address_window=dt.timedelta(seconds=settings.login_address_window_seconds))


def identity_service(settings: IntakeSettings, parts: dict[str, Any]) -> IdentityService:
    """Provisioning and login, with the password hasher and the throttle on the shared store."""
    datastore = parts["store"].recorder.datastore
    passwords = Passwords(PasswordCost(settings.password_memory_kib, settings.password_time_cost,
                                       settings.password_parallelism, settings.password_concurrency))
    return IdentityService(**parts, passwords=passwords, credentials=Credentials(datastore),
                           throttle=LoginThrottle(datastore, login_limits(settings)))


def wire(settings: IntakeSettings, clock: Clock, attachments: AttachmentStore, book: PolicyBook) -> Intake:
    require(settings.database_url, MIGRATIONS)
    store = open_event_store(settings.database_url, settings.pool_size, settings.aggregate_cache_size)
    watch_pool("intake", store.recorder.datastore.pool)  # type: ignore[attr-defined]
    committer = GroupCommitter(store)
    rules = PolicyRules(book)
    parts = dict(store=store, committer=committer, clock=clock, rules_for=rules.for_policy,
                 policies=rules.names, customers=CustomerDirectory())
    tickets = TicketService(**parts)
    limits = attachment_limits(settings)
    inbound = InboundMailService(tickets, MailDirectory(store, settings.public_domains()), attachments.keep, limits)
    portal = PortalAttachments(tickets, attachments.keep, limits)
    webhooks = WebhookService(**parts, allow_loopback=settings.webhook_allow_loopback)
    identity = identity_service(settings, parts)
    directory = DirectoryService(identity, DirectoryIndex(store))
    return Intake(store, committer, tickets, identity, directory, inbound, portal, webhooks,
                  ReleaseService(**parts), PolicyService(**parts, book=book))


@asynccontextmanager
async def connected(settings: IntakeSettings, clock: ServiceClock, name: str) -> AsyncIterator[tuple[Intake, NATS]]:
    """NATS (attachments, the shared clock) and the wired parts, opened in order and closed in reverse."""
    async with nats_connection(settings.nats_url, name) as nc:
        await clock.follow(nc)
        await prepare_attachments(nc.jetstream(), settings.stream_replicas)
        store = AttachmentStore(nc.jetstream(), asyncio.get_running_loop(), settings.stream_replicas)
        book = await asyncio.to_thread(PolicyBook.local, settings.policy_dir)
        intake = await asyncio.to_thread(wire, settings, clock, store, book)
        try:
            async with following_policies(nc.jetstream(), book):
                yield intake, nc
        finally:
            await clock.close()
            await asyncio.to_thread(intake.close)


def key_ring(settings: IntakeSettings) -> KeyRing:
    """The token signing keys; intake does not start without one (``helpdesk-dev up`` makes one)."""
    try:
        return KeyRing(settings.keys_dir())
    except (OSError, ValueError, KeyDirectoryError) as error:
        raise SettingsError(f"HELPDESK_JWT_KEYS_DIR: {error}") from None


def create_app(settings: IntakeSettings | None = None) -> Litestar:
    """The intake HTTP app; connections open in its lifespan, never at import."""
    settings = settings or from_env(IntakeSettings)
    clock = clock_from(settings)
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with connected(settings, clock, "helpdesk-intake") as (intake, nc):
            holder.update(intake=intake, nats=nc)
            app.state.tickets = intake.tickets  # the hot path's service without a dependency (routes.py)
            app.state.command_threads = threads = CommandThreads(settings.command_threads or THREADS)
            stopping, files = asyncio.Event(), PolicyFiles(intake.policies, settings.policy_dir)
            await first_import(files)
            watcher = asyncio.create_task(watch_policy_files(files, settings.policy_watch_seconds, stopping))
            try:
                async with following_revocations(nc.jetstream(), authenticator):
                    yield
            finally:
                stopping.set()
                await watcher
                await asyncio.to_thread(threads.close)
                holder.clear()

    async def database_ready() -> bool:
        return "intake" in holder and await asyncio.to_thread(holder["intake"].store.rows.ping)

    async def nats_ready() -> bool:
        return "nats" in holder and holder["nats"].is_connected

    client_address = ClientAddress(settings.trusted_networks())
    ring = key_ring(settings)
    issuer = WallClockTokens if clock.simulated else TokenIssuer
    tokens = issuer(ring, settings.token_ttl_seconds)
    authenticator = Authenticator(ring, settings.admin_token, settings.service_token)
    session_limit = SessionLimit(settings.session_max_seconds)
    clock_admin = ClockAdmin(clock.movable, lambda: holder["intake"].store.last_ticket_position(),
                             lambda: consumers_caught_up(holder["nats"].jetstream()))
    return build_app(
        service="intake", version=VERSION, authenticator=authenticator,
        handlers=[*CONTROLLERS, WebhookController, ReleaseController, PolicyController, inbound_email_route(settings.inbound_max_message_bytes),
                  attachments_route(attachment_limits(settings), settings.inbound_max_message_bytes,
                                    settings.max_body_bytes)],
        readiness={"database": database_ready, "nats": nats_ready}, tracer_provider=setup_tracing("intake"),
        lifespan=[lifespan], max_body_bytes=settings.max_body_bytes,
        exception_handlers=DOMAIN_ERROR_HANDLERS, enums=ENUMS,
        dependencies={
            "tickets": Provide(lambda: holder["intake"].tickets, sync_to_thread=False),
            "identity": Provide(lambda: holder["intake"].identity, sync_to_thread=False),
            "directory": Provide(lambda: holder["intake"].directory, sync_to_thread=False),
            "session_limit": Provide(lambda: session_limit, sync_to_thread=False),
            "inbound": Provide(lambda: holder["intake"].inbound, sync_to_thread=False),
            "portal": Provide(lambda: holder["intake"].portal, sync_to_thread=False),
            "webhooks": Provide(lambda: holder["intake"].webhooks, sync_to_thread=False),
            "releases": Provide(lambda: holder["intake"].releases, sync_to_thread=False),
            "policies": Provide(lambda: holder["intake"].policies, sync_to_thread=False),
            "tokens": Provide(lambda: tokens, sync_to_thread=False),
            "clock_admin": Provide(lambda: clock_admin, sync_to_thread=False),
            "client_address": Provide(lambda: client_address, sync_to_thread=False),
        },
    )


async def run_relay(settings: IntakeSettings | None = None) -> None:
    """Run the relay until SIGTERM/SIGINT, then drain NATS and close the store."""
    settings = settings or from_env(IntakeSettings)
    setup_tracing("intake-relay")
    await asyncio.to_thread(require, settings.database_url, MIGRATIONS)
    store = await asyncio.to_thread(open_event_store, settings.database_url, 4, 0)
    watch_pool("intake-relay", store.recorder.datastore.pool)  # type: ignore[attr-defined]
    nc = await connect_nats(settings.nats_url, "helpdesk-intake-relay")
    relay = Relay(store, nc.jetstream(), settings.database_url, StreamLimits.of(settings), settings.relay_window)
    _on_signals(relay.stop)
    try:
        async with serve_metrics(settings.bind_host, settings.relay_metrics_port):
            await relay.run()
    finally:
        await nc.drain()
        store.close()


async def run_smtp(settings: IntakeSettings | None = None) -> None:
    """Run the inbound SMTP listener until SIGTERM/SIGINT; it listens only once it is connected."""
    settings = settings or from_env(IntakeSettings)
    setup_tracing("intake-smtp")
    stopping = asyncio.Event()
    _on_signals(stopping.set)
    async with (serve_metrics(settings.bind_host, settings.smtp_metrics_port),
                connected(settings, clock_from(settings), "helpdesk-intake-smtp") as (intake, _)):
        await smtp.serve(intake.inbound, host=settings.bind_host, port=settings.inbound_smtp_port,
                         max_message_bytes=settings.inbound_max_message_bytes, stopping=stopping)


def _on_signals(stop: Any) -> None:
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
