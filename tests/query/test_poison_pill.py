"""Parking in the query projection, in process: retries before and after the fix, and a rebuild that parks alike."""

from __future__ import annotations

from typing import Any

import psycopg

from helpdesk_shared import events as ev
from helpdesk_shared.parking import StreamMessage, retry
from helpdesk_shared.stream_runner import settle

from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_query.entrypoints.projector import projection
from helpdesk_query.entrypoints.rebuild import rebuild
from tests.notify.facts import History
from tests.query.conftest import projecting, reached, read_model_checksum, sql
from tests.query.synthetic import message, publish


def _stream(events: list[ev.CloudEvent]) -> list[StreamMessage]:
    msgs = []
    for seq, event in enumerate(events, start=1):
        subject, payload, _ = message(event)
        msgs.append(StreamMessage(seq, subject, payload, event.sequence))
    return msgs


async def test_hardening_poison_pill_a_retry_before_the_fix_keeps_the_ticket_parked_and_after_it_applies_in_order(
        read_model: str) -> None:
    a, b = History(), History()
    events = [a.opened(), b.opened(), a.comment("nul \x00 inside"), b.comment("clean"), a.comment("behind")]
    async with await psycopg.AsyncConnection.connect(read_model, autocommit=True) as conn:
        applied, parked = await settle(conn, projection(), _stream(events))
        assert (applied, [m.stream_seq for m, _ in parked]) == (3, [3, 5])
        again = await retry(conn, projection())
        assert again.applied == [] and [(r["stream_seq"], r["reason"].split(":")[0]) for r in again.remaining] == [
            (3, "DataError"), (5, "held back")]
        await conn.execute("UPDATE query.parked SET payload = %s WHERE stream_seq = 3",
                           (_fixed(await sql(read_model, "SELECT payload FROM query.parked WHERE stream_seq = 3")),))
        done = await retry(conn, projection())
    assert (done.applied, done.remaining) == ([3, 5], [])
    rows = await sql(read_model, "SELECT id, version, position FROM query.tickets ORDER BY position")
    assert rows == [(b.ticket_id, 2, events[3].sequence), (a.ticket_id, 3, events[4].sequence)]
    assert await sql(read_model, "SELECT position, stream_seq FROM query.tracking") == [(events[4].sequence, 5)]


def _fixed(rows: list[tuple[Any, ...]]) -> bytes:
    return bytes(rows[0][0]).replace(b"\\u0000", b"")


async def test_hardening_poison_pill_a_rebuild_parks_what_the_live_projection_parked_and_matches_it(
        read_model: str, js: Any, nc: Any) -> None:
    a, b = History(), History()
    events = [a.opened(), b.opened(), a.comment("nul \x00 inside"), b.comment("clean"), a.comment("behind"),
              b.comment("again")]
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
        live = await read_model_checksum(read_model)
        parked = await sql(read_model, "SELECT stream_seq, reason FROM query.parked ORDER BY 1")
        done = await rebuild(read_model, EventStream(nc), progress=False)
    assert (done.new, done.position) == ("query_g2", events[-1].sequence)
    assert await read_model_checksum(read_model) == live
    assert [s for s, _ in await sql(read_model, "SELECT stream_seq, reason FROM query.parked ORDER BY 1")] == [
        s for s, _ in parked] == [3, 5]
