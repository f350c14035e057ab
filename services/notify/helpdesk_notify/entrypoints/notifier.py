"""notify's engine: one active instance per database follows the stream and sends the mail.

The active instance holds a PostgreSQL advisory lock (others stand by), so mail left
``sending`` when it starts can only be a crashed predecessor's: it is put back in
line, to be sent again under the same Message-ID. Then the consumer and
``senders`` SMTP workers and the webhook workers run until stopped; any failure
re-aligns and starts over. A commit wakes only as many idle workers of each kind as
the rows it queued need (``wakeups``). Webhook deliveries left ``sending`` are sent again (at
least once: receivers deduplicate on ``ce-id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from nats.js import JetStreamContext

from helpdesk_shared.locked_loop import LockedLoop

from helpdesk_notify.adapters.outbox import PostgresOutbox
from helpdesk_notify.adapters.webhook_outbox import WebhookOutbox
from helpdesk_notify.application import Sender
from helpdesk_notify.application.webhooks import WebhookSender
from helpdesk_notify.domain.notifications import Windows
from helpdesk_notify.entrypoints import metrics
from helpdesk_notify.entrypoints.consumer import first_start, follower
from helpdesk_notify.entrypoints.wakeups import Wakeups

log = logging.getLogger("helpdesk.notify")
LOCK_ID = 0x4E4F5430  # one active notify per database
GAUGE_SECONDS = 2.0


class Notifier(LockedLoop):
    name = "notify"
    lock_id = LOCK_ID

    def __init__(self, conninfo: str, js: JetStreamContext, windows: Windows, outbox: PostgresOutbox,
                 senders: list[Sender], batch: int = 200, poll_seconds: float = 0.5,
                 stuck_after: float = 30.0, hooks: WebhookOutbox | None = None,
                 hook_senders: list[WebhookSender] | None = None, claim: int = 10) -> None:
        super().__init__(conninfo)
        self._js = js
        self._outbox, self._senders, self._poll = outbox, senders, poll_seconds
        self._hooks, self._hook_senders = hooks, hook_senders or []
        self._mail_due, self._hooks_due = Wakeups(claim), Wakeups(claim)  # claim: rows a worker takes at once
        self.consumer = follower(js, windows, batch, self._queued, stuck_after)

    @property
    def following(self) -> bool:
        """Holds the lock and follows the stream."""
        return self.consumer.following

    @property
    def stuck(self) -> bool:
        """The consumer has work but made no progress for a while (a standby never is)."""
        if self.standby:
            self.consumer.progressed()
        return self.consumer.stuck

    def wake(self) -> None:
        """Every idle worker looks for due rows (an admin's retry, replayed parked messages)."""
        self._mail_due.wake()
        self._hooks_due.wake()

    def _queued(self, mails: int, webhooks: int) -> None:
        self._mail_due.wake(mails)
        self._hooks_due.wake(webhooks)

    def stop(self) -> None:
        super().stop()
        self.wake()

    async def work(self, conn: psycopg.AsyncConnection) -> None:
        if recovered := await self._outbox.recover_in_doubt():
            log.warning("%d mail(s) were being sent when notify stopped; sending again, same Message-ID",
                        recovered)
            metrics.IN_DOUBT.inc(recovered)
        if self._hooks is not None and (recovered := await self._hooks.recover_in_doubt()):
            log.warning("%d webhook deliveries were in flight when notify stopped; sending again", recovered)
        await first_start(conn, self._js)
        stopped = asyncio.Event()
        self._mail_due.open()
        self._hooks_due.open()
        tasks = [asyncio.create_task(self.consumer.follow(conn, stopped)), asyncio.create_task(self._gauges(stopped)),
                 *(asyncio.create_task(self._work(sender, _count_mail, self._mail_due, stopped))
                   for sender in self._senders),
                 *(asyncio.create_task(self._work(sender, _count_webhook, self._hooks_due, stopped))
                   for sender in self._hook_senders)]
        stopper = asyncio.create_task(self._stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.set()
            self._mail_due.close()  # a worker only waiting to be woken sees ``stopped`` now
            self._hooks_due.close()
            await asyncio.wait(tasks, timeout=15)  # a sender finishes the mail in hand
            for task in (*tasks, stopper):
                task.cancel()
        for task in done:
            if task is not stopper and task.exception():
                raise task.exception()  # type: ignore[misc]

    async def _work(self, sender: Sender | WebhookSender, count: Callable[[str], None], due: Wakeups,
                    stopped: asyncio.Event) -> None:
        """One worker (SMTP or webhook): send what is due until nothing is, then wait to be woken (or poll)."""
        while not stopped.is_set():
            outcomes = await sender.send_due()
            if not outcomes:
                await due.wait(self._poll)
            due.full_claim(len(outcomes))
            for outcome in outcomes:
                count(outcome)

    async def _gauges(self, stopped: asyncio.Event) -> None:
        while not stopped.is_set():
            counts = await self._outbox.counts()
            metrics.PENDING.set(counts["pending"] + counts["sending"])
            metrics.DEAD_NOW.set(counts["dead"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), GAUGE_SECONDS)


def _count_mail(outcome: str) -> None:
    metrics.SENT.inc(outcome == "sent")
    metrics.SKIPPED.inc(outcome == "skipped")
    metrics.FAILED.inc(outcome in ("retry", "dead"))
    metrics.DEAD.inc(outcome == "dead")


def _count_webhook(outcome: str) -> None:
    metrics.WEBHOOKS_DELIVERED.inc(outcome == "delivered")
    metrics.WEBHOOK_FAILURES.inc(outcome != "delivered")
    metrics.WEBHOOKS_FAILED.inc(outcome == "failed")
