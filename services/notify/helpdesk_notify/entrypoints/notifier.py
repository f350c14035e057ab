"""notify's engine: one active instance per database follows the stream and sends the mail.

The active instance holds a PostgreSQL advisory lock (others stand by), so mail left
``sending`` when it starts can only be a crashed predecessor's: it is put back in
line, to be sent again under the same Message-ID. Then the consumer and
``senders`` SMTP workers run until stopped; any failure re-aligns and starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from nats.js import JetStreamContext

from helpdesk_notify.adapters.outbox import PostgresOutbox
from helpdesk_notify.application import Sender
from helpdesk_notify.domain.notifications import Windows
from helpdesk_notify.entrypoints import metrics
from helpdesk_notify.entrypoints.consumer import Consumer

log = logging.getLogger("helpdesk.notify")
LOCK_ID = 0x4E4F5430  # one active notify per database
GAUGE_SECONDS = 2.0


class Notifier:
    def __init__(self, conninfo: str, js: JetStreamContext, windows: Windows, outbox: PostgresOutbox,
                 senders: list[Sender], batch: int = 200, poll_seconds: float = 0.5) -> None:
        self._conninfo, self._js, self._windows, self._batch = conninfo, js, windows, batch
        self._outbox, self._senders, self._poll = outbox, senders, poll_seconds
        self._stopping = asyncio.Event()
        self._due = asyncio.Event()  # set when mail was queued or a retry was asked for
        self._consumer: Consumer | None = None
        self.standby = False

    @property
    def active(self) -> bool:
        """Holds the lock and follows the stream."""
        return self._consumer is not None and self._consumer.subscribed

    def wake(self) -> None:
        self._due.set()

    def stop(self) -> None:
        self._stopping.set()
        self._due.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    if await self._lock(conn):
                        await self._work(conn)
            except Exception:  # noqa: BLE001 - a passing failure: log, back off, re-align, go on
                log.exception("notify failed; re-aligning and retrying")
            finally:
                self._consumer = None
            await self._pause(1.0)

    async def _lock(self, conn: psycopg.AsyncConnection) -> bool:
        while not self._stopping.is_set():
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_ID,))).fetchone()
            if row and row[0]:
                self.standby = False
                return True
            self.standby = True
            log.info("another notify holds the lock; standing by")
            await self._pause(2.0)
        return False

    async def _work(self, conn: psycopg.AsyncConnection) -> None:
        if recovered := await self._outbox.recover_in_doubt():
            log.warning("%d mail(s) were being sent when notify stopped; sending again, same Message-ID",
                        recovered)
            metrics.IN_DOUBT.inc(recovered)
        self._consumer = Consumer(conn, self._js, self._windows, self._batch, self.wake)
        stopped = asyncio.Event()
        tasks = [asyncio.create_task(self._consumer.run(stopped)), asyncio.create_task(self._gauges(stopped)),
                 *(asyncio.create_task(self._send(sender, stopped)) for sender in self._senders)]
        stopper = asyncio.create_task(self._stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.set()
            self._due.set()
            await asyncio.wait(tasks, timeout=15)  # a sender finishes the mail in hand
            for task in (*tasks, stopper):
                task.cancel()
        for task in done:
            if task is not stopper and task.exception():
                raise task.exception()  # type: ignore[misc]

    async def _send(self, sender: Sender, stopped: asyncio.Event) -> None:
        """One SMTP worker: send due mail until there is none, then wait to be woken (or poll)."""
        while not stopped.is_set():
            self._due.clear()
            outcomes = await sender.send_due()
            if not outcomes:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._due.wait(), self._poll)
            for outcome in outcomes:
                if outcome == "sent":
                    metrics.SENT.inc()
                else:
                    metrics.FAILED.inc()
                    metrics.DEAD.inc(outcome == "dead")

    async def _gauges(self, stopped: asyncio.Event) -> None:
        while not stopped.is_set():
            counts = await self._outbox.counts()
            metrics.PENDING.set(counts["pending"] + counts["sending"])
            metrics.DEAD_NOW.set(counts["dead"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), GAUGE_SECONDS)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
