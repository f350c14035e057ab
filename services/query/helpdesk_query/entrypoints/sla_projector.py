"""The SLA projection: a second durable consumer, of ``helpdesk.sla.>``, into ``query.sla``.

SLA facts have their own position space (the SLA service's outbox), so this
consumer tracks the stream sequence it applied, in the transaction of its rows,
and re-aligns the durable consumer to it on start, like the ticket projector.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from helpdesk_shared import subjects
from helpdesk_shared.stream import bind_aligned

from helpdesk_query.adapters.schema import CONTROL
from helpdesk_query.adapters.sla_projection import apply_sla_batch

log = logging.getLogger("helpdesk.query.sla")
DURABLE = "helpdesk-query-sla"
LOCK_ID = 0x51525932


class SlaProjector:
    def __init__(self, conninfo: str, js: JetStreamContext, batch: int = 500) -> None:
        self._conninfo, self._js, self._batch = conninfo, js, batch
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    if await self._lock(conn):
                        await self._follow(conn, await self._subscribe(conn))
            except Exception:  # noqa: BLE001 - a passing failure: log, back off, re-align, go on
                log.exception("SLA projector failed; re-aligning and retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 1.0)

    async def _lock(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        while not self._stopping.is_set():
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_ID,))).fetchone()
            if row and row[0]:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 2.0)
        return False

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
