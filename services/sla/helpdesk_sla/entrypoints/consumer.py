"""The ticket-event consumer: a durable JetStream consumer feeding the SLA's tables.

As in the query projector, the database is the bookmark: each batch commits the
tickets' rows, timers, outbox facts and the tracked position together, and only
then is acknowledged; on start the durable consumer is re-aligned to the tracked
stream sequence. One consumer is active at a time (an advisory lock) — per-ticket
order matters; other SLA processes stand by and still fire timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from helpdesk_shared import events as ev
from helpdesk_shared import subjects
from helpdesk_shared.stream import bind_aligned

from helpdesk_sla.adapters import store
from helpdesk_sla.application import PolicyLookup, take_events

log = logging.getLogger("helpdesk.sla.consumer")
DURABLE = "helpdesk-sla"
LOCK_ID = 0x534C4130
APPLIED = Counter("helpdesk_sla_events_applied_total", "Ticket events applied to SLA state")
POSITION = Gauge("helpdesk_sla_position", "Ticket-store position the SLA service has applied")


def _decode(payload: bytes) -> ev.CloudEvent | str:
    try:
        return ev.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return f"undecodable: {error}"


class Consumer:
    def __init__(self, conninfo: str, js: JetStreamContext, policy_of: PolicyLookup,
                 on_commit: Callable[[], None], batch: int = 500) -> None:
        self._conninfo, self._js, self._policy_of, self._batch = conninfo, js, policy_of, batch
        self._on_commit = on_commit
        self._stopping = asyncio.Event()
        self.active = False

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    if await self._lock(conn):
                        await self._follow(conn, await self._subscribe(conn))
            except Exception:  # noqa: BLE001 - a passing failure: log, back off, re-align, go on
                log.exception("consumer failed; re-aligning and retrying")
            finally:
                self.active = False
            await self._pause(1.0)

    async def _lock(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        while not self._stopping.is_set():
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_ID,))).fetchone()
            if row and row[0]:
                self.active = True
                return True
            await self._pause(1.0)
        return False

    async def _subscribe(self, conn: psycopg.AsyncConnection[Any]) -> Any:
        _, tracked = await store.tracking(conn)
        return await bind_aligned(self._js, DURABLE, subjects.ALL_TICKET_EVENTS, tracked)

    async def _follow(self, conn: psycopg.AsyncConnection[Any], sub: Any) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self._batch, timeout=0.5)
                except (NatsTimeout, TimeoutError):
                    continue
                if not msgs:
                    continue
                batch = [(m.metadata.sequence.stream, _decode(m.data)) for m in msgs]
                async with conn.transaction():
                    taken = await take_events(conn, batch, self._policy_of)
                await msgs[-1].ack()  # AckPolicy.ALL: the whole batch
                for seq, why in taken.skipped:
                    log.error("skipped stream message %d: %s", seq, why)
                APPLIED.inc(taken.applied)
                POSITION.set(taken.position)
                self._on_commit()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
