"""The live projector decodes a fetched batch while the batch before is applied (the stream runner's
``ahead`` hook), so its decoding overlaps PostgreSQL's work instead of following it; a poison
message decoded ahead is still parked, not raised."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import psycopg

from helpdesk_shared import events as ev
from helpdesk_shared import subjects
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.stream_runner import Follower, StreamRunner, Subscription

from helpdesk_query.adapters.positions import PositionWatcher
from helpdesk_query.adapters.projection import TicketProjection
from helpdesk_query.entrypoints.projector import DURABLE, LOCK_ID, METERS, PARKING_LOCK
from tests.query.conftest import assert_matches, reached
from tests.query.synthetic import histories, publish


class Watched(TicketProjection):
    """The ticket projection, noting when each event is decoded and each batch applied."""

    def __init__(self) -> None:
        super().__init__(PARKING_LOCK)
        self.decoded: list[int] = []  # the store positions decoded ahead, in order
        self.overlapped: list[bool] = []  # per batch: the next one was decoded while it was applied
        self.undecoded = 0  # messages that reached apply without their event decoded ahead

    def ahead(self, payload: bytes) -> ev.CloudEvent | str:  # type: ignore[override]
        event = super().ahead(payload)
        self.decoded.append(event.sequence if isinstance(event, ev.CloudEvent) else 0)
        return event

    async def apply(self, conn: psycopg.AsyncConnection[Any], msgs: Sequence[StreamMessage],
                    replay: bool = False) -> int:
        self.undecoded += sum(m.decoded is None for m in msgs)
        last = max(m.position or 0 for m in msgs)
        applied = await super().apply(conn, msgs, replay)
        for _ in range(200):  # until an event after this batch is decoded (or 2 s pass)
            if any(position > last for position in self.decoded):
                break
            await asyncio.sleep(0.01)
        self.overlapped.append(any(position > last for position in self.decoded))
        return applied


async def test_perf_projector_decodes_each_batch_ahead_while_the_one_before_is_applied(
        read_model: str, js: Any) -> None:
    events = list(histories(tickets=100, events_per_ticket=4))
    await publish(js, events)
    projection, watcher = Watched(), PositionWatcher()
    follower = Follower("projector", js, projection, Subscription(DURABLE, subjects.ALL_TICKET_EVENTS), METERS,
                        batch=100, on_commit=lambda position: watcher.advance(position or 0))
    runner = StreamRunner(read_model, follower, LOCK_ID)
    task = asyncio.create_task(runner.run())
    try:
        await reached(watcher, events[-1].sequence)
    finally:
        runner.stop()
        await asyncio.wait_for(task, 10)
    assert projection.undecoded == 0
    assert len(projection.overlapped) >= 4 and all(projection.overlapped[:-1])  # the last has no next batch
    await assert_matches(read_model, events)
