"""The ticket page's read in one statement (#12 performance) tells what the separate reads told; read as one
JSON document (#16), its view encodes to the same bytes as the view built from the columns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import psycopg

from helpdesk_shared import events as ev
from helpdesk_shared.connections import database_pool

from helpdesk_query.adapters.projection import view_from_row
from helpdesk_query.adapters.readmodel import ReadModel
from helpdesk_query.adapters.sla_projection import sla_views
from helpdesk_query.domain.sla import SlaView, TargetView
from helpdesk_query.domain.ticket import Comment
from helpdesk_query.entrypoints import projector, sla_projector
from tests.query.conftest import projecting, reached
from tests.query.synthetic import histories, publish


async def test_portalperf_ticket_page_read_is_one_statement_with_the_separate_reads_answer(
        read_model: str, js: Any) -> None:
    events = list(histories(tickets=6, events_per_ticket=8, seed=23))
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
    attached = sorted({e.data.ticket_id for e in events if isinstance(e.data, ev.CommentAdded) and e.data.attachments})
    busy, quiet = attached[0], next(e.data.ticket_id for e in events if e.data.ticket_id not in attached)
    late = next(e.data.ticket_id for e in events if e.data.ticket_id not in (busy, quiet))
    due = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    target = TargetView(due_at=due, warn_at=due - dt.timedelta(hours=1), started_at=due - dt.timedelta(hours=8))
    sla = SlaView(policy="medis", targets={"resolution": target})
    async with await psycopg.AsyncConnection.connect(read_model, autocommit=True) as conn:
        await conn.execute("INSERT INTO query.sla (ticket_id, view) VALUES (%s, %s)", (busy, msgspec.json.encode(sla)))
        await conn.execute("INSERT INTO query.parked (stream_seq, subject, reason, payload, aggregate)"
                           " VALUES (999999, %s, 'test', '', %s)", (f"helpdesk.ticket.{busy}.x", busy))
        await conn.execute("INSERT INTO query.sla_parked (stream_seq, subject, reason, payload, aggregate)"
                           " VALUES (999999, %s, 'test', '', %s)", (f"helpdesk.sla.{late}.x", late))
    pool = database_pool(read_model, min_size=1, max_size=1)
    await pool.open(wait=True)
    try:
        readmodel = ReadModel(pool)
        for ticket_id in (busy, quiet, late):
            found = await readmodel.ticket_page(ticket_id)
            separate = await readmodel.ticket(ticket_id)
            assert found is not None and separate is not None
            view = view_from_row(separate[0], [msgspec.convert(c, Comment) for c in separate[1]])
            assert found.view == view and msgspec.json.encode(found.view) == msgspec.json.encode(view)
            assert (found.sla, found.held_back) == await _separately(read_model, ticket_id)
        page, held_by_sla = await readmodel.ticket_page(busy), await readmodel.ticket_page(late)
        assert page is not None and page.held_back is True
        assert held_by_sla is not None and held_by_sla.held_back is True
        assert page.sla == sla and any(c.attachments for c in page.view.comments)
        assert await readmodel.ticket_page("no-such-ticket") is None
    finally:
        await pool.close()


async def _separately(read_model: str, ticket_id: str) -> tuple[SlaView | None, bool]:
    """The oracle: the ticket's sla view as the SLA projection reads it, and whether either projection's
    parking holds it back."""
    async with await psycopg.AsyncConnection.connect(read_model, autocommit=True) as conn:
        view = (await sla_views(conn, [ticket_id])).get(ticket_id)
        held = [await p.parking.held(conn, [ticket_id]) for p in (projector.projection(), sla_projector.projection())]
    return view, any(held)


async def test_perf_ticket_page_read_as_json_encodes_the_same_bytes_in_any_session_time_zone(
        read_model: str, js: Any) -> None:
    """The JSON document carries each timestamp with the session's offset, as the column's value did: in a
    session off UTC the view still encodes to the bytes of the view built from the columns."""
    events = list(histories(tickets=3, events_per_ticket=6, seed=29))
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
    pool = database_pool(read_model, min_size=1, max_size=1, options="-c TimeZone=Asia/Kolkata")
    await pool.open(wait=True)
    try:
        readmodel = ReadModel(pool)
        for ticket_id in sorted({e.data.ticket_id for e in events}):
            found, separate = await readmodel.ticket_page(ticket_id), await readmodel.ticket(ticket_id)
            assert found is not None and separate is not None
            view = view_from_row(separate[0], [msgspec.convert(c, Comment) for c in separate[1]])
            assert msgspec.json.encode(found.view) == msgspec.json.encode(view)
            assert b"+05:30" in msgspec.json.encode(found.view)
    finally:
        await pool.close()
