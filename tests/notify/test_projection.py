"""notify's projection against a real PostgreSQL: views, outbox rows and position in one transaction."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from helpdesk_shared import events as ev
from helpdesk_shared import subjects
from helpdesk_shared.vocabulary import Role

from helpdesk_notify.adapters.projection import StreamMessage, apply_batch, start_tracking, tracked
from helpdesk_notify.adapters.schema import ensure_schema
from helpdesk_notify.domain.notifications import NoWindows
from tests.notify.facts import History


def _messages(events: list[ev.CloudEvent], first_seq: int = 1) -> list[StreamMessage]:
    return [StreamMessage(first_seq + i, subjects.ticket_subject(e.data.ticket_id, ev.event_type(e.data)),
                          msgspec.json.encode(e)) for i, e in enumerate(events)]


async def _apply(url: str, msgs: list[StreamMessage], mail_from_seq: int = 1) -> Any:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await start_tracking(conn, mail_from_seq)
        async with conn.transaction():
            return await apply_batch(conn, msgs, NoWindows())


async def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        return await (await conn.execute(query)).fetchall()


async def test_a_redelivered_batch_queues_no_mail_twice(database_url: str) -> None:
    await ensure_schema(database_url)
    ticket = History()
    msgs = _messages([ticket.opened(), ticket.assign(), ticket.comment("hello"),
                      ticket.comment("psst", visibility="internal"),
                      ticket.comment("thanks", role=Role.CUSTOMER)])
    first = await _apply(database_url, msgs)
    again = await _apply(database_url, msgs)  # a crash before the ack: the same messages again
    assert (len(first.notifications), len(again.notifications), again.applied) == (3, 0, 0)
    rows = await _rows(database_url, "SELECT template, recipient_id, state FROM notify.outbox ORDER BY id")
    assert rows == [("acknowledgement", "user-requester", "pending"),
                    ("comment_added", "user-requester", "pending"),
                    ("comment_added", "user-agent", "pending")]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        assert (await tracked(conn))[:2] == (first.position, len(msgs))


async def test_history_before_notify_first_started_is_projected_but_not_mailed(database_url: str) -> None:
    await ensure_schema(database_url)
    ticket = History()
    old, new = ticket.opened(), ticket.comment("answer")
    batch = await _apply(database_url, _messages([old, new]), mail_from_seq=2)
    assert [n.template for _, _, _, n in batch.notifications] == ["comment_added"]


async def test_undecodable_messages_are_skipped_and_sla_events_wait_for_their_arms(
        database_url: str) -> None:
    await ensure_schema(database_url)
    ticket = History()
    msgs = [StreamMessage(1, f"helpdesk.ticket.{ticket.ticket_id}.opened", b"{not json"),
            StreamMessage(2, f"helpdesk.sla.{ticket.ticket_id}.at_risk", b"{}"),
            *_messages([ticket.opened()], first_seq=3)]
    batch = await _apply(database_url, msgs)
    assert [(i.stream_seq, reason.split(":")[0]) for i, reason in batch.skipped] == [(1, "undecodable")]
    assert (batch.ignored, len(batch.notifications), batch.stream_seq) == (1, 1, 3)
    assert await _rows(database_url, "SELECT stream_seq FROM notify.skipped") == [(1,)]
