"""SLA at scale (issue #16 item 5): the outbox publisher sends a batch with its acknowledgements in flight.

Against the real PostgreSQL and NATS: facts in ``sla.outbox`` reach the stream once each, in
outbox order, and a row leaves the outbox only once the stream acknowledged it.
"""

from __future__ import annotations

import asyncio
import time

import nats
import psycopg
import pytest
from nats.js.api import DeliverPolicy

from helpdesk_shared import subjects
from helpdesk_shared.stream import ensure_stream

from helpdesk_sla.entrypoints.publisher import Publisher

FACTS = 1200  # more than two batches of 500


def _fill_outbox(database_url: str, count: int) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO sla.outbox (ticket_id, subject, payload) SELECT 't-' || i,"
                     " 'helpdesk.sla.t-' || i || '.at_risk', convert_to('{\"n\":' || i || '}', 'UTF8')"
                     " FROM generate_series(1, %s) AS i", (count,))


def _outbox_size(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM sla.outbox").fetchone()[0]  # type: ignore[index]


async def _published(js: nats.js.JetStreamContext, count: int) -> list[str]:
    """The ``Nats-Msg-Id``s of the SLA facts on the stream, in stream order."""
    sub = await js.subscribe(f"{subjects.SLA_PREFIX}.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    ids = []
    try:
        while len(ids) < count:
            ids.append((await sub.next_msg(timeout=10)).headers["Nats-Msg-Id"])
        try:  # one more would be a duplicate
            ids.append((await sub.next_msg(timeout=0.5)).headers["Nats-Msg-Id"])
        except nats.errors.TimeoutError:
            pass
    finally:
        await sub.unsubscribe()
    return ids


async def test_sla_scale_publisher_sends_every_outbox_fact_once_in_order_with_acks_in_flight(
        database_url: str, nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js)
    _fill_outbox(database_url, FACTS)
    publisher = Publisher(database_url, js, asyncio.Event(), batch=500)
    task = asyncio.create_task(publisher.run())
    try:
        deadline = time.monotonic() + 60
        while await asyncio.to_thread(_outbox_size, database_url) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await asyncio.to_thread(_outbox_size, database_url) == 0
        assert await _published(js, FACTS) == [f"sla-{i}" for i in range(1, FACTS + 1)]
    finally:
        publisher.stop()
        await task
        await nc.close()


async def test_sla_scale_publisher_keeps_unacknowledged_facts_in_the_outbox(
        database_url: str, nats_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """No stream takes the subjects yet: the batch is refused, nothing leaves the outbox; once the
    stream is there the facts follow, once each and in order."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    _fill_outbox(database_url, 10)
    publisher = Publisher(database_url, js, asyncio.Event(), batch=500, ack_timeout=5.0)
    task = asyncio.create_task(publisher.run())
    try:
        deadline = time.monotonic() + 30
        while not any("SLA publisher failed" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the batch was not refused"
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(_outbox_size, database_url) == 10
        await ensure_stream(js)
        deadline = time.monotonic() + 60
        while await asyncio.to_thread(_outbox_size, database_url) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await _published(js, 10) == [f"sla-{i}" for i in range(1, 11)]
    finally:
        publisher.stop()
        await task
        await nc.close()
