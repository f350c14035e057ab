"""The projection against real PostgreSQL and NATS: exactly once, parking, identical rebuilds."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import REGISTRY

from helpdesk_shared import events as ev
from helpdesk_shared import subjects

from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_query.adapters.projection import apply_batch
from helpdesk_query.entrypoints.projector import DURABLE
from helpdesk_query.entrypoints.rebuild import rebuild
from tests.query.conftest import assert_matches, projecting, reached, read_model_checksum, sql
from tests.query.synthetic import histories, message, publish
from tests.support.waiting import async_wait_until


async def test_projection_is_exactly_once_when_committed_batches_are_redelivered_and_duplicated(
        read_model: str, js: Any, nc: Any) -> None:
    events = list(histories(tickets=60, events_per_ticket=5))
    await publish(js, events)
    # A batch committed but never acknowledged (a crash between the two) ...
    async with EventStream(nc).reader() as reader:
        first = await anext(reader.batches(limit=120, batch=120))
    async with await psycopg.AsyncConnection.connect(read_model) as conn, conn.transaction():
        await apply_batch(conn, "query_g1", first)
    # ... and a durable consumer that will deliver it all again from the start.
    await js.add_consumer(subjects.STREAM, ConsumerConfig(
        durable_name=DURABLE, name=DURABLE, ack_policy=AckPolicy.ALL, deliver_policy=DeliverPolicy.ALL,
        filter_subject=subjects.ALL_TICKET_EVENTS))
    async with projecting(read_model, js, batch=37) as watcher:
        await reached(watcher, events[-1].sequence)
        # the relay republishing old events outside the dedupe window (fresh message ids)
        for event in events[:80]:
            subject, payload, headers = message(event)
            await js.publish(subject, payload, headers={**headers, "Nats-Msg-Id": f"again-{event.id}"})
        last_seq = (await js.stream_info(subjects.STREAM)).state.last_seq
        await _tracked_seq(read_model, last_seq)
    await assert_matches(read_model, events)


async def test_undecodable_messages_are_parked_counted_and_the_projection_goes_on(
        read_model: str, js: Any, nc: Any) -> None:
    events = list(histories(tickets=10, events_per_ticket=3))
    parked_before = REGISTRY.get_sample_value("helpdesk_query_events_parked_total") or 0
    await publish(js, events[:10])
    await js.publish("helpdesk.ticket.bogus.opened", b"{not json", headers={"Nats-Msg-Id": "garbage"})
    await js.publish("helpdesk.ticket.x.opened", b'{"type": "helpdesk.ticket.exploded"}')
    orphan = next(e for e in events[10:] if e.data.ticket_id not in {x.data.ticket_id for x in events[:10]}
                  and not isinstance(e.data, ev.TicketOpened))
    orphan = msgspec.structs.replace(orphan, sequence=events[9].sequence + 1)
    subject, payload, headers = message(orphan)
    await js.publish(subject, payload, headers=headers)  # a fact about a ticket never opened
    rest = [msgspec.structs.replace(e, sequence=e.sequence + 1000)
            for e in events[10:] if e.data.ticket_id != orphan.data.ticket_id]
    await publish(js, rest)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, rest[-1].sequence)
    parked = await sql(read_model, "SELECT subject, reason FROM query.parked ORDER BY stream_seq")
    assert [s for s, _ in parked] == ["helpdesk.ticket.bogus.opened", "helpdesk.ticket.x.opened", subject]
    assert parked[0][1].startswith("undecodable") and parked[2][1].startswith("UnknownTicket")
    assert (REGISTRY.get_sample_value("helpdesk_query_events_parked_total") or 0) - parked_before == 3
    await assert_matches(read_model, events[:10] + rest)


async def test_rebuild_from_the_event_store_is_identical_to_the_live_model(
        read_model: str, js: Any, nc: Any) -> None:
    events = list(histories(tickets=600, events_per_ticket=6, seed=11))
    assert len(events) >= 3000
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
        live = await read_model_checksum(read_model)
        done = await rebuild(read_model, EventStream(nc), progress=False)
        assert (done.old, done.new, done.position) == ("query_g1", "query_g2", events[-1].sequence)
        assert await read_model_checksum(read_model) == live
        assert await sql(read_model, "SELECT active FROM query.generation") == [("query_g2",)]
    await assert_matches(read_model, events)


async def test_rebuild_switches_over_while_events_arrive_and_readers_keep_reading(
        read_model: str, js: Any, nc: Any) -> None:
    events = list(histories(tickets=800, events_per_ticket=5, seed=3))
    await publish(js, events[:2500])
    counts: list[int] = []

    async def read_all_along(stop: asyncio.Event) -> None:
        while not stop.is_set():
            counts.append((await sql(read_model, "SELECT count(*) FROM query.comments"))[0][0])

    async with projecting(read_model, js, batch=50) as watcher:
        await reached(watcher, events[2499].sequence)
        stop = asyncio.Event()
        reader = asyncio.create_task(read_all_along(stop))
        writer = asyncio.create_task(publish(js, events[2500:], window=50))
        await rebuild(read_model, EventStream(nc), progress=False)
        await writer
        await reached(watcher, events[-1].sequence)
        stop.set()
        await reader
    assert counts == sorted(counts) and len(counts) > 1  # served all along, never went back
    await assert_matches(read_model, events)
    live = await read_model_checksum(read_model)
    await rebuild(read_model, EventStream(nc), progress=False)
    assert await read_model_checksum(read_model) == live


async def _tracked_seq(database_url: str, seq: int) -> None:
    async def tracked() -> bool:
        return (await sql(database_url, "SELECT stream_seq FROM query.tracking"))[0][0] >= seq

    await async_wait_until(tracked, timeout=20, message=f"projection never reached stream sequence {seq}")
