"""The durable JetStream consumer ``notify``: every fact on ``helpdesk.>`` into notify's tables.

One consumer, in stream order: ticket and SLA facts into views and mail, user and
customer facts into the directory, inbound-mail outcomes into replies and forwards.

Each fetched batch is one transaction: views, outbox rows and the tracking position
commit together; only then are the messages acknowledged (those skipped for good are
terminated). The database is the bookmark: on start the durable consumer is
re-aligned to the tracked stream sequence if it delivered past it, so a batch lost to
a crash comes again at once and in order (the same scheme as query's projector).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy

from helpdesk_shared import subjects
from helpdesk_shared.stream import bind_aligned

from helpdesk_notify.adapters.projection import apply_batch, start_tracking, stream_message, tracked
from helpdesk_notify.domain.notifications import Windows
from helpdesk_notify.entrypoints import metrics

log = logging.getLogger("helpdesk.notify.consumer")
DURABLE = "notify"
FILTER = "helpdesk.>"  # ticket, sla, mail, user and customer facts, one consumer in stream order
MAX_ACK_PENDING = 2_000


class Consumer:
    def __init__(self, conn: psycopg.AsyncConnection[Any], js: JetStreamContext, windows: Windows,
                 batch: int, queued: Callable[[], None]) -> None:
        self._conn, self._js, self._windows, self._batch, self._queued = conn, js, windows, batch, queued
        self.subscribed = False

    async def run(self, stopping: asyncio.Event) -> None:
        """Follow the stream until ``stopping``; raises on a failure (the caller re-aligns and retries)."""
        sub = await self._subscribe()
        self.subscribed = True
        try:
            while not stopping.is_set():
                try:
                    msgs = await sub.fetch(self._batch, timeout=1.0)
                except (NatsTimeout, TimeoutError):
                    continue
                await self._apply(msgs)
        finally:
            self.subscribed = False
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _apply(self, msgs: list[Any]) -> None:
        try:
            async with self._conn.transaction():
                batch = await apply_batch(self._conn, [stream_message(m) for m in msgs], self._windows)
        except Exception:
            for msg in msgs:  # a passing failure: let them come again (after the re-alignment)
                with contextlib.suppress(Exception):
                    await msg.nak(delay=1.0)
            raise
        skipped = {i.stream_seq for i, _ in batch.skipped}
        for msg in msgs:
            await (msg.term() if msg.metadata.sequence.stream in skipped else msg.ack())
        for incoming, reason in batch.skipped:
            log.error("skipped stream message %d (%s): %s", incoming.stream_seq, incoming.subject, reason)
        metrics.EVENTS.inc(batch.applied)
        metrics.SKIPPED.inc(len(skipped))
        metrics.POSITION.set(batch.position)
        if batch.notifications:
            metrics.QUEUED.inc(len(batch.notifications))
            self._queued()

    async def _subscribe(self) -> Any:
        """Bind to the durable consumer, re-created to start right after the tracked sequence."""
        info = await self._js.stream_info(subjects.STREAM)
        await start_tracking(self._conn, info.state.last_seq + 1)
        _, tracked_seq, _ = await tracked(self._conn)
        return await bind_aligned(self._js, DURABLE, FILTER, tracked_seq,
                                  ack_policy=AckPolicy.EXPLICIT, max_ack_pending=MAX_ACK_PENDING)
