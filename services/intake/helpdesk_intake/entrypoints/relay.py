"""The relay: follows the event store's notification log and publishes every public event.

Never a dual write: commands only write the store; this process turns each
stored event with a public face, in notification order, into a CloudEvent on
``helpdesk.ticket.<id>.<event>`` (and ``helpdesk.customer.…``, ``helpdesk.user.…``,
``helpdesk.mail.…`` for the directory and the email channel, ``helpdesk.webhook.…`` and
``helpdesk.release.…`` for webhooks and releases). It publishes one message at a time and waits
for the stream's ack, so the stream keeps the store's order even when the relay
is killed mid-batch; on restart it resumes after the last message the stream
holds. One relay runs at a time (a PostgreSQL advisory lock); a second waits. Like
every background job it runs on ``LockedLoop``: an outage of PostgreSQL or NATS
is waited out, not a reason to exit.
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
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from nats.js import JetStreamContext
from opentelemetry import trace
from prometheus_client import Counter, Gauge

from helpdesk_shared.events import CONTENT_TYPE
from helpdesk_shared.locked_loop import LockedLoop
from helpdesk_shared.telemetry import context_from, exporting, inject_into

from helpdesk_intake.adapters.eventstore import IntakeEventStore
from helpdesk_intake.adapters.stream import POSITION_HEADER, StreamLimits, ensure_stream, last_published_position
from helpdesk_intake.adapters.translation import to_message

log = logging.getLogger("helpdesk.relay")
tracer = trace.get_tracer("helpdesk.intake.relay")
PUBLISHED = Counter("helpdesk_relay_published_total", "Store events published to JetStream")
POSITION = Gauge("helpdesk_relay_position", "Store position of the last event relayed")
LOCK_ID = 0x48454C50  # "HELP": the advisory lock that keeps one relay active
BATCH = 500


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
                 limits: StreamLimits | None = None) -> None:
        super().__init__(database_url)
        self._store = store
        self._js = js
        self._limits = limits
        self._folder = Folder(store)

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(f"LISTEN {self._store.recorder.channel_name}")  # type: ignore[attr-defined]
        await ensure_stream(self._js, self._limits)
        position = await last_published_position(self._js)
        log.info("relaying from position %d", position + 1)
        while not self._stopping.is_set():
            batch = await self._notifications(conn, position + 1)
            for notification in batch:
                await self._relay(notification)
                position = notification.id
                POSITION.set(position)
            if len(batch) < BATCH:
                await self._wait_for_news(conn)

    async def _notifications(self, conn: psycopg.AsyncConnection[Any], start: int) -> list[Notification]:
        """The next ``BATCH`` stored events from ``start`` on, in notification order: the recorder's own query,
        read on the relay's connection (no worker thread per batch; autocommit, so LISTEN still hears)."""
        recorder = self._store.recorder
        table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)  # type: ignore[attr-defined]
        cursor = await conn.execute(sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE notification_id >= %s ORDER BY notification_id LIMIT %s").format(table), (start, BATCH))
        return [Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3],
                             state=bytes(row[4])) for row in await cursor.fetchall()]

    async def _relay(self, notification: Notification) -> None:
        event = self._store.mapper.to_domain_event(notification)
        message = to_message(event, *self._folder.apply(event), notification.id)
        if message is None:
            return
        subject, envelope = message
        headers = {"Nats-Msg-Id": envelope.id, POSITION_HEADER: str(notification.id), "Content-Type": CONTENT_TYPE}
        await self._publish(subject, msgspec.json.encode(envelope), headers, event.traceparent, notification.id)
        PUBLISHED.inc()

    async def _publish(self, subject: str, payload: bytes, headers: dict[str, str], traceparent: str | None,
                       position: int) -> None:
        """Publish and wait for the stream's ack. When spans are exported, the publish is a span in the trace
        of the command that stored the event; when not, the command's trace context goes on as it is."""
        if not exporting():
            if traceparent:
                headers["traceparent"] = traceparent
            await self._js.publish(subject, payload, headers=headers)
            return
        with tracer.start_as_current_span(f"publish {subject.rsplit('.', 1)[-1]}", context=context_from(traceparent),
                                          kind=trace.SpanKind.PRODUCER) as span:
            span.set_attribute("helpdesk.position", position)
            await self._js.publish(subject, payload, headers=inject_into(headers))

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
