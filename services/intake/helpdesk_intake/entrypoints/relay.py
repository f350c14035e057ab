"""The relay: follows the event store's notification log and publishes every public event.

Never a dual write: commands only write the store; this process turns each
stored event with a public face, in notification order, into a CloudEvent on
``helpdesk.ticket.<id>.<event>`` (and ``helpdesk.customer.…``, ``helpdesk.user.…``,
``helpdesk.mail.…`` for the directory and the email channel, ``helpdesk.webhook.…`` and
``helpdesk.release.…`` for webhooks and releases).

The stream is the relay's bookmark: on restart it resumes after the newest message it
holds. That is sound only if the stream never holds an event without every earlier one,
whatever fails. Awaiting each ack before the next publish guarantees it but bounds the
relay by the ack's round trip; so the relay publishes up to ``HELPDESK_RELAY_WINDOW``
messages at once as one JetStream atomic batch (``adapters/window.py``): the server stores
a window whole or not at all — a message lost with the socket, refused, or a relay killed
or a NATS restarted mid-window leaves none of it — and only one window is in flight, so
windows land in store order. Any failure ends the turn and the next resumes after what
the stream holds. (Chaining each message to the previous one's stream sequence with
``Nats-Expected-Last-Subject-Sequence`` cannot work in a window: that sequence is unknown
until its ack, SLA's messages interleaving, and one filter cannot cover the relay's trees
without SLA's.) A window of fewer than 16 messages, and any window on a stream without atomic
batches (nats-server < 2.12), goes one message at a time, each ack awaited.

One relay runs at a time (a PostgreSQL advisory lock); a second waits. Like every background
job it runs on ``LockedLoop``: an outage of PostgreSQL or NATS is waited out, not a reason to exit.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import OrderedDict
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg import sql
from psycopg.types.numeric import Int8
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from prometheus_client import Counter, Gauge

from helpdesk_shared.events import CONTENT_TYPE
from helpdesk_shared.locked_loop import LockedLoop
from helpdesk_shared.telemetry import context_from, exporting

from helpdesk_intake.adapters.eventstore import IntakeEventStore
from helpdesk_intake.adapters.stream import POSITION_HEADER, StreamLimits, ensure_stream, last_published_position
from helpdesk_intake.adapters.translation import to_message
from helpdesk_intake.adapters.window import Outgoing, publish_window

log = logging.getLogger("helpdesk.relay")
tracer = trace.get_tracer("helpdesk.intake.relay")
PUBLISHED = Counter("helpdesk_relay_published_total", "Store events published to JetStream")
POSITION = Gauge("helpdesk_relay_position", "Store position of the last event relayed")
LOCK_ID = 0x48454C50  # "HELP": the advisory lock that keeps one relay active
BATCH = 500
WINDOW = 100  # messages published at once, one atomic batch (HELPDESK_RELAY_WINDOW)


class Folder:
    """Keeps recent aggregates as they stood after their last relayed event, to give facts their context."""

    def __init__(self, store: IntakeEventStore, size: int = 10_000) -> None:
        self._store = store
        self._aggregates: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._size = size

    def apply(self, event: Any) -> tuple[Aggregate | None, Aggregate]:
        """The aggregate just before ``event`` (None for a creation) and just after it."""
        aggregate_id = event.originator_id
        before = self._aggregates.pop(aggregate_id, None)
        if before is None or before.version != event.originator_version - 1:
            before = None if event.originator_version == 1 else self._store.repository.get(
                aggregate_id, version=event.originator_version - 1)
        after = event.mutate(copy.copy(before))
        self._aggregates[aggregate_id] = after
        if len(self._aggregates) > self._size:
            self._aggregates.popitem(last=False)
        return before, after


class Relay(LockedLoop):
    """Holds the relay lock on its LISTEN connection and follows the store until stopped.

    Any failure — PostgreSQL restarting under the LISTEN connection, a NATS publish
    that times out while NATS is away — ends the turn: ``LockedLoop`` backs off, takes
    a fresh connection and the lock again, and the relay resumes after the last
    message the stream holds.
    """

    name = "relay"
    lock_id = LOCK_ID

    def __init__(self, store: IntakeEventStore, js: JetStreamContext, database_url: str,
                 limits: StreamLimits | None = None, window: int = WINDOW) -> None:
        super().__init__(database_url)
        self._store = store
        self._js = js
        self._limits = limits
        self._window = window
        self._folder = Folder(store)
        recorder = store.recorder
        table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)  # type: ignore[attr-defined]
        self._read = sql.SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
                             " WHERE notification_id >= %s ORDER BY notification_id LIMIT %s"
                             ).format(table).as_bytes()

    async def listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Hear of every commit on ``conn``, and have its session plan the prepared read once, by the index."""
        await conn.execute(f"LISTEN {self._store.recorder.channel_name}")  # type: ignore[attr-defined]
        await conn.execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off")  # _notifications

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await self.listen(conn)
        atomic = (await ensure_stream(self._js, self._limits)).allow_atomic
        if not atomic and self._window > 1:
            log.warning("the stream has no atomic batches (nats-server < 2.12): publishing one message at a time")
        window = self._window if atomic else 1
        position = await last_published_position(self._js)
        log.info("relaying from position %d, up to %d messages at once", position + 1, window)
        while not self._stopping.is_set():
            batch = await self._notifications(conn, position + 1)
            for start in range(0, len(batch), window):
                chunk = batch[start:start + window]
                await self._relay(chunk)
                position = chunk[-1].id
                POSITION.set(position)
            if len(batch) < BATCH:
                await self._wait_for_news(conn)

    async def _notifications(self, conn: psycopg.AsyncConnection[Any], start: int) -> list[Notification]:
        """The next ``BATCH`` stored events from ``start`` on, in notification order: the recorder's own query,
        read on the relay's connection (no worker thread per batch; autocommit, so LISTEN still hears).

        Composed once and prepared from the first read: it is the relay's one query, run per commit it hears
        of. ``start`` goes as a bigint whatever its size, so it stays one statement; ``listen`` has the session
        plan it once, generically, with sequential scans ruled out: a generic plan costed on a small table
        would otherwise scan and sort the grown one (test_perf_relay_read.py), and planning it afresh for
        every read was a third of the relay's PostgreSQL CPU. The one plan left is the notification id
        index's, in order, stopped at the limit."""
        cursor = await conn.execute(self._read, (Int8(start), BATCH), prepare=True)
        return [Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3],
                             state=bytes(row[4])) for row in await cursor.fetchall()]

    async def _relay(self, notifications: list[Notification]) -> None:
        """Publish the public messages of ``notifications`` as one window; return once the stream holds them all."""
        window = [message for notification in notifications if (message := self._message(notification))]
        if window:
            await self._publish(window)
            PUBLISHED.inc(len(window))

    def _message(self, notification: Notification) -> tuple[Outgoing, str | None] | None:
        """The message a stored event makes (None: it has no public face), with the traceparent it was stored with."""
        event = self._store.mapper.to_domain_event(notification)
        message = to_message(event, *self._folder.apply(event), notification.id)
        if message is None:
            return None
        subject, envelope = message
        headers = {"Nats-Msg-Id": envelope.id, POSITION_HEADER: str(notification.id), "Content-Type": CONTENT_TYPE}
        return Outgoing(subject, msgspec.json.encode(envelope), notification.id, headers), event.traceparent

    async def _publish(self, window: list[tuple[Outgoing, str | None]]) -> None:
        """Publish the window and wait for the stream's ack. When spans are exported, each publish is a span in
        the trace of the command that stored its event, ended on the ack; when not, the command's trace context
        goes on as it is."""
        if not exporting():
            for message, traceparent in window:
                if traceparent:
                    message.headers["traceparent"] = traceparent
            await publish_window(self._js, [message for message, _ in window])
        else:
            await self._publish_traced(window)

    async def _publish_traced(self, window: list[tuple[Outgoing, str | None]]) -> None:
        """Publish the window with a producer span per message, each a child of its command's span."""
        spans = []
        for message, traceparent in window:
            span = tracer.start_span(f"publish {message.subject.rsplit('.', 1)[-1]}", context=context_from(traceparent),
                                     kind=trace.SpanKind.PRODUCER, attributes={"helpdesk.position": message.position})
            propagate.inject(message.headers, context=trace.set_span_in_context(span))
            spans.append(span)
        try:
            await publish_window(self._js, [message for message, _ in window])
        except Exception as error:
            for span in spans:
                span.record_exception(error)
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            for span in spans:
                span.end()

    async def _wait_for_news(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Sleep until the store notifies a commit (or a second passes, or we are stopped).

        A LISTEN connection that died fails the wait at once: that is raised, not taken for
        news, or the relay would re-query the store in a tight loop on a connection that
        will never hear anything again.
        """
        notifies = conn.notifies(timeout=1.0, stop_after=1)
        waiter = asyncio.ensure_future(anext(aiter(notifies), None))
        stopper = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, stopper):
            task.cancel()
        if waiter.done() and not waiter.cancelled():
            waiter.result()
