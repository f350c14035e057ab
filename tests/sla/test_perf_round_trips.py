"""What the SLA consumer sends PostgreSQL per live batch, and the timer wheel per idle turn, from libpq's own
protocol trace (issue #16).

At the live edge a batch is a ticket event or two; in pipeline mode (``PIPELINE_UP_TO``) its BEGIN, the
parking lock, the writes and COMMIT travel with its reads, and the facts it records go in by one
``INSERT`` (pipeline mode has no COPY), numbered as COPY numbers them. Against the real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import msgspec
import psycopg

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.stream_runner import settle

from helpdesk_sla.application import take_events
from helpdesk_sla.entrypoints.consumer import PIPELINE_UP_TO, SlaProjection
from helpdesk_sla.entrypoints.wheel import Wheel
from tests.query.test_perf_round_trips import traced
from tests.sla.test_publisher_urgent_first import AT, POLICY, _ticket_events


def _opened(tid: str, seq: int) -> StreamMessage:
    [(_, event)] = _ticket_events(tid)
    event = msgspec.structs.replace(event, sequence=seq)
    return StreamMessage(seq, subjects.ticket_subject(tid, "opened"), msgspec.json.encode(event), seq)


async def _settled(conn: psycopg.AsyncConnection[Any], tid: str, seq: int, pipelined: bool
                   ) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """A ticket's opening settled as one batch: its outbox rows (id, kind, payload) and what the batch sent."""
    with traced(conn.pgconn) as sent:
        assert await settle(conn, SlaProjection({"urgent-first": POLICY}.get), [_opened(tid, seq)],
                            pipelined) == (1, [])
    cursor = await conn.execute("SELECT id, subject, payload, urgent FROM sla.outbox WHERE ticket_id = %s"
                                " ORDER BY id", (tid,))
    return [(r[0], r[1].rsplit(".", 1)[-1], sla.decode(bytes(r[2])), r[3]) for r in await cursor.fetchall()], sent


def _waits(sent: list[tuple[str, str]], pipelined: bool) -> int:
    """The round trips the client waited on: each Sync or simple Query outside a pipeline; inside one, each
    Flush (a result wanted now) and the pipeline's end."""
    if pipelined:
        return sum(kind == "Flush" for kind, _ in sent) + 1
    return sum(kind in ("Sync", "Query") for kind, _ in sent)


async def test_perf_a_live_sla_batch_is_pipelined_and_records_its_facts_as_copy_does(database_url: str) -> None:
    assert PIPELINE_UP_TO >= 1
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for seq in range(1, 7):  # statements prepared by now (psycopg: from the fifth time), as when live
            await _settled(conn, f"warm-{seq}", seq, pipelined=seq % 2 == 0)
        plain, plain_sent = await _settled(conn, "plain", 7, pipelined=False)
        piped, piped_sent = await _settled(conn, "piped", 8, pipelined=True)
        timers = await (await conn.execute("SELECT ticket_id, count(*) FROM sla.timers WHERE ticket_id IN"
                                           " ('plain', 'piped') GROUP BY 1 ORDER BY 1")).fetchall()
        tracking = await (await conn.execute("SELECT position, stream_seq FROM sla.tracking")).fetchone()
    assert _waits(plain_sent, False) >= 13, plain_sent  # a round trip a statement, COPY's included
    assert _waits(piped_sent, True) <= 10, piped_sent  # a round trip per read the batch waits on
    assert plain and [(kind, envelope.data.ticket_id, urgent) for _, kind, envelope, urgent in piped] == [
        (kind, "piped", urgent) for _, kind, _, urgent in plain]
    for outbox_id, _, envelope, _ in piped + plain:  # numbered by their outbox ids, either way
        assert (envelope.id, envelope.sequence) == (f"sla-{outbox_id}", outbox_id)
    assert len(timers) == 2 and dict(timers)["piped"] == dict(timers)["plain"] > 0
    assert tracking == (8, 8)


class _At:
    """A clock standing at ``instant``, as the wheel asks it (the wall clock's kind: nothing to report to)."""

    simulated, movable = True, None

    def __init__(self, instant: dt.datetime) -> None:
        self.instant = instant

    def now(self) -> dt.datetime:
        return self.instant

    async def follow(self, nc: Any) -> None:
        """Nothing to follow."""

    async def close(self) -> None:
        """Nothing to stop."""


async def test_perf_a_wheel_turn_with_nothing_due_is_one_read_without_a_transaction(database_url: str) -> None:
    """Most of the wheel's wake-ups (every consumer commit, the interval) find nothing due: they cost one
    read, no BEGIN, locking read and COMMIT. A turn once something is due still fires it, and says so."""
    policy_of = {"urgent-first": POLICY}.get
    clock, commits = _At(AT), []
    wheel = Wheel(database_url, clock, policy_of, asyncio.Event(), lambda: commits.append(1), interval=0)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        async with conn.transaction():
            await take_events(conn, _ticket_events("t-1"), policy_of)  # a warning in 1 min, a breach in 2
        with traced(conn.pgconn) as idle:
            await wheel._turn(conn)
        clock.instant = AT + dt.timedelta(minutes=3)
        with traced(conn.pgconn) as due:
            await wheel._turn(conn)
        fired = await (await conn.execute("SELECT count(*) FROM sla.timers WHERE fired_at IS NOT NULL")).fetchone()
    assert _waits(idle, False) == 1 and not any("BEGIN" in text for _, text in idle), idle
    assert any("BEGIN" in text for _, text in due) and fired == (2,) and commits == [1]
