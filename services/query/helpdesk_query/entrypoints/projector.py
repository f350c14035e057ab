"""The live projection: a durable JetStream consumer feeding the active read-model generation.

The database, not the consumer, is the bookmark: each batch commits its rows with
the tracking position, and only then is the batch acknowledged. On start (and
after any failure) the durable consumer is re-aligned to the tracked stream
sequence if it delivered past it, so a batch lost to a crash is delivered again
at once and in order, never overtaken by later events. One projector writes at a
time (an advisory lock); others stand by, so many ``serve`` replicas are safe.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import psycopg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from helpdesk_shared import subjects
from helpdesk_shared.locked_loop import LockedLoop
from helpdesk_shared.stream import bind_aligned

from helpdesk_query.adapters.eventstore import stored
from helpdesk_query.adapters.positions import PositionWatcher
from helpdesk_query.adapters.projection import apply_batch
from helpdesk_query.adapters.schema import CONTROL

log = logging.getLogger("helpdesk.query.projector")
DURABLE = "helpdesk-query"
LOCK_ID = 0x51525930  # one active projector per database
APPLIED = Counter("helpdesk_query_events_applied_total", "Ticket events applied to the read model")
PARKED = Counter("helpdesk_query_events_parked_total", "Messages parked because they could not be projected")
PARKED_ROWS = Gauge("helpdesk_query_parked_events", "Messages currently parked in query.parked")
POSITION = Gauge("helpdesk_query_position", "Store position the read model has applied")


class Projector(LockedLoop):
    name = "projector"
    lock_id = LOCK_ID

    def __init__(self, conninfo: str, js: JetStreamContext, watcher: PositionWatcher | None = None,
                 batch: int = 500) -> None:
        super().__init__(conninfo)
        self._js, self._watcher, self._batch = js, watcher, batch

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await self._count_parked(conn)
        await self._follow(conn, await self._subscribe(conn))

    async def _subscribe(self, conn: psycopg.AsyncConnection[Any]) -> Any:
        """Bind to the durable consumer, re-created to start right after the tracked sequence."""
        row = await (await conn.execute(f"SELECT stream_seq FROM {CONTROL}.tracking")).fetchone()
        tracked = int(row[0]) if row else 0
        return await bind_aligned(self._js, DURABLE, subjects.ALL_TICKET_EVENTS, tracked)

    async def _follow(self, conn: psycopg.AsyncConnection[Any], sub: Any) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self._batch, timeout=1.0)
                except (NatsTimeout, TimeoutError):
                    continue
                if not msgs:  # a fetch cut short by a drain or reconnect
                    continue
                async with conn.transaction():
                    # FOR SHARE: a rebuild switching generations waits for this batch, and this
                    # batch waits for the switch, then writes into the new generation.
                    row = await (await conn.execute(
                        f"SELECT active FROM {CONTROL}.generation FOR SHARE")).fetchone()
                    outcome = await apply_batch(conn, str(row[0]), [stored(m) for m in msgs])  # type: ignore[index]
                await msgs[-1].ack()  # AckPolicy.ALL: acknowledges the whole batch
                APPLIED.inc(outcome.applied)
                if outcome.parked:
                    for msg, reason in outcome.parked:
                        log.error("parked stream message %d (%s): %s", msg.stream_seq, msg.subject, reason)
                    PARKED.inc(len(outcome.parked))
                    PARKED_ROWS.inc(len(outcome.parked))
                POSITION.set(outcome.position)
                if self._watcher is not None:
                    self._watcher.advance(outcome.position)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _count_parked(self, conn: psycopg.AsyncConnection[Any]) -> None:
        row = await (await conn.execute(f"SELECT count(*) FROM {CONTROL}.parked")).fetchone()
        PARKED_ROWS.set(int(row[0]) if row else 0)

