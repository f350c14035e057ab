"""A batch of stream messages into notify's tables, in the caller's one transaction.

The ticket views it touches, the directory entries and customers' policies it learns,
the outbox rows its events cause (``ON CONFLICT DO NOTHING`` on the dedup key) and the
tracking position commit together, so a redelivered or duplicated event changes
nothing and queues no mail twice. ``NotifyProjection`` is what the stream runner
drives; the messages it refuses are parked in ``notify.parked``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg

from helpdesk_shared.parking import Parking, StreamMessage

from helpdesk_notify.adapters.directory import ask_staff, change, record, staff_of
from helpdesk_notify.adapters.schema import SCHEMA
from helpdesk_notify.adapters.webhook_queue import queue_deliveries
from helpdesk_notify.application import Batch, Incoming, fold_batch
from helpdesk_notify.domain.notifications import Windows
from helpdesk_notify.domain.threading import message_id
from helpdesk_notify.domain.ticket import TicketView

_encode = msgspec.json.Encoder().encode
_view = msgspec.json.Decoder(TicketView).decode
_hooks = msgspec.json.Decoder(dict[str, list[str]]).decode
# one statement per batch, whatever its size (executemany costs a pipeline and a statement per row);
# WITH ORDINALITY keeps the rows' order, so the outbox ids follow the stream. The arrays go in binary
# (%b): in text, psycopg quotes each JSON element with a regular expression, in Python, per quote
_OUTBOX = (f"INSERT INTO {SCHEMA}.outbox (dedup_key, event_id, ticket_id, recipient_id, template,"
           " context, message_id, position, traceparent)"
           " SELECT k, e, t, r, tpl, c::jsonb, m, p, tp FROM unnest(%b::text[], %b::text[], %b::text[],"
           " %b::text[], %b::text[], %b::text[], %b::text[], %b::bigint[], %b::text[])"
           " WITH ORDINALITY AS rows(k, e, t, r, tpl, c, m, p, tp, n) ORDER BY n"
           " ON CONFLICT (dedup_key) DO NOTHING")
_VIEW = (f"INSERT INTO {SCHEMA}.tickets (ticket_id, view, position)"
         " SELECT t, v::jsonb, p FROM unnest(%b::text[], %b::text[], %b::bigint[]) AS rows(t, v, p)"
         " ON CONFLICT (ticket_id) DO UPDATE SET view = EXCLUDED.view, position = EXCLUDED.position")
_POLICY = (f"UPDATE {SCHEMA}.tickets SET view = jsonb_set(view, '{{policy}}', to_jsonb(%s::text))"
           " WHERE view->>'customer_id' = %s")


async def tracked(conn: psycopg.AsyncConnection[Any]) -> tuple[int, int, int]:
    """(position, stream_seq, mail_from_seq) of the projection (a batch locks it: ``_tracked_with_webhooks``)."""
    cursor = await conn.execute(f"SELECT position, stream_seq, mail_from_seq FROM {SCHEMA}.tracking")
    row = await cursor.fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 1)


_TRACKED_WITH_WEBHOOKS = (f"SELECT position, stream_seq, mail_from_seq, (SELECT coalesce(jsonb_object_agg(webhook_id,"
                          f" subjects), '{{}}') FROM {SCHEMA}.webhooks WHERE NOT removed)::text"
                          f" FROM {SCHEMA}.tracking FOR UPDATE")


async def _tracked_with_webhooks(cursor: psycopg.AsyncCursor[Any]) -> tuple[int, int, int, dict[str, list[str]]]:
    """``tracked``, locked (FOR UPDATE), and the active webhooks (id → subject patterns) in one statement: a batch
    needs both. Read after the parking lock (``stream_runner``), so a replay's registry change is in."""
    row = await cursor.fetchone()
    if row is None:
        return 0, 0, 1, {}
    return int(row[0]), int(row[1]), int(row[2]), _hooks(row[3])


async def start_tracking(conn: psycopg.AsyncConnection[Any], mail_from_seq: int) -> None:
    """On the very first start: mail only what reaches the stream from now on (no flood of old news)."""
    await conn.execute(f"INSERT INTO {SCHEMA}.tracking (mail_from_seq) VALUES (%s) ON CONFLICT DO NOTHING",
                       (mail_from_seq,))


