"""The one place sla is wired: settings → clock, policies, consumer, timer wheel, publisher, sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide

from helpdesk_shared.clock import ServiceClock, clock_from
from helpdesk_shared.connections import database_answers, nats_connection
from helpdesk_shared.migrations import require
from helpdesk_shared.policies import Policy
from helpdesk_shared.policy_book import PolicyBook, following_policies
from helpdesk_shared.settings import from_env
from helpdesk_shared.stream import StreamLimits, ensure_stream
from helpdesk_shared.telemetry import setup_tracing
from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.jwks import remote_authenticator
from helpdesk_shared.web.revocation import following_revocations
from helpdesk_shared.web.parked import ParkedConsumers, ParkedRoutes

from helpdesk_sla.adapters.intake import IntakeClient
from helpdesk_sla.adapters.schema import MIGRATIONS
from helpdesk_sla.entrypoints.commands import CommandSender
from helpdesk_sla.entrypoints.consumer import Consumer, SlaProjection
from helpdesk_sla.entrypoints.policies import PolicyReplanner, replan_changed_policies
from helpdesk_sla.entrypoints.publisher import Publisher
from helpdesk_sla.entrypoints.wheel import Wheel
from helpdesk_sla.settings import SlaSettings

VERSION = "0.1.0"
log = logging.getLogger("helpdesk.sla")


def create_app(settings: SlaSettings | None = None) -> Litestar:
    settings = settings or from_env(SlaSettings)
    held: dict[str, Any] = {}
    authenticator = remote_authenticator(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            nc = held["nats"] = await stack.enter_async_context(nats_connection(settings.nats_url, "helpdesk-sla"))
            js = nc.jetstream()
            await ensure_stream(js, StreamLimits.of(settings))
            await stack.enter_async_context(following_revocations(js, authenticator))
            await asyncio.to_thread(require, settings.database_url, MIGRATIONS)
            clock = clock_from(settings)
            await clock.follow(nc)
            stack.push_async_callback(clock.close)
            policies = PolicyBook.local(settings.policy_dir)
            await stack.enter_async_context(following_policies(js, policies))
            await replan_changed_policies(settings.database_url, policies, clock)
            intake = IntakeClient(settings.intake_url, settings.service_token)
            stack.push_async_callback(intake.close)
            loops = held["loops"] = _loops(settings, js, clock, policies, intake)
            held["parked"] = ParkedConsumers(settings.database_url, {"sla": SlaProjection(policies.get)})
            tasks = [asyncio.create_task(loop.run()) for loop in loops]
            held["ready"] = True
            try:
                yield
            finally:
                for loop in loops:
                    loop.stop()
                _, pending = await asyncio.wait(tasks, timeout=5)
                for task in pending:
                    task.cancel()

    async def nats_ready() -> bool:
        nc = held.get("nats")
        return bool(held.get("ready") and nc is not None and nc.is_connected)

    async def database_ready() -> bool:
        return await database_answers(settings.database_url)

    async def consumer_ready() -> bool:
        """Not stuck: the consumer, when it has work, makes progress (lagging is fine)."""
        return bool(held.get("ready")) and not any(loop.stuck for loop in held["loops"] if isinstance(loop, Consumer))

    return build_app(
        service="sla", version=VERSION, handlers=[ParkedRoutes], authenticator=authenticator,
        readiness={"database": database_ready, "nats": nats_ready, "consumer": consumer_ready},
        tracer_provider=setup_tracing("sla"), lifespan=[lifespan],
        dependencies={"parked": Provide(lambda: held["parked"], sync_to_thread=False)},
    )


def _loops(settings: SlaSettings, js: Any, clock: ServiceClock, book: PolicyBook, intake: IntakeClient) -> list[Any]:
    timers_changed, outbox_filled, commands_added = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def committed() -> None:  # the wheel's: facts, commands, follow-up timers
        for event in (timers_changed, outbox_filled, commands_added):
            event.set()

    def planned() -> None:  # the consumer's and the replanner's: timers and facts, never a command
        timers_changed.set()
        outbox_filled.set()

    policy_of: Callable[[str], Policy | None] = book.get
    loops: list[Any] = [
        PolicyReplanner(settings.database_url, book, clock, planned),
        Wheel(settings.database_url, clock, policy_of, timers_changed, committed, settings.sla_batch),
        Publisher(settings.database_url, js, outbox_filled, replicas=settings.stream_replicas),
        CommandSender(settings.database_url, intake, commands_added, timers_changed.set),
    ]
    if settings.sla_consume:
        loops.append(Consumer(settings.database_url, js, policy_of, planned, settings.sla_batch,
                              settings.consumer_stuck_seconds))
    return loops
