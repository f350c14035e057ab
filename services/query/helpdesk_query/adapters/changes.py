"""The live feed of ticket changes behind ``GET /v1/stream``: one reader per process, fanned out.

The feed follows what the projection has applied: each time the read model's position
advances (``PositionWatcher``, after the commit), it reads the new ticket events from
the stream with one short-lived reader for the whole process, and offers each change to
every open subscription. A subscription keeps a bounded buffer; one that falls that far
behind is ended, and its client resumes with ``Last-Event-ID``, replayed from the store.

The SLA facts (``helpdesk.sla.>``: a target set, at risk, breached, met…) follow the same
way once the SLA projection has applied them; their cursor is their stream sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import msgspec
from prometheus_client import Counter, Gauge

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from helpdesk_shared.vocabulary import Role, Visibility
from helpdesk_shared.web.auth import Principal

from helpdesk_query.adapters.eventstore import EventStream, StoredMessage
from helpdesk_query.adapters.positions import PositionWatcher
from helpdesk_query.adapters.projection import decode

log = logging.getLogger("helpdesk.query.changes")
STREAMS_OPEN = Gauge("helpdesk_query_streams_open", "GET /v1/stream connections open in this process")
STREAMS_CUT_OFF = Counter("helpdesk_query_streams_cut_off_total",
                          "Streams ended because their client fell a whole buffer behind")


@dataclass(frozen=True)
class Change:
    """One applied ticket event, as a stream client learns of it."""

    position: int
    ticket_id: str
    type: str
    customer_id: str
    internal: bool = False  # an internal comment: never told to a customer
    sla: bool = False  # an SLA fact: ``position`` is its stream sequence, not a store position
    kind: str | None = None  # an SLA fact's target kind, if it has one


def change_of(msg: StoredMessage) -> Change | None:
    """The change a stream message records (None: not a ticket event this version reads)."""
    event = decode(msg)
    if isinstance(event, str):
        return None
    fact = event.data
    internal = isinstance(fact, ev.CommentAdded) and fact.visibility == Visibility.INTERNAL
    return Change(event.sequence, fact.ticket_id, ev.event_type(fact), fact.customer_id, internal)


def sla_change_of(msg: StoredMessage) -> Change | None:
    """The change an SLA fact records (None: a fact this version cannot read)."""
    try:
        event = sla.decode(msg.payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    fact = event.data
    return Change(msg.stream_seq, fact.ticket_id, sla.event_type(fact), fact.customer_id, sla=True,
                  kind=getattr(fact, "kind", None))


class Subscription:
    """One open stream: whom it serves, what it asked for, and its bounded buffer of changes."""

    def __init__(self, principal: Principal, ticket_id: str | None, size: int, since: int) -> None:
        self.principal, self.ticket_id, self.since = principal, ticket_id, since
        self.sla_since = 0  # the SLA facts' stream sequence where it joined
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue(size)
        self.ended = False

    def sees(self, change: Change) -> bool:
        """The same isolation as every read: a customer's employee, its customer's tickets, no internal comments."""
        if self.ticket_id is not None and change.ticket_id != self.ticket_id:
            return False
        if self.principal.role != Role.CUSTOMER:
            return True
        return change.customer_id == self.principal.customer_id and not change.internal

    def offer(self, change: Change) -> None:
        if self.ended or not self.sees(change):
            return
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:  # too slow: end it; the client resumes from its Last-Event-ID
            STREAMS_CUT_OFF.inc()
            self.end()

    def end(self) -> None:
        """End the stream at once, dropping what it has not sent."""
        self.ended = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self, timeout: float) -> Change | None | bool:
        """The next change; None once ended; False if ``timeout`` passes first (time for a keep-alive)."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return False


class TooFarBehind(Exception):
    """A resume would replay more changes than a stream replays; the client must reload instead."""


