"""Timers are variants in the domain and keep their stored form in the ``timers`` table.

A row as the SLA service wrote it before timers were variants (``kind`` ``warn:<target>``,
``breach:<target>``, ``transition`` or ``reminder``, the same in the ``timer`` JSON) still
decodes, fires and is marked fired; a timer planned now is stored byte for byte as before.
Against the real PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from helpdesk_shared import sla_events as sla
from helpdesk_shared.vocabulary import Status

from helpdesk_sla import application
from helpdesk_sla.adapters import store
from helpdesk_sla.domain.planning import (
    Announced,
    BreachTimer,
    Known,
    ReminderTimer,
    Timer,
    TransitionTimer,
    WarnTimer,
)

DUE = dt.datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=dt.UTC)
# (kind column, timer column) exactly as the SLA service stored them before timers were variants
ROWS = {
    "warn:resolution": b'{"kind":"warn:resolution","due_at":"2026-11-30T12:00:00.123456Z","planned_version":1,'
                       b'"action":null,"reason":null,"status":null,"to":"customer"}',
    "breach:resolution": b'{"kind":"breach:resolution","due_at":"2026-11-30T12:00:00.123456Z","planned_version":1,'
                         b'"action":null,"reason":null,"status":null,"to":"customer"}',
    "transition": b'{"kind":"transition","due_at":"2026-11-30T12:00:00.123456Z","planned_version":2,'
                  b'"action":"reject","reason":"no_clarification","status":"awaiting_customer","to":"customer"}',
    "reminder": b'{"kind":"reminder","due_at":"2026-11-30T12:00:00.123456Z","planned_version":3,'
                b'"action":null,"reason":null,"status":"awaiting_customer","to":"agent"}',
}
VARIANTS: dict[str, Timer] = {
    "warn:resolution": WarnTimer(target="resolution", due_at=DUE, planned_version=1),
    "breach:resolution": BreachTimer(target="resolution", due_at=DUE, planned_version=1),
    "transition": TransitionTimer(due_at=DUE, planned_version=2, status=Status.AWAITING_CUSTOMER,
                                  action="reject", reason="no_clarification"),
    "reminder": ReminderTimer(due_at=DUE, planned_version=3, status=Status.AWAITING_CUSTOMER, to="agent"),
}


async def _stored(conn: psycopg.AsyncConnection[Any]) -> dict[str, tuple[bytes, dt.datetime | None]]:
    cursor = await conn.execute("SELECT ticket_id, kind, timer, fired_at FROM sla.timers")
    return {f"{r[0]}/{r[1]}": (bytes(r[2]), r[3]) for r in await cursor.fetchall()}


async def test_a_timer_row_in_the_stored_format_decodes_to_its_variant(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn, conn.transaction():
        for kind, timer in ROWS.items():
            await conn.execute("INSERT INTO sla.timers (ticket_id, kind, due_at, timer) VALUES (%s, %s, %s, %s)",
                               (f"old {kind}", kind, DUE, timer))
        due, _ = await store.due_timers(conn, DUE, 10)
        assert {tid: timer for tid, timer in due} == {f"old {kind}": VARIANTS[kind] for kind in ROWS}

        await store.add_timers(conn, [(f"new {kind}", timer) for kind, timer in VARIANTS.items()])
        stored = await _stored(conn)
        assert {key: timer for key, (timer, _) in stored.items() if key.startswith("new ")} == {
            f"new {kind}/{kind}": timer for kind, timer in ROWS.items()}  # the same kind and bytes as before

        await store.mark_fired(conn, due, DUE)
        assert {key for key, (_, fired_at) in (await _stored(conn)).items() if fired_at == DUE} == {
            f"old {kind}/{kind}" for kind in ROWS}


async def test_timers_stored_in_the_old_format_still_fire(database_url: str) -> None:
    """A database that was running before the change: its planned warning, breach, transition and
    reminder fire with the same facts and the same command (idempotency key) as before."""
    known = Known(due_at=DUE, started_at=DUE - dt.timedelta(days=1))
    rows = [store.TicketRow("t-warn", "c-1", "imc", 1, Status.IN_PROGRESS, b"[]",
                            Announced(targets={"resolution": known})),
            store.TicketRow("t-breach", "c-1", "imc", 1, Status.IN_PROGRESS, b"[]",
                            Announced(targets={"resolution": known})),
            store.TicketRow("t-transition", "c-1", "medis", 2, Status.AWAITING_CUSTOMER, b"[]"),
            store.TicketRow("t-reminder", "c-1", "endocs", 3, Status.AWAITING_CUSTOMER, b"[]")]
    async with await psycopg.AsyncConnection.connect(database_url) as conn, conn.transaction():
        await store.save_tickets(conn, rows)
        for kind, timer in ROWS.items():
            await conn.execute("INSERT INTO sla.timers (ticket_id, kind, due_at, timer) VALUES (%s, %s, %s, %s)",
                               (f"t-{kind.partition(':')[0]}", kind, DUE, timer))

        assert await application.fire_due(conn, DUE, policy_of=lambda _: None) == 4

        cursor = await conn.execute("SELECT payload FROM sla.outbox ORDER BY id")
        facts = {f.ticket_id: f for f in (sla.decode(bytes(r[0])).data for r in await cursor.fetchall())}
        assert isinstance(facts["t-warn"], sla.AtRisk) and facts["t-warn"].kind == "resolution"
        assert isinstance(facts["t-breach"], sla.Breached) and facts["t-breach"].kind == "resolution"
        assert isinstance(facts["t-transition"], sla.TransitionDue) and facts["t-transition"].action == "reject"
        assert isinstance(facts["t-reminder"], sla.ReminderDue) and facts["t-reminder"].to == "agent"
        cursor = await conn.execute("SELECT idempotency_key, ticket_id, action, reason, expected_version"
                                    " FROM sla.commands")
        assert await cursor.fetchall() == [("sla:t-transition:transition:2026-11-30T12:00:00.123456+00:00",
                                            "t-transition", "reject", "no_clarification", 2)]
        assert all(fired_at == DUE for _, fired_at in (await _stored(conn)).values())
