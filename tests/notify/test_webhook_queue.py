"""Webhook deliveries queued by notify's consumer, against a real PostgreSQL (CONTRACT §10).

A registration applies from its place on the stream; a removal ends it; a
redelivered batch queues nothing twice — the rows commit with the tracking position.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import psycopg

from helpdesk_shared import webhook_events as hooks
from helpdesk_shared.events import Actor
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.vocabulary import Role

from helpdesk_notify.adapters.projection import apply_batch, start_tracking
from helpdesk_notify.domain.notifications import NoWindows
from tests.notify.facts import History, subject_of

ADMIN = Actor("admin", Role.ADMIN)
NOW = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def _fact(fact: hooks.WebhookFact, seq: int) -> StreamMessage:
    envelope = hooks.wrap(fact, event_id=f"{fact.webhook_id}.{fact.version}", sequence=seq)
    return StreamMessage(seq, f"helpdesk.webhook.{fact.webhook_id}.{hooks.event_type(fact).rsplit('.', 1)[-1]}",
                         msgspec.json.encode(envelope))


def _event(event: Any, seq: int) -> StreamMessage:
    return StreamMessage(seq, subject_of(event), msgspec.json.encode(event))


async def _apply(url: str, msgs: list[StreamMessage]) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await start_tracking(conn, 1)
        async with conn.transaction():
            return (await apply_batch(conn, msgs, NoWindows())).webhooks


async def _queued(url: str) -> list[tuple[str, str, int]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute("SELECT webhook_id, subject, stream_seq FROM notify.webhook_deliveries ORDER BY id")
        return [tuple(row) for row in await cursor.fetchall()]


async def test_platform_webhooks_queue_in_stream_order_once_and_only_while_registered(database_url: str) -> None:
    before, during, after = History(), History(), History()
    registered = hooks.WebhookRegistered(webhook_id="w1", version=1, actor=ADMIN, occurred_at=NOW,
                                         url="https://hooks.example/in", subjects=("helpdesk.ticket.*.opened",))
    removed = hooks.WebhookRemoved(webhook_id="w1", version=2, actor=ADMIN, occurred_at=NOW)
    msgs = [_event(before.opened(), 1), _fact(registered, 2), _event(during.opened(), 3),
            _event(during.comment("not opened"), 4), _fact(removed, 5), _event(after.opened(), 6)]
    assert await _apply(database_url, msgs[:4]) == 1
    assert await _apply(database_url, msgs) == 0, "a redelivered batch queues nothing twice"
    assert await _queued(database_url) == [("w1", f"helpdesk.ticket.{during.ticket_id}.opened", 3)]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute("SELECT url, removed FROM notify.webhooks")).fetchone()
    assert row == ("https://hooks.example/in", True)
