"""The whole desk as real processes (intake, relay, query, sla, notify), and whether it has settled.

Settled means every durable JetStream consumer has taken and acknowledged all it was given
(a consumer stuck on one message keeps it unacknowledged), and the relay has published the
store's newest ticket event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import nats

from helpdesk_shared import subjects
from helpdesk_shared.stream import last_store_position
from tests.support.desk import Desk, provision
from tests.support.processes import ServiceProcess, Services

SERVICE_NAMES = ("intake", "relay", "query", "sla", "notify")
DURABLE_CONSUMERS_AT_LEAST = 3  # query's projector (tickets), sla's consumer, notify's consumer


@dataclass
class Stack:
    """The processes by role; ``desk`` talks to intake."""

    processes: dict[str, ServiceProcess]
    desk: Desk
    nats_url: str
    database_url: str
    urls: dict[str, str] = field(default_factory=dict)


def start_stack(services: Services, nats_url: str, database_url: str) -> Stack:
    """Start the five processes, wait until each is ready, provision a desk."""
    processes = {
        "intake": services.start("intake", "serve"),
        "relay": services.start("intake", "relay"),
        "query": services.start("query", "serve"),
        "sla": services.start("sla", "serve"),
        "notify": services.start("notify", "serve"),
    }
    desk = provision(httpx.Client(base_url=processes["intake"].url, timeout=10))
    urls = {name: p.url for name, p in processes.items() if p.url}
    return Stack(processes, desk, nats_url, database_url, urls)


@dataclass(frozen=True)
class ConsumerState:
    name: str
    pending: int  # not yet delivered
    unacknowledged: int  # delivered, not acknowledged


def consumer_states(nats_url: str) -> list[ConsumerState]:
    """Every durable consumer of the HELPDESK stream, with what it still holds."""

    async def read() -> list[ConsumerState]:
        client = await nats.connect(nats_url, allow_reconnect=False, connect_timeout=2)
        try:
            infos = await client.jetstream().consumers_info(subjects.STREAM)
            return [ConsumerState(i.name, i.num_pending or 0, i.num_ack_pending or 0)
                    for i in infos if i.config.durable_name]
        finally:
            await client.close()

    return asyncio.run(read())


def relayed_head(nats_url: str) -> int:
    """The store position of the newest message the relay published."""

    async def read() -> int:
        client = await nats.connect(nats_url, allow_reconnect=False, connect_timeout=2)
        try:
            return await last_store_position(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(read())


def unsettled(nats_url: str) -> list[ConsumerState]:
    """The consumers still holding messages; [] once every one has caught up with the stream.

    Raises if fewer durable consumers exist than the stack runs (one never bound).
    """
    states = consumer_states(nats_url)
    if len(states) < DURABLE_CONSUMERS_AT_LEAST:
        return [ConsumerState(f"only {[s.name for s in states]} bound", -1, -1)]
    return [s for s in states if s.pending or s.unacknowledged]