async def apply_batch(conn: psycopg.AsyncConnection[Any], msgs: Sequence[StreamMessage],
                      windows: Windows, replay: bool = False) -> Batch:
    """Fold ``msgs`` into views and outbox rows and advance the tracking, in the caller's transaction.

    Its reads are all sent before any is read: in pipeline mode (a live batch) they are one round trip."""
    incoming = [Incoming(m.stream_seq, m.subject, m.payload) for m in msgs]
    ids = {i.ticket_id for i in incoming if i.ticket_id}
    tracking = await conn.execute(_TRACKED_WITH_WEBHOOKS)
    stored = await conn.execute(_VIEWS, (list(ids),)) if ids else None
    members = await ask_staff(conn) if any(i.needs_staff for i in incoming) else None
    position, stream_seq, mail_from, hooks = await _tracked_with_webhooks(tracking)
    views = await _views(stored) if stored else {}
    staff = await staff_of(members) if members else None
    batch = fold_batch(views, incoming, position, stream_seq, mail_from, windows, staff, replay)
    async with conn.cursor() as cur:
        if batch.changed:  # one row per ticket: ON CONFLICT DO UPDATE meets each once
            await cur.execute(_VIEW, _columns([(t, _json(views[t]), p) for t, p in batch.changed.items()]))
        if batch.directory:
            await record(cur, batch.directory.values(), batch.position)
        if batch.changes:
            await change(cur, batch.changes)
        for customer_id, policy in batch.policies:
            await cur.execute(_POLICY, (policy, customer_id))
        if batch.notifications:
            traces = {m.msg_id: m.traceparent for m in msgs if m.msg_id and m.traceparent}
            await cur.execute(_OUTBOX, _columns([
                (n.dedup_key, event_id, ticket_id, n.recipient_id, n.template, _json(n.context),
                 message_id(n.dedup_key), pos, traces.get(event_id))
                for event_id, ticket_id, pos, n in batch.notifications]))
        await cur.execute(f"UPDATE {SCHEMA}.tracking SET position = %s, stream_seq = %s",
                          (batch.position, batch.stream_seq))
    batch.webhooks = await queue_deliveries(conn, msgs, stream_seq, mail_from, hooks, replay)
    return batch


_VIEWS = f"SELECT view::text FROM {SCHEMA}.tickets WHERE ticket_id = ANY(%b)"


async def _views(cursor: psycopg.AsyncCursor[Any]) -> dict[str, TicketView]:
    """The stored views of the batch's tickets, as JSON text decoded by msgspec straight into ``TicketView``
    (not psycopg's ``json.loads``, then a convert)."""
    return {v.ticket_id: v for v in (_view(row[0]) for row in await cursor.fetchall())}


def _json(value: Any) -> str:
    """A view or a mail's context as JSON text (msgspec's, several times json.dumps' speed)."""
    return _encode(value).decode()


def _columns(rows: list[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Rows (at least one) as one list per column, for ``unnest``."""
    return tuple(list(column) for column in zip(*rows, strict=True))


class NotifyProjection:
    """notify's tables as the stream runner drives them."""

    def __init__(self, windows: Windows, parking_lock: int) -> None:
        self._windows = windows
        self.parking = Parking(f"{SCHEMA}.parked", parking_lock)
        self.queued = 0  # mails queued since the caller last took the count
        self.webhooks_queued = 0  # webhook deliveries likewise

    async def tracked(self, conn: psycopg.AsyncConnection[Any]) -> int:
        return (await tracked(conn))[1]

    async def apply(self, conn: psycopg.AsyncConnection[Any], msgs: Sequence[StreamMessage],
                    replay: bool = False) -> int:
        batch = await apply_batch(conn, msgs, self._windows, replay)
        self.queued += len(batch.notifications)
        self.webhooks_queued += batch.webhooks
        return batch.applied

    async def advance(self, conn: psycopg.AsyncConnection[Any], stream_seq: int, position: int | None) -> None:
        await conn.execute(f"UPDATE {SCHEMA}.tracking SET stream_seq = greatest(stream_seq, %s),"
                           " position = greatest(position, coalesce(%s, position))", (stream_seq, position))
