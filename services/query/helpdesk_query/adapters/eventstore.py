"""The event store as the query service sees it: the ``HELPDESK`` JetStream stream.

The stream is intake's ordered, faithful copy of every ticket event (intake's own
tables are private to it). History, as_of, the event export and the rebuild all
read it through short-lived ephemeral consumers; the live projector follows it
with a durable one (``entrypoints/projector.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from helpdesk_shared import subjects
from helpdesk_shared.parking import StreamMessage, from_nats
from helpdesk_shared.stream import POSITION_HEADER, StreamLimits, ensure_stream

FETCH_TIMEOUT = 5.0


StoredMessage = StreamMessage  # one message of the stream, undecoded: place, subject, bytes, position
stored = from_nats


def valid_ticket_id(ticket_id: str) -> bool:
    """Whether ``ticket_id`` can be one subject token (no dots, wildcards or spaces)."""
    return 0 < len(ticket_id) <= 200 and not any(c in ticket_id for c in ".*> \t\r\n")


class Reader:
    """An ephemeral push consumer over part of the stream, read in batches, in order.

    Push with flow control reads several times faster than pull fetches in nats-py.
    Flow-control requests are answered only while the local buffer is small, so a
    slow reader holds the server back instead of buffering the whole stream.
    """

    HIGH_WATER = 20_000

    def __init__(self, nc: NATS, js: JetStreamContext) -> None:
        self._nc, self._js = nc, js
        self._buffer: deque[Any] = deque()  # StoredMessage (a BulkReader's: tuples, as ``rows`` yields)
        self._arrived = asyncio.Event()
        self._flow_reply: str | None = None
        self._delivered = self._taken = 0
        self._error: str | None = None
        self._sub: Any = None
        self.name = ""
        self.pending = 0  # messages available but not yet taken

    async def open(self, config: ConsumerConfig) -> None:
        inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(inbox, cb=self._on_message, pending_msgs_limit=-1,
                                             pending_bytes_limit=-1)
        config.deliver_subject = inbox
        info = await self._js.add_consumer(subjects.STREAM, config=config)
        self.name, self.pending = info.name, info.num_pending

    async def _on_message(self, msg: Any) -> None:
        if not msg.data and msg.headers and msg.headers.get("Status"):
            if msg.reply:  # a flow-control request: answer when there is room
                if len(self._buffer) < self.HIGH_WATER:
                    await self._nc.publish(msg.reply, b"")
                else:
                    self._flow_reply = msg.reply
            return
        meta = msg.metadata
        if meta.sequence.consumer != self._delivered + 1:
            self._error = self._error or f"gap in delivery: {self._delivered} then {meta.sequence.consumer}"
        self._delivered = meta.sequence.consumer
        header = (msg.headers or {}).get(POSITION_HEADER)
        position = int(header) if header is not None and header.isdigit() else None
        self._buffer.append(StoredMessage(meta.sequence.stream, msg.subject, msg.data, position))
        self._arrived.set()

    async def refresh(self) -> int:
        """Re-count what is available now (the stream may have grown)."""
        info = await self._js.consumer_info(subjects.STREAM, self.name)
        self.pending = info.num_pending + info.delivered.consumer_seq - self._taken
        return self.pending

    async def batches(self, limit: int | None = None, batch: int = 2000
                      ) -> AsyncIterator[list[StoredMessage]]:
        """Up to ``limit`` of the messages available, in stream order."""
        async for taken in self._take(limit, batch):
            yield taken

    async def rows(self, batch: int = 2000) -> AsyncIterator[list[tuple[int, str, bytes, int | None]]]:
        """Every message available, in stream order, as ``(stream_seq, subject, payload, position)``
        (the rebuild's fold: the bulk reader makes no ``StoredMessage`` for them)."""
        async for taken in self._take(None, batch):
            yield [(m.stream_seq, m.subject, m.payload, m.position) for m in taken]

    async def _take(self, limit: int | None, batch: int) -> AsyncIterator[list[Any]]:
        """Up to ``limit`` of the buffered items, in order, ``batch`` at a time (flow control answered)."""
        wanted = self.pending if limit is None else min(limit, self.pending)
        while wanted > 0:
            while not self._buffer:
                if self._error:
                    raise RuntimeError(self._error)
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), FETCH_TIMEOUT)
                except TimeoutError:
                    return
            take = [self._buffer.popleft() for _ in range(min(batch, wanted, len(self._buffer)))]
            if self._flow_reply and len(self._buffer) < self.HIGH_WATER // 2:
                await self._nc.publish(self._flow_reply, b"")
                self._flow_reply = None
            wanted -= len(take)
            self._taken += len(take)
            self.pending -= len(take)
            yield take

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()
        with contextlib.suppress(Exception):
            await self._js.delete_consumer(subjects.STREAM, self.name)


