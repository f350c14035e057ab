"""The rebuild's fast replay path: the wire-protocol bulk reader, and a rebuild equal to the live model."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from helpdesk_shared import events as ev

from helpdesk_query.adapters.bulkread import BulkReader
from helpdesk_query.adapters.eventstore import EventStream, _consumer
from helpdesk_query.entrypoints.rebuild import rebuild
from tests.query.conftest import assert_matches, projecting, reached, read_model_checksum, sql
from tests.query.synthetic import histories, publish

HOURS = "SELECT customer_id, month, policy, budget_minutes, planned_minutes, used_minutes FROM query.hours ORDER BY 1, 2"


async def test_replay_bulk_reader_reads_what_the_reader_reads_through_flow_control(js: Any, nc: Any) -> None:
    await publish(js, list(histories(tickets=300, events_per_ticket=4, seed=21)))
    stream = EventStream(nc)
    async with stream.reader() as reader:
        expected = [m async for batch in reader.batches() for m in batch]
    bulk = BulkReader(nc)
    bulk.HIGH_WATER = 40  # the consumer's flow-control requests wait for the buffer to drain
    try:
        await bulk.open(_consumer("helpdesk.ticket.>", 1))
        got = []
        async for batch in bulk.batches(batch=25):
            got += batch
            await asyncio.sleep(0)
    finally:
        await bulk.close()
    assert len(got) == len(expected) >= 1000
    assert [(m.stream_seq, m.subject, m.payload, m.position) for m in got] == [
        (m.stream_seq, m.subject, m.payload, m.position) for m in expected]


def _budgeted(event: ev.CloudEvent) -> ev.CloudEvent:
    """Acceptances and time entries counted against a month's norm-hours (MED-12), by turns."""
    month = ("2026-03", "2026-04")[event.sequence % 2]
    if isinstance(event.data, ev.Accepted):
        return msgspec.structs.replace(event, data=msgspec.structs.replace(
            event.data, budget_month=month, budget_minutes=60, budget_limit=600 if event.sequence % 3 else None))
    if isinstance(event.data, ev.TimeLogged):
        return msgspec.structs.replace(event, data=msgspec.structs.replace(
            event.data, budget_month=month, budget_limit=900 if event.sequence % 5 else None))
    return event


async def test_replay_rebuild_keeps_the_live_models_tickets_comments_and_norm_hours(
        read_model: str, js: Any, nc: Any) -> None:
    events = [_budgeted(e) for e in histories(tickets=400, events_per_ticket=5, customers=6, seed=17)]
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
        live, live_hours = await read_model_checksum(read_model), await sql(read_model, HOURS)
        done = await rebuild(read_model, EventStream(nc), progress=False)
        assert done.events == len(events)
        assert await read_model_checksum(read_model) == live
        assert len(live_hours) > 6 and await sql(read_model, HOURS) == live_hours
    await assert_matches(read_model, events)
