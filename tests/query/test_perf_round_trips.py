"""What query sends PostgreSQL per read and per live batch, from libpq's own protocol trace (issue #16).

On the reference machine a round trip costs about 70 µs of PostgreSQL's CPU and 240 µs of the
client's (two wake-ups, the asyncio wait), and a statement sent in a pipeline about 40 and 90:
at the live edge a batch is one event and a read is one ticket, so their count is their cost.
A read is one statement on an autocommit connection (not BEGIN, the read, COMMIT); a read of two
statements still runs in one transaction. A live batch is seven statements (it was ten): the
plan settings ride on the generation's lock, the tracking's lock on the read of the tickets,
the tracking's move and NOTIFY on the write of the views, and readers still hear the position.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import pq
from psycopg_pool import AsyncConnectionPool

from helpdesk_shared import events as ev
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.stream_runner import settle

from helpdesk_query.adapters.positions import PositionWatcher
from helpdesk_query.adapters.projection import view_from_row
from helpdesk_query.adapters.readmodel import ReadModel, TicketFilter, reading_pool
from helpdesk_query.adapters.schema import POSITION_CHANNEL
from helpdesk_query.domain.ticket import Comment
from helpdesk_query.entrypoints import projector
from tests.query.conftest import assert_matches
from tests.query.synthetic import histories, message


@contextlib.contextmanager
def traced(pgconn: pq.abc.PGconn) -> Iterator[list[tuple[str, str]]]:
    """The frontend messages ``pgconn`` sends inside the block, as libpq traces them: (kind, text) pairs."""
    sent: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "trace", "w+", encoding="utf-8") as file:
        pgconn.trace(file.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()
            file.flush()
            file.seek(0)
            for line in file:
                fields = line.rstrip("\n").split("\t")
                if len(fields) > 2 and fields[0] == "F":
                    sent.append((fields[2], " ".join(fields[3:])))


def _kinds(sent: list[tuple[str, str]], *kinds: str) -> list[str]:
    return [text for kind, text in sent if kind in kinds]


def _messages(events: list[ev.CloudEvent]) -> list[StreamMessage]:
    return [StreamMessage(i + 1, *message(e)[:2], e.sequence) for i, e in enumerate(events)]


async def _sent_by(pool: AsyncConnectionPool, read: Callable[[], Awaitable[Any]]) -> tuple[Any, list[tuple[str, str]]]:
    """What ``read`` returns and what it sent, on the pool's one connection."""
    async with pool.connection() as conn:
        pgconn = conn.pgconn
    with traced(pgconn) as sent:
        found = await read()
    return found, sent


async def test_perf_a_ticket_read_is_one_round_trip_and_a_read_of_two_statements_one_transaction(
        read_model: str) -> None:
    events = list(histories(tickets=3, events_per_ticket=3, seed=5))
    async with await psycopg.AsyncConnection.connect(read_model) as conn:
        await settle(conn, projector.projection(), _messages(events))
    ticket_id = events[0].data.ticket_id
    pool = reading_pool(read_model, max_size=1, min_size=1)
    await pool.open(wait=True)
    try:
        readmodel = ReadModel(pool)
        page, page_sent = await _sent_by(pool, lambda: readmodel.ticket_page(ticket_id))
        rows, list_sent = await _sent_by(pool, lambda: readmodel.tickets(TicketFilter(), "-created", None, 10))
        both, ticket_sent = await _sent_by(pool, lambda: readmodel.ticket(ticket_id))
    finally:
        await pool.close()
    assert page is not None and both is not None and len(rows) == 3
    assert page.view == view_from_row(both[0], [msgspec.convert(c, Comment) for c in both[1]])
    for sent in (page_sent, list_sent):  # the read alone: one statement, one round trip
        assert len(_kinds(sent, "Sync")) == 1 and not _kinds(sent, "Query"), sent
    assert [text.split('"')[1] for text in _kinds(ticket_sent, "Query")] == ["BEGIN", "COMMIT"], ticket_sent


async def test_perf_a_live_batch_is_seven_statements_and_readers_hear_its_position(read_model: str) -> None:
    events = list(histories(tickets=4, events_per_ticket=3, seed=9))
    msgs = _messages(events)
    async with (await psycopg.AsyncConnection.connect(read_model) as conn,
                await psycopg.AsyncConnection.connect(read_model, autocommit=True) as listener):
        await listener.execute(f"LISTEN {POSITION_CHANNEL}")
        for msg in msgs[:-1]:  # the live edge: one event per batch, in pipeline mode (statements prepared by now)
            await settle(conn, projector.projection(), [msg], pipelined=True)
        with traced(conn.pgconn) as sent:
            applied, parked = await settle(conn, projector.projection(), msgs[-1:], pipelined=True)
        heard = [int(n.payload) async for n in listener.notifies(timeout=1.0)]
        tracking = await (await listener.execute("SELECT position, stream_seq FROM query.tracking")).fetchone()
    assert (applied, parked) == (1, [])
    statements = _kinds(sent, "Bind", "Query")
    assert len(statements) == 7, sent  # BEGIN, the parking lock, the held ones, the generation, read, write, COMMIT
    assert heard[-1] == events[-1].sequence and heard == sorted(heard)
    assert tracking == (events[-1].sequence, len(msgs))
    await assert_matches(read_model, events)


async def test_perf_a_waiting_read_is_woken_by_its_position_or_by_its_own_timer() -> None:
    """``PositionWatcher.wait_for`` without ``asyncio.wait_for``: the position wakes the waiters up to it, in
    order; a waiter whose time passes first is told False, and a later advance past it changes nothing."""
    watcher = PositionWatcher()
    woken: list[int] = []

    async def wait(position: int, timeout: float) -> bool:
        done = await watcher.wait_for(position, timeout)
        woken.append(position)
        return done

    waits = [asyncio.create_task(wait(p, 5.0)) for p in (30, 10, 20)]
    late = asyncio.create_task(wait(40, 0.05))
    await asyncio.sleep(0)
    watcher.advance(20)
    assert await asyncio.gather(*waits[1:]) == [True, True] and not waits[0].done()
    assert await late is False
    watcher.advance(40)
    assert await waits[0] is True and woken == [10, 20, 40, 30]
    assert await watcher.wait_for(40, 0.0) is True
