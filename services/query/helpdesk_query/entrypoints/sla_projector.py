"""The SLA projection: a second durable consumer, of ``helpdesk.sla.>``, into ``query.sla``.

SLA facts have their own position space (the SLA service's outbox), so this
consumer tracks the stream sequence it applied, in the transaction of its rows,
and re-aligns the durable consumer to it on start, like the ticket projector.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import psycopg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from helpdesk_shared import subjects
from helpdesk_shared.locked_loop import LockedLoop
from helpdesk_shared.stream import bind_aligned

from helpdesk_query.adapters.schema import CONTROL
from helpdesk_query.adapters.sla_projection import apply_sla_batch

log = logging.getLogger("helpdesk.query.sla")
DURABLE = "helpdesk-query-sla"
LOCK_ID = 0x51525932


class SlaProjector(LockedLoop):
    name = "SLA projector"
    lock_id = LOCK_ID

    def __init__(self, conninfo: str, js: JetStreamContext, batch: int = 500) -> None:
        super().__init__(conninfo)
        self._js, self._batch = js, batch

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await self._follow(conn, await self._subscribe(conn))

    async def _subscribe(self, conn: psycopg.AsyncConnection[Any]) -> Any:
        row = await (await conn.execute(f"SELECT stream_seq FROM {CONTROL}.sla_tracking")).fetchone()
        tracked = int(row[0]) if row else 0
        return await bind_aligned(self._js, DURABLE, f"{subjects.SLA_PREFIX}.>", tracked)

    async def _follow(self, conn: psycopg.AsyncConnection[Any], sub: Any) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self._batch, timeout=1.0)
                except (NatsTimeout, TimeoutError):
                    continue
                if not msgs:
                    continue
                async with conn.transaction():
                    _, skipped = await apply_sla_batch(conn, [(m.metadata.sequence.stream, m.data) for m in msgs])
                await msgs[-1].ack()
                if skipped:
                    log.warning("skipped %d SLA messages this version cannot decode", skipped)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
