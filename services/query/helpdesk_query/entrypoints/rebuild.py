"""``helpdesk-query rebuild``: replay the event store into a new generation, then switch to it.

Blue/green: the API keeps serving the active generation while the new one is
filled. The bulk of the stream is read over the wire-protocol bulk reader
(``adapters/bulkread.py``), folded in memory with the projection's own fold (the
cyclic collector off meanwhile) and written in chunks of JSON that PostgreSQL
unpacks (``write_views``, the projector's own write) over ``WRITERS`` connections
at once; indexes are built once, and the new generation then catches up. The switch holds the generation row (the projector waits on it),
takes the new generation up to at least the live position, points the ``query``
views at it and notifies readers, all in one transaction. The old generation is
dropped afterwards.

It creates schemas, so it runs under the migration role (the database owner's URL, as
``helpdesk-migrate``), never the services' runtime role; the generation it makes is
granted to that role by the default privileges the migrations set.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from tqdm import tqdm

from helpdesk_shared.migrations import DDL_PRIVILEGE, require, require_ddl

from helpdesk_query.adapters.eventstore import EventStream, Reader
from helpdesk_query.adapters.projection import Outcome, apply_batch, fold_messages, write_views
from helpdesk_query.adapters.schema import (
    CONTROL,
    MIGRATIONS,
    POSITION_CHANNEL,
    create_generation,
    create_indexes,
    generation_name,
    point_views_at,
)
from helpdesk_query.domain.hours import HoursDelta
from helpdesk_query.domain.ticket import TicketView
from helpdesk_query.entrypoints.projector import projection

log = logging.getLogger("helpdesk.query.rebuild")
BULK_ROWS = 2000  # tickets per statement of the bulk write
WRITERS = 2  # connections writing the bulk at once (PostgreSQL then unpacks on as many cores)
_HOURS = ("INSERT INTO {g}.hours (customer_id, month, policy, budget_minutes, planned_minutes, used_minutes)"
          " VALUES (%s, %s, %s, %s, %s, %s)")


@dataclass
class Rebuilt:
    """What a rebuild did, for the operator and the benchmark."""

    old: str
    new: str
    events: int
    position: int
    replay_seconds: float  # reading, folding and writing the bulk (no index build)
    replay_cpu_seconds: float  # this process's CPU time over the same span (the database's not counted)
    total_seconds: float


async def rebuild(conninfo: str, stream: EventStream, progress: bool = True, batch: int = 5000) -> Rebuilt:
    """Rebuild the read model from the stream into a new generation and switch to it."""
    await asyncio.to_thread(require, conninfo, MIGRATIONS)
    await stream.ensure()
    started, cpu = time.perf_counter(), time.process_time()
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        require_ddl(await (await conn.execute(DDL_PRIVILEGE)).fetchone())
        row = await (await conn.execute(f"SELECT active FROM {CONTROL}.generation")).fetchone()
        old = str(row[0])  # type: ignore[index]
        new = generation_name(int(old.rsplit("g", 1)[1]) + 1)
        await conn.execute(f"DROP SCHEMA IF EXISTS {new} CASCADE")
        await create_generation(conn, new, indexes=False)
        async with stream.bulk_reader() as reader:
            with _no_gc():  # the views are dropped (by reference count) before it is back on
                outcome = await _bulk_write(conninfo, conn, new, *await _fold_all(reader, batch, progress))
            replayed, replay_cpu = time.perf_counter() - started, time.process_time() - cpu
            await create_indexes(conn, new)
            await _catch_up(conn, new, reader, batch)
            position = await _switch(conn, old, new, reader)
        await conn.execute(f"DROP SCHEMA {old} CASCADE")
    total = time.perf_counter() - started
    log.info("rebuilt %s from %d events up to position %d in %.2f s; dropped %s",
             new, outcome.applied, position, total, old)
    return Rebuilt(old, new, outcome.applied, position, replayed, replay_cpu, total)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic collector off while the views pile up: the fold makes no cycles, and each
    collection would walk every view held so far (it took more than half of a replay's CPU)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _fold_all(reader: Reader, batch: int, progress: bool) -> tuple[Outcome, dict[str, TicketView]]:
    tickets: dict[str, TicketView] = {}
    outcome = Outcome(0, 0)
    with tqdm(total=reader.pending, unit="ev", unit_scale=True, desc="replay", file=sys.stderr,
              disable=not progress, mininterval=0.5) as bar:
        async for msgs in reader.batches(batch=batch):
            fold_messages(tickets, msgs, outcome)
            bar.update(len(msgs))
    return outcome, tickets


async def _bulk_write(conninfo: str, conn: psycopg.AsyncConnection[Any], generation: str,
                      outcome: Outcome, tickets: dict[str, TicketView]) -> Outcome:
    """The folded views, over ``WRITERS`` connections at once (PostgreSQL unpacking the rows is
    most of the write), then the norm-hours, the parked messages and the tracking."""
    views = list(tickets.values())
    tickets.clear()
    share = max(1, -(-len(views) // WRITERS))
    await asyncio.gather(*(_write_part(conninfo, generation, views[i:i + share])
                           for i in range(0, len(views), share)))
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(_HOURS.format(g=generation), month_totals(outcome.hours))
        await _park(conn, outcome)
        await cur.execute(f"UPDATE {generation}.tracking SET position = %s, stream_seq = %s",
                          (outcome.position, outcome.stream_seq))
    return outcome


async def _write_part(conninfo: str, generation: str, views: list[TicketView]) -> None:
    """Some of the views and their comments, on a connection of their own, in one transaction
    (the generation is nobody's yet: a rebuild that fails drops it the next time)."""
    async with await psycopg.AsyncConnection.connect(conninfo) as conn, conn.cursor() as cur:
        for i in range(0, len(views), BULK_ROWS):  # one statement per chunk; the rows are unpacked in SQL
            await write_views(cur, generation, views[i:i + BULK_ROWS], fresh=True)
        await conn.commit()


def month_totals(deltas: list[HoursDelta]) -> list[HoursDelta]:
    """One row per customer and month, as the live projector's upserts leave it: minutes added
    up, the last policy, the last budget named."""
    totals: dict[tuple[str, str], HoursDelta] = {}
    for customer, month, policy, budget, planned, used in deltas:
        if (row := totals.get((customer, month))) is not None:
            budget = row[3] if budget is None else budget
            planned, used = row[4] + planned, row[5] + used
        totals[(customer, month)] = (customer, month, policy, budget, planned, used)
    return list(totals.values())


async def _park(conn: psycopg.AsyncConnection[Any], outcome: Outcome) -> None:
    if outcome.parked:
        await projection().parking.park(conn, outcome.parked)


async def _catch_up(conn: psycopg.AsyncConnection[Any], generation: str, reader: Reader, batch: int) -> None:
    """Apply what reached the stream since the bulk read, batch by batch."""
    while await reader.refresh():
        async for msgs in reader.batches(batch=batch):
            async with conn.transaction():
                await apply_batch(conn, generation, msgs, notify=False)


async def _switch(conn: psycopg.AsyncConnection[Any], old: str, new: str, reader: Reader) -> int:
    """Under the generation lock: reach the live position, then point the views at ``new``."""
    async with conn.transaction():
        await conn.execute(f"SELECT active FROM {CONTROL}.generation FOR UPDATE")
        live = await _position(conn, old)
        while (position := await _position(conn, new)) < live:
            if not await reader.refresh():
                raise RuntimeError(f"the stream ends before the live position {live}")
            async for msgs in reader.batches():
                await apply_batch(conn, new, msgs, notify=False)
        await point_views_at(conn, new)
        await conn.execute("SELECT pg_notify(%s, %s)", (POSITION_CHANNEL, str(position)))
    return position


async def _position(conn: psycopg.AsyncConnection[Any], generation: str) -> int:
    row = await (await conn.execute(f"SELECT position FROM {generation}.tracking")).fetchone()
    return int(row[0]) if row else 0
