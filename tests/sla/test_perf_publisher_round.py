"""The SLA publisher's round after a commit that recorded no fact (issue #16): one statement, and the mark.

Every commit of the consumer wakes the publisher, which must mark the tracked position (query's
read-your-writes waits on it) once every fact caused up to it is on the stream. Most commits record
no fact: such a round reads the position, the urgent tickets and whether the outbox holds anything in
one statement (one snapshot), and reads nothing more. Against the real PostgreSQL and NATS.
"""

from __future__ import annotations

import asyncio

import nats
import psycopg

from helpdesk_shared.sla_marks import SlaMark, follow_marks, open_marks
from helpdesk_shared.stream import ensure_stream

from helpdesk_sla.entrypoints.publisher import Publisher
from tests.query.test_perf_round_trips import traced
from tests.sla.test_publisher_urgent_first import POSITION, _fill
from tests.support.waiting import async_wait_until


async def test_perf_sla_publisher_round_over_an_empty_outbox_is_one_statement_and_marks_the_position(
        database_url: str, nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js)
    kv = await open_marks(js)
    marks: list[SlaMark] = []
    watching = asyncio.create_task(follow_marks(kv, marks.append))
    publisher = Publisher(database_url, js, asyncio.Event())
    try:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("UPDATE sla.tracking SET position = %s", (POSITION - 1,))
            with traced(conn.pgconn) as sent:
                assert await publisher._publish_batch(conn, kv) == 0
            _fill(database_url, [("x", False), ("y", True)])  # the tracking moves to POSITION with them
            assert await publisher._publish_batch(conn, kv) == 1  # the urgent ticket's round: no mark
            assert await publisher._publish_batch(conn, kv) == 1  # the oldest, all there was: marked
            assert await publisher._publish_batch(conn, kv) == 0  # the same mark again: not put
        await async_wait_until(lambda: len(marks) >= 2)
    finally:
        watching.cancel()
        await nc.close()
    assert [kind for kind, _ in sent if kind in ("Bind", "Query")] == ["Bind"], sent
    assert marks == [SlaMark(POSITION - 1, 0), SlaMark(POSITION, 2)]
