"""SLA at scale (issue #16 item 5): the outbox is written by binary COPY, keeping its guarantees.

Against the real PostgreSQL: the facts of one ``record`` land in the outbox in the order given,
each once, numbered by the outbox ids they carry as CloudEvent id and sequence, payload bytes as
encoded; and they commit or roll back with the caller's transaction (the timers and the bookmark).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from helpdesk_shared import sla_events as sla
from helpdesk_shared.vocabulary import Status

from helpdesk_sla.adapters import store

AT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _facts(count: int) -> list[sla.SlaFact]:
    """Alternating facts of two tickets; the customer id carries bytes an escaping would have to touch."""
    return [sla.AtRisk(ticket_id=f"t-{i % 2}", customer_id='c "1" \\ ü', policy="imc", ticket_version=i,
                       kind="resolution", due_at=AT, occurred_at=AT) for i in range(count)]


def _ticket(tid: str) -> store.TicketRow:
    history = b'[{"ticketnumber": "HD-%s"}]' % tid.encode()
    return store.TicketRow(tid, "c", "imc", 1, Status.IN_PROGRESS, history)


async def _outbox(conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
    cursor = await conn.execute("SELECT id, ticket_id, subject, payload, traceparent FROM sla.outbox ORDER BY id")
    return await cursor.fetchall()


async def test_sla_scale_outbox_by_copy_keeps_order_ids_payloads_and_the_callers_transaction(
        database_url: str) -> None:
    facts = _facts(700)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        async with conn.transaction():
            await store.record(conn, facts, {"t-0": _ticket("t-0")}, {"t-1": TRACE})
        rows = await _outbox(conn)
        assert [r[1] for r in rows] == [f.ticket_id for f in facts]  # in order, each once
        for (outbox_id, tid, subject, payload, traceparent), fact in zip(rows, facts, strict=True):
            envelope = sla.decode(bytes(payload))
            assert (envelope.id, envelope.sequence, envelope.data) == (f"sla-{outbox_id}", outbox_id, fact)
            assert envelope.ticketnumber == ("HD-t-0" if tid == "t-0" else None)
            assert subject == f"helpdesk.sla.{tid}.at_risk" and traceparent == (TRACE if tid == "t-1" else None)
        async with conn.transaction(force_rollback=True):
            await store.record(conn, _facts(3), {})
        assert await _outbox(conn) == rows  # rolled back with the caller's transaction
