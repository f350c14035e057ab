"""A batch of stream messages into notify's tables, in the caller's one transaction.

The ticket views it touches, the directory entries and customers' policies it learns,
the outbox rows its events cause (``ON CONFLICT DO NOTHING`` on the dedup key), the
messages it skips and the tracking position commit together, so a redelivered or
duplicated event changes nothing and queues no mail twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from helpdesk_notify.adapters.directory import load_staff, record
from helpdesk_notify.adapters.schema import SCHEMA
from helpdesk_notify.application import Batch, Incoming, fold_batch
from helpdesk_notify.domain.notifications import Windows
from helpdesk_notify.domain.threading import message_id
from helpdesk_notify.domain.ticket import TicketView

_OUTBOX = (f"INSERT INTO {SCHEMA}.outbox (dedup_key, event_id, ticket_id, recipient_id, template,"
           " context, message_id, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
           " ON CONFLICT (dedup_key) DO NOTHING")
_VIEW = (f"INSERT INTO {SCHEMA}.tickets (ticket_id, view, position) VALUES (%s, %s, %s)"
         " ON CONFLICT (ticket_id) DO UPDATE SET view = EXCLUDED.view, position = EXCLUDED.position")
_POLICY = (f"UPDATE {SCHEMA}.tickets SET view = jsonb_set(view, '{{policy}}', to_jsonb(%s::text))"
           " WHERE view->>'customer_id' = %s")
_SKIP = (f"INSERT INTO {SCHEMA}.skipped (stream_seq, subject, reason, payload) VALUES (%s, %s, %s, %s)"
         " ON CONFLICT (stream_seq) DO NOTHING")


@dataclass(frozen=True, slots=True)
class StreamMessage:
    stream_seq: int
    subject: str
    payload: bytes


def stream_message(msg: Any) -> StreamMessage:
    return StreamMessage(msg.metadata.sequence.stream, msg.subject, msg.data)


async def tracked(conn: psycopg.AsyncConnection[Any], lock: bool = False) -> tuple[int, int, int]:
    """(position, stream_seq, mail_from_seq) of the projection."""
    cursor = await conn.execute(f"SELECT position, stream_seq, mail_from_seq FROM {SCHEMA}.tracking"
                                + (" FOR UPDATE" if lock else ""))
    row = await cursor.fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 1)


async def start_tracking(conn: psycopg.AsyncConnection[Any], mail_from_seq: int) -> None:
    """On the very first start: mail only what reaches the stream from now on (no flood of old news)."""
    await conn.execute(f"INSERT INTO {SCHEMA}.tracking (mail_from_seq) VALUES (%s) ON CONFLICT DO NOTHING",
                       (mail_from_seq,))


async def apply_batch(conn: psycopg.AsyncConnection[Any], msgs: Sequence[StreamMessage],
                      windows: Windows) -> Batch:
    """Fold ``msgs`` into views and outbox rows and advance the tracking, in the caller's transaction."""
    position, stream_seq, mail_from = await tracked(conn, lock=True)
    incoming = [Incoming(m.stream_seq, m.subject, m.payload) for m in msgs]
    ids = {i.ticket_id for i in incoming if i.ticket_id}
    cursor = await conn.execute(f"SELECT view FROM {SCHEMA}.tickets WHERE ticket_id = ANY(%s)", (list(ids),))
    views = {v.ticket_id: v for v in (msgspec.convert(row[0], TicketView) for row in await cursor.fetchall())}
    staff = await load_staff(conn) if any(i.needs_staff for i in incoming) else None
    batch = fold_batch(views, incoming, position, stream_seq, mail_from, windows, staff)
    async with conn.cursor() as cur:
        if batch.changed:
            await cur.executemany(_VIEW, [(t, Jsonb(msgspec.to_builtins(views[t])), p)
                                          for t, p in batch.changed.items()])
        if batch.directory:
            await record(cur, batch.directory.values(), batch.position)
        for customer_id, policy in batch.policies:
            await cur.execute(_POLICY, (policy, customer_id))
        if batch.notifications:
            await cur.executemany(_OUTBOX, [
                (n.dedup_key, event_id, ticket_id, n.recipient_id, n.template, Jsonb(n.context),
                 message_id(n.dedup_key), pos) for event_id, ticket_id, pos, n in batch.notifications])
        if batch.skipped:
            await cur.executemany(_SKIP, [(i.stream_seq, i.subject, reason, i.payload)
                                          for i, reason in batch.skipped])
        await cur.execute(f"UPDATE {SCHEMA}.tracking SET position = %s, stream_seq = %s",
                          (batch.position, batch.stream_seq))
    return batch