def _consumer(subject: str, start_seq: int) -> ConsumerConfig:
    """An ephemeral push consumer's settings: no acks, in memory, with flow control."""
    return ConsumerConfig(
        ack_policy=AckPolicy.NONE, filter_subject=subject, inactive_threshold=60.0,
        mem_storage=True, flow_control=True, idle_heartbeat=5.0,
        **({"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": start_seq}
           if start_seq > 1 else {"deliver_policy": DeliverPolicy.ALL}),
    )


class EventStream:
    """Reads of the ``HELPDESK`` stream."""

    def __init__(self, nc: NATS, limits: StreamLimits | None = None) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.limits = limits

    async def ensure(self) -> None:
        """The stream exists (replicated and limited as ``limits`` say, if given: ``ensure_stream``)."""
        await ensure_stream(self.js, self.limits)

    @contextlib.asynccontextmanager
    async def reader(self, subject: str = subjects.ALL_TICKET_EVENTS, start_seq: int = 1
                     ) -> AsyncIterator[Reader]:
        """An ephemeral reader of ``subject`` from stream sequence ``start_seq`` on."""
        reader = Reader(self.nc, self.js)
        try:
            await reader.open(_consumer(subject, start_seq))
            yield reader
        finally:
            await reader.close()

    @contextlib.asynccontextmanager
    async def bulk_reader(self, subject: str = subjects.ALL_TICKET_EVENTS) -> AsyncIterator[Reader]:
        """A reader of all of ``subject`` for a replay: over its own wire connection
        (``bulkread.BulkReader``, several times cheaper per message), else a plain ``Reader``."""
        from helpdesk_query.adapters.bulkread import BulkReader, UnsupportedConnection  # it imports this module

        reader: Reader = BulkReader(self.nc)
        try:
            try:
                await reader.open(_consumer(subject, 1))
            except UnsupportedConnection:
                await reader.close()
                reader = Reader(self.nc, self.js)
                await reader.open(_consumer(subject, 1))
            yield reader
        finally:
            await reader.close()

    async def ticket(self, ticket_id: str) -> list[StoredMessage]:
        """Every message of one ticket, oldest first (empty if there is none)."""
        return await self._all(f"{subjects.TICKET_PREFIX}.{ticket_id}.>")

    async def sla(self, ticket_id: str) -> list[StoredMessage]:
        """Every SLA fact about one ticket, in the order the SLA service published them."""
        return await self._all(f"{subjects.SLA_PREFIX}.{ticket_id}.>")

    async def _all(self, subject: str) -> list[StoredMessage]:
        found: list[StoredMessage] = []
        async with self.reader(subject) as reader:
            async for batch in reader.batches():
                found.extend(batch)
        return found

    async def bounds(self) -> tuple[int, int]:
        """The first and last sequence the stream holds."""
        state = (await self.js.stream_info(subjects.STREAM)).state
        return state.first_seq, state.last_seq

    async def seq_after(self, position: int, subject: str = subjects.ALL_TICKET_EVENTS) -> int:
        """The smallest stream sequence from which every message on ``subject`` is past ``position``."""
        first, last = await self.bounds()
        lo, hi = first, last + 1
        while lo < hi:  # binary search: is the next message at or after mid past position?
            mid = (lo + hi) // 2
            nxt = await self._next_position(mid, subject)
            if nxt is None or nxt > position:
                hi = mid
            else:
                lo = mid + 1
        return max(lo, 1)

    async def seq_after_store(self, position: int) -> int:
        """The smallest stream sequence from which every event relayed from the store is past ``position``."""
        return max([await self.seq_after(position, f"{prefix}.>") for prefix in subjects.STORE_PREFIXES])

    async def _next_position(self, seq: int, subject: str) -> int | None:
        try:
            raw = await self.js.get_msg(subjects.STREAM, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return None
        header = (raw.headers or {}).get(POSITION_HEADER)
        return int(header) if header and header.isdigit() else 0
