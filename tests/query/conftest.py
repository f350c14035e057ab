"""Helpers for the query tests: a JetStream client, the projector in-process, read-model probes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import nats
import psycopg
import pytest

from helpdesk_shared import events as ev

from helpdesk_query.adapters.positions import PositionWatcher
from helpdesk_query.adapters.schema import checksum
from helpdesk_query.domain.ticket import TicketView, fold
from helpdesk_query.entrypoints.projector import Projector


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Any]:
    client = await nats.connect(nats_url)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def js(nc: Any) -> Any:
    return nc.jetstream()


@pytest.fixture
def read_model(database_url: str) -> str:
    """A migrated read model (``database_url`` is a migrated database)."""
    return database_url


@contextlib.asynccontextmanager
async def projecting(database_url: str, js: Any, batch: int = 100) -> AsyncIterator[PositionWatcher]:
    """The projector running in this process; its watcher tells how far it got."""
    watcher = PositionWatcher()
    projector = Projector(database_url, js, watcher, batch)
    task = asyncio.create_task(projector.run())
    try:
        yield watcher
    finally:
        projector.stop()
        await asyncio.wait_for(task, 10)


async def reached(watcher: PositionWatcher, position: int, timeout: float = 20) -> None:
    assert await watcher.wait_for(position, timeout), f"stuck at {watcher.position}, wanted {position}"


async def sql(database_url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        return await (await conn.execute(query, args or None)).fetchall()


async def read_model_checksum(database_url: str, schema: str = "query") -> str:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        return await checksum(conn, schema)


def expected_tickets(events: list[ev.CloudEvent]) -> dict[str, TicketView]:
    """Each ticket folded from its events, the way a correct projection must end up."""
    by_ticket: dict[str, list[tuple[ev.TicketFact, int]]] = {}
    for event in events:
        by_ticket.setdefault(event.data.ticket_id, []).append((event.data, event.sequence))
    return {tid: fold(facts) for tid, facts in by_ticket.items()}  # type: ignore[misc]


async def assert_matches(database_url: str, events: list[ev.CloudEvent]) -> None:
    """The read model holds exactly the folded tickets: versions, money, comments, files, nothing doubled."""
    expected = expected_tickets(events)
    rows = await sql(database_url, "SELECT id, version, status, spent_minutes, billed_minutes, position,"
                     " (SELECT count(*) FROM query.comments c WHERE c.ticket_id = t.id), t.attachments,"
                     " (SELECT coalesce(jsonb_agg(a ORDER BY c.position, c.id), '[]') FROM query.comments c,"
                     " jsonb_array_elements(c.attachments) a WHERE c.ticket_id = t.id) FROM query.tickets t")
    actual = {r[0]: r[1:] for r in rows}
    assert actual == {tid: (v.version, v.status.value, v.spent_minutes, v.billed_minutes, v.position,
                            len(v.comments), msgspec.to_builtins(list(v.attachments)),
                            msgspec.to_builtins([a for c in v.comments for a in c.attachments]))
                      for tid, v in expected.items()}
