"""What notify's consumer sends PostgreSQL per live batch, from libpq's own protocol trace (issue #16).

At the live edge a batch is a message or two; in pipeline mode (``PIPELINE_UP_TO``) its BEGIN, the
parking lock, the writes and COMMIT travel with the reads, so a batch costs about the round trips of
its reads, not one per statement, and commits the same rows.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from helpdesk_shared import events as ev
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.stream_runner import settle

from helpdesk_notify.adapters.projection import start_tracking
from helpdesk_notify.domain.notifications import NoWindows
from helpdesk_notify.entrypoints.consumer import PIPELINE_UP_TO, projection
from tests.notify.facts import History, subject_of
from tests.query.test_perf_round_trips import traced

_TABLES = ("SELECT ticket_id, template, recipient_id, state, position FROM notify.outbox ORDER BY id",
           "SELECT ticket_id, view, position FROM notify.tickets ORDER BY ticket_id",
           "SELECT position, stream_seq FROM notify.tracking")


def _history() -> list[StreamMessage]:
    """Two tickets' openings, an assignment and comments (mail to the requester and the agent)."""
    first, second = History(), History()
    events: list[ev.CloudEvent] = [first.opened(), second.opened(), first.assign(), first.comment("hello"),
                                   second.comment("thanks"), first.comment("and the answer")]
    return [StreamMessage(i + 1, subject_of(e), msgspec.json.encode(e)) for i, e in enumerate(events)]


async def _live(conn: psycopg.AsyncConnection[Any], msgs: list[StreamMessage], pipelined: bool
                ) -> tuple[list[list[tuple[Any, ...]]], list[tuple[str, str]]]:
    """The messages settled one a batch, from empty tables; the tables after, and what the last batch sent."""
    await conn.execute("TRUNCATE notify.outbox, notify.tickets, notify.tracking")
    await start_tracking(conn, 1)
    for msg in msgs[:-1]:
        assert await settle(conn, projection(NoWindows()), [msg], pipelined) == (1, [])
    with traced(conn.pgconn) as sent:
        assert await settle(conn, projection(NoWindows()), msgs[-1:], pipelined) == (1, [])
    return [await (await conn.execute(query)).fetchall() for query in _TABLES], sent


def _waits(sent: list[tuple[str, str]], pipelined: bool) -> int:
    """The round trips the client waited on: each Sync or simple Query outside a pipeline; inside one, each
    Flush (a result wanted now) and the pipeline's end."""
    if pipelined:
        return sum(kind == "Flush" for kind, _ in sent) + 1
    return sum(kind in ("Sync", "Query") for kind, _ in sent)


async def test_perf_a_live_batch_is_pipelined_in_a_few_round_trips_and_commits_the_same_rows(
        database_url: str) -> None:
    msgs = _history()
    assert len(msgs[-1:]) <= PIPELINE_UP_TO
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await _live(conn, msgs, pipelined=True)  # the statements prepared (psycopg: from the fifth time), as live
        plain, plain_sent = await _live(conn, msgs, pipelined=False)
        piped, piped_sent = await _live(conn, msgs, pipelined=True)
    assert _waits(plain_sent, False) >= 9, plain_sent  # BEGIN, lock, held, tracking, views, 3 writes, COMMIT
    assert _waits(piped_sent, True) <= 6, piped_sent  # the lock's, the batch's reads (one), and the end's
    assert piped == plain
    assert [row[1:4] for row in piped[0]][-2:] == [("comment_added", "user-requester", "pending")] * 2
