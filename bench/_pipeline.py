"""Where answer → visible goes: three stages, timed on the machine's one wall clock.

1. answered → published: the command's answer (the bench) to the stream message of its
   position (the message's own JetStream timestamp, when the server stored it: the relay's hop);
2. published → committed: to the first ``helpdesk_query_position`` NOTIFY at or past the
   position (sent in the projector's transaction, delivered on its commit: the projector's hop);
3. committed → read: to the end of the read that waited for the position (query's wake-up,
   the read itself, and the client's own queueing).

The first stage can be negative by a little: the relay may publish before the answer is back.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from dataclasses import dataclass, field

import nats
import psycopg
from nats.js.api import DeliverPolicy

from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER

POSITION_CHANNEL = "helpdesk_query_position"  # helpdesk_query.adapters.schema.POSITION_CHANNEL
STAGES = ("answered → published", "published → committed", "committed → read")


@dataclass
class Pipeline:
    """Follows the ticket stream and the read model's commits while a run lasts (``async with``)."""

    nats_url: str
    database_url: str
    published: dict[int, float] = field(default_factory=dict)  # store position → stream timestamp
    committed: list[tuple[int, float]] = field(default_factory=list)  # (position, when heard), in order

    async def __aenter__(self) -> Pipeline:
        self._nc = await nats.connect(self.nats_url)
        self._sub = await self._nc.jetstream().subscribe(
            subjects.ALL_TICKET_EVENTS, cb=self._on_message, ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW, headers_only=True)
        self._db = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
        await self._db.execute(f"LISTEN {POSITION_CHANNEL}")
        self._listening = asyncio.create_task(self._listen())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0.5)  # the last reads' messages and commits are in
        self._listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._listening
        await self._db.close()
        await self._sub.unsubscribe()
        await self._nc.close()

    async def _on_message(self, msg: nats.aio.msg.Msg) -> None:
        if position := (msg.headers or {}).get(POSITION_HEADER):
            self.published[int(position)] = msg.metadata.timestamp.timestamp()

    async def _listen(self) -> None:
        async for notify in self._db.notifies():
            heard, position = time.time(), int(notify.payload)
            if not self.committed or position > self.committed[-1][0]:
                self.committed.append((position, heard))

    def stages(self, reads: list[tuple[int, float, float]]) -> dict[str, list[float]]:
        """Milliseconds of each stage for every (position, answered, read) of the run whose every stage was seen."""
        positions = [p for p, _ in self.committed]
        split: dict[str, list[float]] = {name: [] for name in STAGES}
        for position, answered, read in reads:
            at = bisect.bisect_left(positions, position)
            if position not in self.published or at == len(positions):
                continue
            published, committed = self.published[position], self.committed[at][1]
            for name, ms in zip(STAGES, (published - answered, committed - published, read - committed)):
                split[name].append(ms * 1000)
        return split
