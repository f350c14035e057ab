"""The consumer's side of webhooks: the registry from intake's facts, deliveries queued in stream order.

Runs inside the projection's transaction, so the rows commit with the tracking
position: a redelivered message queues nothing twice (and ``UNIQUE (webhook_id,
event_id)`` holds against any duplicate). A registration applies to the messages
after it on the stream; only messages from ``mail_from_seq`` on are delivered, as
for mail (a first start does not flood receivers with history).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg

from helpdesk_shared import subjects
from helpdesk_shared import webhook_events as hooks
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.webhook_targets import matches

from helpdesk_notify.adapters.schema import SCHEMA

_UPSERT = (f"INSERT INTO {SCHEMA}.webhooks (webhook_id, url, subjects, removed, stream_seq)"
           " VALUES (%s, %s, %s::jsonb, %s, %s) ON CONFLICT (webhook_id) DO UPDATE SET url = EXCLUDED.url,"
           " subjects = EXCLUDED.subjects, removed = EXCLUDED.removed, stream_seq = EXCLUDED.stream_seq"
           f" WHERE {SCHEMA}.webhooks.stream_seq < EXCLUDED.stream_seq")
_QUEUE = (f"INSERT INTO {SCHEMA}.webhook_deliveries (webhook_id, event_id, subject, stream_seq, body)"
          " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (webhook_id, event_id) DO NOTHING")


_FACTS = {name.rsplit(".", 1)[-1] for name in hooks.WEBHOOK_EVENT_TYPES.values()}  # others: newer, passed over


class _Identified(msgspec.Struct):
    id: str


_ids = msgspec.json.Decoder(_Identified)


async def queue_deliveries(conn: psycopg.AsyncConnection[Any], msgs: Sequence[StreamMessage], tracked_seq: int,
                           mail_from_seq: int, active: dict[str, list[str]], replay: bool = False) -> int:
    """Fold webhook facts into the registry and queue a delivery per matching (webhook, message).

    ``active``: the registry's webhooks not removed (id → subject patterns), as read in this transaction
    (``projection``: with the tracking, one round trip); the webhook facts of ``msgs`` update it.
    """
    queued = []
    for msg in msgs:
        if not (msg.stream_seq > tracked_seq or replay):
            continue  # a redelivery: applied before
        if subjects.family(msg.subject) == "webhook" and msg.subject.rsplit(".", 1)[-1] in _FACTS:
            await _registry(conn, msg, active)
        if msg.stream_seq >= mail_from_seq:
            wanted = [hook for hook, patterns in active.items() if any(matches(p, msg.subject) for p in patterns)]
            if wanted and (event_id := _event_id(msg.payload)) is not None:
                queued += [(hook, event_id, msg.subject, msg.stream_seq, msg.payload) for hook in wanted]
    if queued:
        async with conn.cursor() as cur:
            await cur.executemany(_QUEUE, queued)
    return len(queued)


async def _registry(conn: psycopg.AsyncConnection[Any], msg: StreamMessage, active: dict[str, list[str]]) -> None:
    """A registration or removal, applied once (a fact older than the row's changes nothing)."""
    fact = hooks.decode(msg.payload).data
    match fact:
        case hooks.WebhookRegistered():
            await conn.execute(_UPSERT, (fact.webhook_id, fact.url, json.dumps(list(fact.subjects)), False,
                                         msg.stream_seq))
            active[fact.webhook_id] = list(fact.subjects)
        case hooks.WebhookRemoved():
            await conn.execute(f"UPDATE {SCHEMA}.webhooks SET removed = true, stream_seq = %s"
                               " WHERE webhook_id = %s AND stream_seq < %s",
                               (msg.stream_seq, fact.webhook_id, msg.stream_seq))
            active.pop(fact.webhook_id, None)


def _event_id(payload: bytes) -> str | None:
    """The CloudEvent's ``id`` (the delivery's ``ce-id``); None for a message that is no CloudEvent."""
    try:
        return _ids.decode(payload).id
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