class ChangeFeed:
    """Every open subscription of this process, fed from the stream as the projection applies it."""

    def __init__(self, stream: EventStream, watcher: PositionWatcher, *, buffer: int = 1000,
                 max_streams: int = 500, replay_limit: int = 10_000, sla_watcher: PositionWatcher | None = None
                 ) -> None:
        self.stream, self.watcher, self.sla_watcher = stream, watcher, sla_watcher or PositionWatcher()
        self.buffer, self.max_streams, self.replay_limit = buffer, max_streams, replay_limit
        self.subscriptions: set[Subscription] = set()
        self.released = 0  # the position of the newest change offered
        self.sla_released = 0  # the stream sequence of the newest SLA fact offered
        self.closed = False
        self._waiting: deque[Change] = deque()  # read from the stream, not yet applied
        self._next_seq = 0  # the stream sequence to read from next (0: not yet found)

    def cursor(self) -> str:
        """The stream id a stream opened now would start after (``<position>:<sequence>``). Taken before a
        read, it is never ahead of what the read shows: a page resuming from it misses no change."""
        return f"{self.released}:{self.sla_released}"

    def full(self) -> bool:
        return self.closed or len(self.subscriptions) >= self.max_streams

    def subscribe(self, principal: Principal, ticket_id: str | None = None) -> Subscription:
        subscription = Subscription(principal, ticket_id, self.buffer, self.released)
        subscription.sla_since = self.sla_released
        if self.closed:
            subscription.end()
        self.subscriptions.add(subscription)
        STREAMS_OPEN.set(len(self.subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)
        STREAMS_OPEN.set(len(self.subscriptions))

    def close(self) -> None:
        """Shutting down: end every stream now (clients reconnect to another replica or later)."""
        self.closed = True
        for subscription in list(self.subscriptions):
            subscription.end()

    async def run(self, start: int, stopping: asyncio.Event) -> None:
        """Offer every change past ``start`` (the applied position) as the projection applies it."""
        self.released = start
        await self._follow(self.watcher, start, self._catch_up, lambda: self.released, stopping)

    async def run_sla(self, start: int, stopping: asyncio.Event) -> None:
        """Offer every SLA fact past ``start`` (the SLA projection's stream sequence) as it is applied."""
        self.sla_released = start
        await self._follow(self.sla_watcher, start, self._catch_up_sla, lambda: self.sla_released, stopping)

    async def _follow(self, watcher: PositionWatcher, applied: int, catch_up: Callable[[int], Awaitable[None]],
                      released: Callable[[], int], stopping: asyncio.Event) -> None:
        while not stopping.is_set() and not self.closed:
            if not await watcher.wait_for(applied + 1, 0.5):
                continue
            applied = watcher.position
            try:
                await catch_up(applied)
            except Exception as error:  # the stream is away: try again on the next advance
                log.warning("change feed could not read the stream (%s); retrying", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), 1.0)
                applied = released()

    async def _catch_up(self, applied: int) -> None:
        if not self.subscriptions:  # no one listens: nothing to read (a stream opened later replays from here)
            self.released, self._next_seq = max(self.released, applied), 0
            self._waiting.clear()
            return
        if not self._next_seq:
            self._next_seq = await self.stream.seq_after(self.released)
        if not self._waiting or self._waiting[-1].position < applied:
            async with self.stream.reader(start_seq=self._next_seq) as reader:
                async for batch in reader.batches(batch=500):
                    self._next_seq = batch[-1].stream_seq + 1
                    self._waiting.extend(c for c in map(change_of, batch) if c and c.position > self.released)
                    if self._waiting and self._waiting[-1].position > applied:
                        break  # the rest is not applied yet: hold no more than a batch of it
        while self._waiting and self._waiting[0].position <= applied:
            change = self._waiting.popleft()
            self.released = change.position
            for subscription in list(self.subscriptions):
                subscription.offer(change)

    async def _catch_up_sla(self, applied: int) -> None:
        """Offer the SLA facts up to stream sequence ``applied`` (what the SLA projection has committed)."""
        if not self.subscriptions:
            self.sla_released = max(self.sla_released, applied)
            return
        async with self.stream.reader(f"{subjects.SLA_PREFIX}.>", start_seq=self.sla_released + 1) as reader:
            async for batch in reader.batches(batch=500):
                for msg in batch:
                    if msg.stream_seq > applied:
                        return
                    self.sla_released = msg.stream_seq
                    if change := sla_change_of(msg):
                        for subscription in list(self.subscriptions):
                            subscription.offer(change)

    async def replay_sla(self, subscription: Subscription, after: int) -> AsyncIterator[Change]:
        """The SLA facts ``subscription`` sees after stream sequence ``after`` up to where it joined."""
        until, count = subscription.sla_since, 0
        if after >= until:
            return
        async with self.stream.reader(f"{subjects.SLA_PREFIX}.>", start_seq=after + 1) as reader:
            async for batch in reader.batches():
                for change in filter(None, map(sla_change_of, batch)):
                    if change.position > until:
                        return
                    if subscription.sees(change):
                        count += 1
                        if count > self.replay_limit:
                            raise TooFarBehind(f"more than {self.replay_limit} SLA facts since {after}")
                        yield change

    async def replay(self, subscription: Subscription, after: int) -> AsyncIterator[Change]:
        """The changes ``subscription`` sees after ``after`` up to where it joined the live feed."""
        until, count = subscription.since, 0
        if after >= until:
            return
        async with self.stream.reader(start_seq=await self.stream.seq_after(after)) as reader:
            async for batch in reader.batches():
                for change in filter(None, map(change_of, batch)):
                    if change.position > until:
                        return
                    if change.position > after and subscription.sees(change):
                        count += 1
                        if count > self.replay_limit:
                            raise TooFarBehind(f"more than {self.replay_limit} changes since {after}")
                        yield change
