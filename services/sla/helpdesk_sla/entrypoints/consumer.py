"""The ticket-event consumer: a durable JetStream consumer feeding the SLA's tables.

It follows every ticket event and every customer policy change, in stream order.

As in the query projector, the database is the bookmark: each batch commits the
tickets' rows, timers, outbox facts and the tracked position together, and only
then is acknowledged; on start the durable consumer is re-aligned to the tracked
stream sequence. One consumer is active at a time (an advisory lock) — per-ticket
order matters; other SLA processes stand by and still fire timers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from helpdesk_shared import directory_events as directory
from helpdesk_shared import events as ev
from helpdesk_shared import subjects
from helpdesk_shared.locked_loop import LockedLoop
from helpdesk_shared.stream import bind_aligned

from helpdesk_sla.adapters import store
from helpdesk_sla.application import PolicyLookup, take_events

log = logging.getLogger("helpdesk.sla.consumer")
DURABLE = "helpdesk-sla"
LOCK_ID = 0x534C4130
APPLIED = Counter("helpdesk_sla_events_applied_total", "Ticket events applied to SLA state")
POSITION = Gauge("helpdesk_sla_position", "Ticket-store position the SLA service has applied")


FILTERS = (subjects.ALL_TICKET_EVENTS, subjects.CUSTOMER_POLICY_CHANGES)
_DECODERS = {"ticket": ev.decode, "customer": directory.decode}


def _decode(subject: str, payload: bytes) -> ev.CloudEvent | str:
    try:
        return _DECODERS[subjects.family(subject)](payload)
    except (KeyError, msgspec.DecodeError, msgspec.ValidationError) as error:
        return f"undecodable: {error!r}"


class Consumer(LockedLoop):
    name = "SLA consumer"
    lock_id = LOCK_ID
    standby_pause = 1.0

    def __init__(self, conninfo: str, js: JetStreamContext, policy_of: PolicyLookup,
                 on_commit: Callable[[], None], batch: int = 500) -> None:
        super().__init__(conninfo)
        self._js, self._policy_of, self._batch = js, policy_of, batch
        self._on_commit = on_commit

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await self._follow(conn, await self._subscribe(conn))

    async def _subscribe(self, conn: psycopg.AsyncConnection[Any]) -> Any:
        _, tracked = await store.tracking(conn)
        return await bind_aligned(self._js, DURABLE, FILTERS, tracked)

    async def _follow(self, conn: psycopg.AsyncConnection[Any], sub: Any) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self._batch, timeout=0.5)
                except (NatsTimeout, TimeoutError):
                    continue
                if not msgs:
                    continue
                batch = [(m.metadata.sequence.stream, _decode(m.subject, m.data)) for m in msgs]
                async with conn.transaction():
                    taken = await take_events(conn, batch, self._policy_of)
                await msgs[-1].ack()  # AckPolicy.ALL: the whole batch
                if taken.replanned:
                    log.info("re-planned %d open tickets after a policy change", taken.replanned)
                for seq, why in taken.skipped:
                    log.error("skipped stream message %d: %s", seq, why)
                APPLIED.inc(taken.applied)
                POSITION.set(taken.position)
                self._on_commit()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

