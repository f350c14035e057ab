"""``helpdesk-query rebuild``: replay the event store into a new generation, then switch to it.

Blue/green: the API keeps serving the active generation while the new one is
filled. The bulk of the stream is read over the wire-protocol bulk reader
(``adapters/bulkread.py``), folded in memory into rows (``adapters/bulkfold.py``: the
projection's own fold for all but the common facts; the cyclic collector off meanwhile)
and written by binary COPY (``adapters/bulkwrite.py``): the comments while the stream is
still being read and folded, the tickets at the end over two COPYs at once. The tickets'
search vectors, then the indexes, the tickets' and comments' primary keys among them (none
is kept up row by row during the load), are built once, over two sessions at once (the
folded rows are freed in a thread meanwhile), and the new generation then catches up. The
switch holds the generation row (the projector waits on it), takes the new generation up
to at least the live position, points the ``query`` views at it and notifies readers, all
in one transaction. The old generation is dropped afterwards. A rebuild that stops before the switch leaves the old generation
serving; the next one drops what it left and starts again.

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
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from tqdm import tqdm

from helpdesk_shared.migrations import DDL_PRIVILEGE, require, require_ddl

from helpdesk_query.adapters.bulkfold import Folded, fold_rows
from helpdesk_query.adapters.bulkwrite import copying, write_rows
from helpdesk_query.adapters.eventstore import EventStream, Reader
from helpdesk_query.adapters.projection import Outcome, apply_batch
from helpdesk_query.adapters.schema import (
    COMMENT_COLUMNS,
    CONTROL,
    MIGRATIONS,
    POSITION_CHANNEL,
    TICKET_COLUMNS,
    create_generation,
    generation_name,
    index_statements,
    key_statements,
    point_views_at,
    search_statement,
)
from helpdesk_query.domain.hours import HoursDelta
from helpdesk_query.entrypoints.projector import projection

log = logging.getLogger("helpdesk.query.rebuild")
_TICKETS_AT_ONCE = 2000  # rows written to one of the two tickets COPYs before the other
_INDEX_MEMORY = "256MB"  # per index-building session: a GIN build over 100,000 tickets fits without spilling
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
    phases: dict[str, float] = field(default_factory=dict)  # seconds: read, fold, write, index, switch


async def rebuild(conninfo: str, stream: EventStream, progress: bool = True, batch: int = 5000) -> Rebuilt:
    """Rebuild the read model from the stream into a new generation and switch to it."""
    await asyncio.to_thread(require, conninfo, MIGRATIONS)
    await stream.ensure()
    started, cpu = time.perf_counter(), time.process_time()
    phases: dict[str, float] = {}
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        require_ddl(await (await conn.execute(DDL_PRIVILEGE)).fetchone())
        row = await (await conn.execute(f"SELECT active FROM {CONTROL}.generation")).fetchone()
        old = str(row[0])  # type: ignore[index]
        new = generation_name(int(old.rsplit("g", 1)[1]) + 1)
        await conn.execute(f"DROP SCHEMA IF EXISTS {new} CASCADE")  # what a stopped rebuild left
        await create_generation(conn, new, indexes=False)
        async with stream.bulk_reader() as reader:
            with _no_gc():  # the rows are freed (by reference count) before it is back on
                folded = await _fold_and_write(conninfo, conn, new, reader, batch, progress, phases)
                applied = folded.outcome.applied
                replayed, replay_cpu = time.perf_counter() - started, time.process_time() - cpu
                at = time.perf_counter()
                freed = asyncio.create_task(asyncio.to_thread(_free, folded))  # while PostgreSQL indexes
                del folded
                await _index(conninfo, new)
                for statement in key_statements(new):
                    await conn.execute(statement)
                await freed
                phases["index"] = time.perf_counter() - at
            at = time.perf_counter()
            await _catch_up(conn, new, reader, batch)
            position = await _switch(conn, old, new, reader)
            phases["catch-up and switch"] = time.perf_counter() - at
        await conn.execute(f"DROP SCHEMA {old} CASCADE")
    total = time.perf_counter() - started
    log.info("rebuilt %s from %d events up to position %d in %.2f s; dropped %s",
             new, applied, position, total, old)
    return Rebuilt(old, new, applied, position, replayed, replay_cpu, total, phases)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic collector off while the rows pile up: the fold makes no cycles, and each
    collection would walk every row held so far (it took more than half of a replay's CPU)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _fold_and_write(conninfo: str, conn: psycopg.AsyncConnection[Any], generation: str, reader: Reader,
                          batch: int, progress: bool, phases: dict[str, float]) -> Folded:
    """Fold the stream into rows while its comments are being copied; then copy the tickets (final
    only now) over two COPYs at once, and write the norm-hours, the parked messages and the
    tracking. A failure or a cancellation ends every COPY not yet committed with an error."""
    async with contextlib.AsyncExitStack() as copies:
        comments = await copies.enter_async_context(
            copying(conninfo, f"{generation}.comments", COMMENT_COLUMNS))
        tickets = [await copies.enter_async_context(copying(conninfo, f"{generation}.tickets", TICKET_COLUMNS))
                   for _ in range(2)]
        folded = await _fold_all(reader, batch, progress, phases, comments)
        at = time.perf_counter()
        rows = list(folded.tickets.values())
        for n, i in enumerate(range(0, len(rows), _TICKETS_AT_ONCE)):  # in turn: both sessions kept busy
            await write_rows(tickets[n % 2], rows[i:i + _TICKETS_AT_ONCE])
        del rows
    await _write_rest(conn, generation, folded.outcome)
    phases["write"] += time.perf_counter() - at
    return folded


async def _fold_all(reader: Reader, batch: int, progress: bool, phases: dict[str, float],
                    comments: psycopg.AsyncCopy) -> Folded:
    """Every message folded into rows; the comments made are copied batch by batch."""
    folded = Folded()
    started, folding, copied = time.perf_counter(), 0.0, 0.0
    with tqdm(total=reader.pending, unit="ev", unit_scale=True, desc="replay", file=sys.stderr,
              disable=not progress, mininterval=0.5) as bar:
        async for msgs in reader.rows(batch=batch):
            at = time.perf_counter()
            fold_rows(folded, msgs)
            folding += (now := time.perf_counter()) - at
            if folded.comments:
                await write_rows(comments, folded.comments)
                folded.comments = []
                copied += time.perf_counter() - now
            bar.update(len(msgs))
    phases.update(read=time.perf_counter() - started - folding - copied, fold=folding, write=copied)
    return folded


async def _write_rest(conn: psycopg.AsyncConnection[Any], generation: str, outcome: Outcome) -> None:
    """The norm-hours, the parked messages and the tracking of the folded stream."""
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(_HOURS.format(g=generation), month_totals(outcome.hours))
        await _park(conn, outcome)
        await cur.execute(f"UPDATE {generation}.tracking SET position = %s, stream_seq = %s",
                          (outcome.position, outcome.stream_seq))


async def _index(conninfo: str, generation: str, connections: int = 2) -> None:
    """The tickets' search vectors and the generation's indexes, built over ``connections`` sessions at
    once (CREATE INDEX takes a lock that does not exclude another CREATE INDEX on the same table): the
    vectors first, the largest of the other indexes next, the vectors' own last (a build on a table still
    being filled waits for its commit). One build failing cancels the others: the rebuild stops at once,
    its generation left to be dropped."""
    todo = deque([search_statement(generation), *sorted(
        index_statements(generation), key=lambda s: (f"{generation}.search " in s, "USING gin" not in s))])

    async def build() -> None:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as session:
            await session.execute(f"SET maintenance_work_mem = '{_INDEX_MEMORY}'")
            await session.execute("SET max_parallel_maintenance_workers = 0")  # the sessions are the parallelism
            while todo:
                at, statement = time.perf_counter(), todo.popleft()
                await session.execute(statement)
                log.debug("%.2f s: %s", time.perf_counter() - at, statement)

    async with asyncio.TaskGroup() as builds:
        for _ in range(connections):
            builds.create_task(build())


def _free(folded: Folded) -> None:
    """Drop the folded rows (millions of objects: seconds of deallocation, beside the index build)."""
    folded.tickets.clear()


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
