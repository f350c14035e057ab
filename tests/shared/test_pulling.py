"""Taking a pull consumer's backlog in one go (``take_pending``), against a real NATS server."""

from __future__ import annotations

import time

import nats

from helpdesk_shared import subjects
from helpdesk_shared.pulling import take_pending
from helpdesk_shared.stream import bind_aligned, ensure_stream


async def test_perf_take_pending_takes_the_backlog_in_order_and_returns_as_soon_as_the_server_has_no_more(
        nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        for i in range(25):
            await js.publish(f"helpdesk.ticket.t{i}.opened", str(i).encode())
        sub = await bind_aligned(js, "pulling", subjects.ALL_TICKET_EVENTS, 0)
        first = await take_pending(sub, 10, timeout=5)
        started = time.monotonic()
        rest = await take_pending(sub, 100, timeout=5)  # 15 left: the server says so, no waiting for 100
        assert time.monotonic() - started < 2
        assert [m.data for m in first + rest] == [str(i).encode() for i in range(25)]
        assert await take_pending(sub, 10, timeout=5) == []
        await rest[-1].ack()  # AckPolicy.ALL: the whole backlog
        await js.publish("helpdesk.ticket.t25.opened", b"25")
        assert [m.data for m in await take_pending(sub, 10, timeout=5)] == [b"25"]
    finally:
        await nc.close()
