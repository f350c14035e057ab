"""``GET /v1/reports/backlog``: open tickets by status and age band, counted by the read model.

Tickets of known ages (on both sides of every band's edge) are written into the read model;
the report counts each in its band, leaves done and rejected out, and keeps customers apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from helpdesk_shared.vocabulary import Channel, Priority, Status

from helpdesk_query.adapters.projection import Outcome, write
from helpdesk_query.adapters.readmodel import ReadModel
from helpdesk_query.domain import backlog
from helpdesk_query.domain.ticket import TicketView

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)
# (age, status, customer) → the band it must count in (None: not open, not counted)
TICKETS = [
    (dt.timedelta(0), Status.NEW, "acme", "<1d"),
    (DAY - SECOND, Status.NEW, "acme", "<1d"),
    (DAY, Status.NEW, "acme", "1-3d"),
    (3 * DAY - SECOND, Status.IN_PROGRESS, "acme", "1-3d"),
    (3 * DAY, Status.IN_PROGRESS, "acme", "3-7d"),
    (7 * DAY, Status.AWAITING_CUSTOMER, "globex", "7-30d"),
    (30 * DAY - SECOND, Status.AWAITING_CUSTOMER, "acme", "7-30d"),
    (30 * DAY, Status.CUSTOMER_TESTING, "acme", ">30d"),
    (400 * DAY, Status.IN_DEVELOPMENT, "globex", ">30d"),
    (DAY, Status.DONE, "acme", None),
    (DAY, Status.REJECTED, "globex", None),
]


def _view(number: int, age: dt.timedelta, status: Status, customer: str) -> TicketView:
    at = NOW - age
    return TicketView(id=f"t{number}", number=f"HD-{number}", customer_id=customer, subject="s", description="d",
                      channel=Channel.PORTAL, priority=Priority.NORMAL, status=status, version=1, created_at=at,
                      updated_at=at, position=number)


async def _counts(database_url: str, customer_id: str | None) -> dict[tuple[str, str], int]:
    async with AsyncConnectionPool(database_url, open=False, min_size=1) as pool:
        return await ReadModel(pool).backlog(backlog.cutoffs(NOW), ">30d", [s.value for s in backlog.OPEN],
                                             customer_id)


async def test_backlog_counts_open_tickets_by_status_and_age_band(read_model: str) -> None:
    async with await psycopg.AsyncConnection.connect(read_model) as conn:
        generation = str((await (await conn.execute("SELECT active FROM query.generation")).fetchone())[0])
        views = [_view(i, age, status, customer) for i, (age, status, customer, _) in enumerate(TICKETS, 1)]
        await write(conn, generation, views, Outcome(len(views), 0), notify=False)
    expected: dict[tuple[str, str], int] = {}
    for _, status, _, band in TICKETS:
        if band:
            expected[(status.value, band)] = expected.get((status.value, band), 0) + 1
    assert await _counts(read_model, None) == expected
    acme = {key: n for key, n in expected.items() if key != ("awaiting_customer", "7-30d")}
    acme[("awaiting_customer", "7-30d")] = 1  # globex's 7-day-old one is not acme's
    acme.pop(("in_development", ">30d"))
    assert await _counts(read_model, "acme") == acme


def test_backlog_report_lists_every_open_status_and_band_with_zeros_and_as_csv() -> None:
    body: dict[str, Any] = backlog.report({("new", "<1d"): 2, ("in_progress", ">30d"): 1}, NOW, None)
    assert len(body["items"]) == 7 * 5 and body["total"] == 3
    assert [b["age_band"] for b in body["bands"]] == ["<1d", "1-3d", "3-7d", "7-30d", ">30d"]
    assert {"status": "new", "age_band": "<1d", "count": 2} in body["items"]
    lines = backlog.as_csv(body).splitlines()
    assert lines[0] == "status,age_band,count" and lines[1] == "new,<1d,2" and len(lines) == 1 + 7 * 5
