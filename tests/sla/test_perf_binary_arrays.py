"""SLA at scale (issue #16 item 5): the store's array parameters go in binary, values unchanged.

Against the real PostgreSQL: ids with quotes, backslashes and non-ASCII letters (what a text array
literal must escape), microsecond timestamps, NULL trace contexts and empty batches go through
``save_tickets``, ``lock_tickets``, ``customer_policies``, ``add_timers``/``replace_timers``,
``due_timers``, ``mark_fired`` and ``save_announced`` exactly as they went as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from helpdesk_shared.vocabulary import Status

from helpdesk_sla.adapters import store
from helpdesk_sla.domain.planning import Announced, BreachTimer, Known, WarnTimer

DUE = dt.datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=dt.UTC)
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
IDS = ['t "1"', "t \\ 2", "t {3}, ü", "t-4"]


def _timer(variant: type[WarnTimer | BreachTimer], minutes: int) -> WarnTimer | BreachTimer:
    return variant(target="resolution", due_at=DUE + dt.timedelta(minutes=minutes), planned_version=1)


async def _timers(conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
    cursor = await conn.execute("SELECT ticket_id, kind, due_at, traceparent, fired_at FROM sla.timers"
                                " ORDER BY due_at, ticket_id")
    return await cursor.fetchall()


async def test_perf_store_arrays_in_binary_keep_ids_timestamps_nulls_and_empty_batches(database_url: str) -> None:
    rows = [store.TicketRow(tid, f"c {tid}", "imc", 2, Status.IN_PROGRESS, b"[]") for tid in IDS]
    async with await psycopg.AsyncConnection.connect(database_url) as conn, conn.transaction():
        await store.save_tickets(conn, rows)
        locked = await store.lock_tickets(conn, [*IDS, "absent"])
        assert {tid: (r.customer_id, r.version, r.status) for tid, r in locked.items()} == {
            tid: (f"c {tid}", 2, Status.IN_PROGRESS) for tid in IDS}
        assert await store.lock_tickets(conn, []) == {}
        assert await store.customer_policies(conn, []) == {}
        await store.set_customer_policy(conn, f"c {IDS[0]}", "ks")
        assert await store.customer_policies(conn, [f"c {tid}" for tid in IDS]) == {f"c {IDS[0]}": "ks"}

        await store.add_timers(conn, [(tid, _timer(WarnTimer, i)) for i, tid in enumerate(IDS)],
                               {IDS[1]: TRACE})
        assert await _timers(conn) == [(tid, "warn:resolution", DUE + dt.timedelta(minutes=i),
                                        TRACE if tid == IDS[1] else None, None) for i, tid in enumerate(IDS)]
        await store.replace_timers(conn, [IDS[3]], [(IDS[3], _timer(BreachTimer, 9))])
        await store.replace_timers(conn, [], [])

        due, traces = await store.due_timers(conn, DUE + dt.timedelta(minutes=2), 10)
        assert [(tid, t.due_at) for tid, t in due] == [(tid, DUE + dt.timedelta(minutes=i))
                                                       for i, tid in enumerate(IDS[:3])]
        assert traces == {IDS[1]: TRACE}
        fired_at = DUE + dt.timedelta(minutes=5)
        await store.mark_fired(conn, due[:2], fired_at)
        assert [(r[0], r[1], r[4]) for r in await _timers(conn)] == [
            (IDS[0], "warn:resolution", fired_at), (IDS[1], "warn:resolution", fired_at),
            (IDS[2], "warn:resolution", None), (IDS[3], "breach:resolution", None)]

        announced = Announced(targets={"resolution": Known(due_at=DUE, started_at=DUE, at_risk=True)})
        locked[IDS[2]].announced = announced
        await store.save_announced(conn, [locked[IDS[2]]])
        assert (await store.lock_tickets(conn, [IDS[2]]))[IDS[2]].announced == announced
