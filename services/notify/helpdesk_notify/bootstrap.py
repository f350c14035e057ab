"""The one place notify is wired: settings → pool, NATS, stream, notifier (consumer + senders), HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from nats.aio.client import Client as NATS
from psycopg_pool import AsyncConnectionPool

from helpdesk_shared.clock import SystemClock
from helpdesk_shared.connections import connect_nats, database_pool
from helpdesk_shared.metrics import watch_pool
from helpdesk_shared.migrations import require
from helpdesk_shared.policy_book import PolicyBook, follow_policies
from helpdesk_shared.settings import from_env
from helpdesk_shared.stream import StreamLimits, ensure_stream
from helpdesk_shared.telemetry import setup_tracing
from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.jwks import remote_authenticator
from helpdesk_shared.web.revocation import following_revocations
from helpdesk_shared.web.parked import ParkedConsumers, ParkedRoutes

from helpdesk_notify.adapters.directory import ContactsTable
from helpdesk_notify.adapters.outbox import PostgresOutbox
from helpdesk_notify.adapters.policies import PolicyWindows
from helpdesk_notify.adapters.rendering import Renderer
from helpdesk_notify.adapters.schema import MIGRATIONS
from helpdesk_notify.adapters.smtp import SmtpMailer, SmtpServer
from helpdesk_notify.adapters.webhook_http import IntakeSecrets, PinnedPoster
from helpdesk_notify.adapters.webhook_outbox import WebhookOutbox
from helpdesk_notify.application import Sender
from helpdesk_notify.application.webhooks import WebhookSender
from helpdesk_notify.domain.delivery import Backoff
from helpdesk_notify.domain.webhooks import RetryPolicy
from helpdesk_notify.entrypoints.consumer import projection
from helpdesk_notify.entrypoints.http import CONTROLLERS, ENUMS, Admin
from helpdesk_notify.entrypoints.notifier import Notifier
from helpdesk_notify.entrypoints.webhooks import WebhookAdmin, WebhookDeliveryRoutes
from helpdesk_notify.settings import NotifySettings

VERSION = "0.1.0"


@dataclass
class Running:
    pool: AsyncConnectionPool
    nc: NATS
    notifier: Notifier
    mailers: list[SmtpMailer]
    task: asyncio.Task[None]
    admin: Admin
    parked: ParkedConsumers
    webhooks: WebhookAdmin
    http_clients: list[IntakeSecrets | PinnedPoster]
    policy_feed: Any = None  # keeps the windows' policies on the published versions


async def start(settings: NotifySettings) -> Running:
    """Open everything notify needs and start the notifier."""
    server = SmtpServer.from_url(settings.smtp_url, settings.smtp_starttls, settings.smtp_username,
                                 settings.smtp_password, settings.smtp_timeout)
    sender_address = email.utils.parseaddr(settings.mail_from)[1] or "helpdesk@localhost"
    book = await asyncio.to_thread(PolicyBook.local, settings.policy_dir)
    windows = PolicyWindows(book)
    await asyncio.to_thread(require, settings.database_url, MIGRATIONS)
    nc = await connect_nats(settings.nats_url, "helpdesk-notify")
    js = nc.jetstream()
    await ensure_stream(js, StreamLimits.of(settings))
    policy_feed = await follow_policies(js, book)
    workers = settings.notify_senders + settings.webhook_senders
    pool = database_pool(settings.database_url, max_size=max(settings.pool_size, workers + 2),
                         autocommit=True)
    await pool.open(wait=True)
    watch_pool("notify", pool)
    outbox, contacts, renderer = PostgresOutbox(pool), ContactsTable(pool), Renderer()
    backoff = Backoff(settings.notify_max_attempts, settings.notify_backoff_seconds,
                      settings.notify_backoff_max_seconds)
    mailers = [SmtpMailer(server, sender_address) for _ in range(max(1, settings.notify_senders))]
    senders = [Sender(outbox, contacts, mailer, renderer, backoff, settings.mail_from, SystemClock().now,
                      max(1, settings.notify_claim)) for mailer in mailers]
    hooks, secrets = WebhookOutbox(pool), IntakeSecrets(settings.intake_url, settings.service_token)
    poster = PinnedPoster(settings.webhook_timeout_seconds, settings.webhook_allow_loopback)
    policy = RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_seconds,
                         settings.webhook_backoff_max_seconds)
    hook_senders = [WebhookSender(hooks, secrets, poster, policy, claim=max(1, settings.notify_claim))
                    for _ in range(max(0, settings.webhook_senders))]
    notifier = Notifier(settings.database_url, js, windows, outbox, senders, settings.notify_batch,
                        settings.notify_poll_seconds, settings.consumer_stuck_seconds, hooks, hook_senders,
                        max(1, settings.notify_claim))
    task = asyncio.create_task(notifier.run())
    parked = ParkedConsumers(settings.database_url, {"notify": projection(windows)}, notifier.wake)
    return Running(pool, nc, notifier, mailers, task, Admin(outbox, contacts, notifier.wake), parked,
                   WebhookAdmin(hooks, notifier.wake), [secrets, poster], policy_feed)



async def stop(running: Running) -> None:
    """Finish the mail in hand, then close SMTP, NATS and the pool (SIGTERM's graceful path)."""
    running.notifier.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(running.task, 20)
    for mailer in running.mailers:
        await mailer.close()
    for client in running.http_clients:
        await client.close()
    if running.policy_feed is not None:
        await running.policy_feed.stop()
    with contextlib.suppress(Exception):
        await running.nc.drain()
    await running.pool.close()


def create_app(settings: NotifySettings | None = None) -> Litestar:
    """The notify HTTP app; connections open in its lifespan, never at import."""
    settings = settings or from_env(NotifySettings)
    holder: dict[str, Running] = {}
    authenticator = remote_authenticator(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        holder["running"] = running = await start(settings)
        try:
            async with following_revocations(running.nc.jetstream(), authenticator):
                yield
        finally:
            await stop(holder.pop("running"))

    async def database_ready() -> bool:
        return "running" in holder and await holder["running"].admin.outbox.ping()

    async def nats_ready() -> bool:
        return "running" in holder and holder["running"].nc.is_connected

    async def consumer_ready() -> bool:
        """Following the stream (or standing by), and not stuck on work it has."""
        notifier = holder["running"].notifier if "running" in holder else None
        return notifier is not None and (notifier.following or notifier.standby) and not notifier.stuck

    return build_app(
        service="notify", version=VERSION, handlers=[*CONTROLLERS, ParkedRoutes, WebhookDeliveryRoutes],
        authenticator=authenticator,
        readiness={"database": database_ready, "nats": nats_ready, "consumer": consumer_ready},
        tracer_provider=setup_tracing("notify"), lifespan=[lifespan], enums=ENUMS,
        dependencies={"admin": Provide(lambda: holder["running"].admin, sync_to_thread=False),
                      "parked": Provide(lambda: holder["running"].parked, sync_to_thread=False),
                      "webhooks": Provide(lambda: holder["running"].webhooks, sync_to_thread=False)},
    )


