"""The rebuild's fast replay path: the wire-protocol bulk reader, and a rebuild equal to the live model."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from helpdesk_shared import events as ev

from helpdesk_query.adapters.bulkread import BulkReader, WireProtocol
from helpdesk_query.adapters.eventstore import EventStream, _consumer
from helpdesk_query.entrypoints.rebuild import rebuild
from tests.query.conftest import assert_matches, projecting, reached, read_model_checksum, sql
from tests.query.synthetic import histories, publish

HOURS = "SELECT customer_id, month, policy, budget_minutes, planned_minutes, used_minutes FROM query.hours ORDER BY 1, 2"


async def _read_through_flow_control(js: Any, nc: Any, rows: bool) -> tuple[list[Any], list[Any]]:
    """What the plain reader reads, and what the bulk reader's ``batches`` (or ``rows``) give while the
    consumer's flow-control requests wait for its buffer to drain, both as (stream_seq, subject, payload, position)."""
    await publish(js, list(histories(tickets=300, events_per_ticket=4, seed=21)))
    async with EventStream(nc).reader() as reader:
        expected = [(m.stream_seq, m.subject, m.payload, m.position) async for batch in reader.batches() for m in batch]
    bulk = BulkReader(nc)
    bulk.HIGH_WATER = 40
    try:
        await bulk.open(_consumer("helpdesk.ticket.>", 1))
        got = []
        async for batch in (bulk.rows(batch=25) if rows else bulk.batches(batch=25)):
            got += batch if rows else [(m.stream_seq, m.subject, m.payload, m.position) for m in batch]
            await asyncio.sleep(0)
    finally:
        await bulk.close()
    return got, expected


async def test_replay_bulk_reader_reads_what_the_reader_reads_through_flow_control(js: Any, nc: Any) -> None:
    got, expected = await _read_through_flow_control(js, nc, rows=False)
    assert len(got) == len(expected) >= 1000
    assert got == expected


async def test_perf_bulk_reader_rows_are_the_readers_messages_through_flow_control(js: Any, nc: Any) -> None:
    got, expected = await _read_through_flow_control(js, nc, rows=True)
    assert len(got) == len(expected) >= 1000
    assert got == expected and all(type(row) is tuple for row in got)  # no StoredMessage made


def _delivery(reply: str, seq: int, position: bytes | None, payload: bytes) -> bytes:
    header = b"NATS/1.0\r\nNats-Msg-Id: m%d\r\n" % seq + (b"Helpdesk-Position:" + position + b"\r\n"
                                                          if position is not None else b"") + b"\r\n"
    line = b"HMSG helpdesk.ticket.t%d.opened 1 %s %d %d\r\n" % (seq, reply.encode(), len(header),
                                                              len(header) + len(payload))
    return line + header + payload + b"\r\n"


async def test_perf_bulk_reader_cuts_messages_of_either_reply_shape_in_order_across_chunks(nc: Any) -> None:
    """The regular expression's common case (``$JS.ACK.<stream>.<consumer>...``) and the hand-cut one (a
    reply with a domain) in one stream: the same tuples, in delivery order, however the bytes are chunked."""
    wire = b"".join(_delivery(f"$JS.ACK.HELPDESK.C.1.{100 + n}.{n}.1764585600000000000.{9 - n}" if n % 3 else
                              f"$JS.ACK.dom.acc.HELPDESK.C.1.{100 + n}.{n}.1764585600000000000.{9 - n}.x",
                              100 + n, (b" %d " % (5000 + n)) if n != 4 else b" 12x", b'{"n":%d}' % n)
                    for n in range(1, 10))
    expected = [(100 + n, f"helpdesk.ticket.t{100 + n}.opened", b'{"n":%d}' % n, 5000 + n if n != 4 else None)
                for n in range(1, 10)]
    for size in (1, 7, 40, 97, len(wire)):
        bulk = BulkReader(nc)
        protocol = WireProtocol(bulk)
        for i in range(0, len(wire), size):
            protocol.data_received(wire[i:i + size])
        assert list(bulk._buffer) == expected and bulk._error is None, size
    for skipped in (b".1.102.2.", b".1.103.3."):  # one of each shape delivered out of turn
        bulk = BulkReader(nc)
        WireProtocol(bulk).data_received(wire.replace(skipped, skipped[:-2] + b"7."))
        assert bulk._error == f"gap in delivery: {int(skipped[-2:-1]) - 1} then 7", skipped  # the first gap seen


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
