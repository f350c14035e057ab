"""One stream runner for every consumer: fetch, one transaction per batch, ack, park, count.

As in eventsourcing's projection runner, the runner owns the loop and a projection
only applies messages (``parking.Projection``). The database is the bookmark: a batch
commits its rows with the tracking position, and only then is acknowledged; on start
the durable consumer is re-aligned to the tracked sequence (``bind_aligned``).

A consumer never stops on one message. A batch that fails for a reason that will not
pass (``parking.PERMANENT``) is rolled back and applied again message by message, each
in a savepoint: the bad one is parked with its reason, and so is every later message
of its aggregate; the rest flow on. Any other failure (the database or NATS away) is
retried: the loop backs off, reconnects and re-aligns, and nothing is parked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy
from prometheus_client import Counter, Gauge

from helpdesk_shared.consumer_spans import consuming
from helpdesk_shared.locked_loop import LockedLoop
from helpdesk_shared.metrics import COMMIT_SECONDS
from helpdesk_shared.parking import PERMANENT, Conn, Projection, StreamMessage, from_nats, reason_of
from helpdesk_shared.pulling import take_pending
from helpdesk_shared.stream import bind_aligned

log = logging.getLogger("helpdesk.stream_runner")
LAG = Gauge("helpdesk_consumer_lag", "Stream messages a durable consumer has not yet committed "
            "(pending + unacknowledged), sampled at most every second", ["consumer"])
LAG_EVERY = 1.0
GATHER_SECONDS = 0.1  # fetching what is pending after a first message (no_wait: one round trip)
Parked = list[tuple[StreamMessage, str]]


@dataclass(frozen=True)
class Meters:
    """A consumer's metrics: applied and parked messages, parked now, position applied."""

    applied: Counter
    parked: Counter
    parked_now: Gauge
    position: Gauge | None = None


@dataclass(frozen=True)
class Subscription:
    """Which messages a consumer follows, under which durable name."""

    durable: str
    filters: str | Sequence[str]
    ack_policy: AckPolicy = AckPolicy.ALL
    max_ack_pending: int = 20_000


async def settle(conn: Conn, projection: Projection, msgs: Sequence[StreamMessage],
                 pipelined: bool = False) -> tuple[int, Parked]:
    """Apply a batch in one transaction, parking what cannot be applied; (applied, parked).

    ``pipelined``: the batch's statements go in psycopg's pipeline mode, so those whose results
    nothing waits for (BEGIN, the lock, the writes, COMMIT) travel together, not one round trip each.
    """
    try:
        async with conn.pipeline() if pipelined else contextlib.nullcontext(), conn.transaction():
            return await _step(conn, projection, msgs)
    except PERMANENT as error:
        log.warning("a batch of %d failed for good (%s); applying it message by message", len(msgs),
                    reason_of(error))
    applied, parked = 0, []
    async with conn.transaction():
        for msg in msgs:
            try:
                async with conn.transaction():
                    done, held = await _step(conn, projection, [msg])
            except PERMANENT as error:
                done, held = 0, [(msg, reason_of(error))]
                await projection.parking.park(conn, held)
                await projection.advance(conn, msg.stream_seq, msg.position)
            applied, parked = applied + done, parked + held
    return applied, parked


async def _step(conn: Conn, projection: Projection, msgs: Sequence[StreamMessage]) -> tuple[int, Parked]:
    """Park the messages of held aggregates, apply the others, track past all of them."""
    await projection.parking.lock(conn)
    held = await projection.parking.held(conn, (m.aggregate for m in msgs))
    parked = [(m, f"held back: stream message {held[m.aggregate]} of {m.aggregate} is parked")
              for m in msgs if m.aggregate in held]
    fresh = [m for m in msgs if m.aggregate not in held]
    applied = await projection.apply(conn, fresh) if fresh else 0
    if parked:
        await projection.parking.park(conn, parked)
        await projection.advance(conn, msgs[-1].stream_seq, _position(msgs))
    return applied, parked


def _position(msgs: Sequence[StreamMessage]) -> int | None:
    return max((m.position for m in msgs if m.position is not None), default=None)


class Follower:
    """Follows one durable consumer on a connection the caller holds (and has locked)."""

    def __init__(self, name: str, js: JetStreamContext, projection: Projection, subscription: Subscription,
                 meters: Meters, batch: int = 500, stuck_after: float = 30.0,
                 on_commit: Callable[[int | None], None] | None = None, pipeline_up_to: int = 0) -> None:
        self.name, self._js, self.projection, self._sub = name, js, projection, subscription
        self._meters, self._batch, self.stuck_after, self._on_commit = meters, batch, stuck_after, on_commit
        # batches this small (the live edge, where latency counts) settle in pipeline mode; a bulk
        # batch does not: its few round trips matter less than pipeline mode's CPU per large statement
        self._pipeline_up_to = pipeline_up_to
        self._ahead: Callable[[bytes], Any] | None = getattr(projection, "ahead", None)
        self.following = False
        self.position: int | None = None
        self._progress_at = time.monotonic()
        self._lag_at = 0.0

    def progressed(self) -> None:
        """Nothing waits: a batch committed, the consumer has no pending message, or it stands by."""
        self._progress_at = time.monotonic()

    def progressed_recently(self, seconds: float) -> bool:
        return time.monotonic() - self._progress_at <= seconds

    @property
    def stuck(self) -> bool:
        """It has work but made no progress for ``stuck_after`` seconds (lagging is not stuck)."""
        return not self.progressed_recently(self.stuck_after)

    async def follow(self, conn: Conn, stopping: asyncio.Event) -> None:
        """Fetch and settle batches until ``stopping``; raises on a passing failure (re-align and retry)."""
        self._meters.parked_now.set(await self.projection.parking.count(conn))
        sub = await bind_aligned(self._js, self._sub.durable, self._sub.filters, await self.projection.tracked(conn),
                                 ack_policy=self._sub.ack_policy, max_ack_pending=self._sub.max_ack_pending)
        self.following = True
        self.progressed()
        fetching = asyncio.ensure_future(self._fetched(sub))
        try:
            while not stopping.is_set():
                msgs, batch = await fetching
                # the next batch is fetched and decoded while this one is applied: a NATS round trip less
                # per batch, and the decoding done while this process waits on PostgreSQL
                fetching = asyncio.ensure_future(self._fetched(sub))
                if msgs:
                    await self._take(conn, msgs, batch)
                    await self._sample_lag(sub)
                elif self.progressed_recently(2.0):  # idle: an admin's retry may have released some
                    self._meters.parked_now.set(await self.projection.parking.count(conn))
        finally:
            self.following = False
            fetching.cancel()
            with contextlib.suppress(BaseException):
                await fetching
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _fetched(self, sub: Any) -> tuple[list[Any], list[StreamMessage]]:
        """The next batch, as JetStream messages (to acknowledge) and as the projection takes them: each
        payload decoded by the projection's ``ahead`` if it has one (``Projection``)."""
        msgs = await self._fetch(sub)
        return msgs, [from_nats(m, self._ahead) for m in msgs]

    async def _fetch(self, sub: Any) -> list[Any]:
        """The next batch, as soon as there is one message: nats.py's ``fetch(n)`` waits for all n
        (or its timeout) once the first has come, which held every fresh event up to a second.

        The first message says how many more are pending: only those are asked for (a ``no_wait``
        pull, answered at once, taken off the queue in bulk: ``take_pending``), and none when there
        are none — no round trip, no wait.
        """
        try:
            msgs = list(await sub.fetch(1, timeout=1.0))
        except (NatsTimeout, TimeoutError):
            if (await self._sample_lag(sub, force=True)).num_pending == 0:
                self.progressed()
            return []
        pending = min(self._batch - 1, pending_after(msgs[-1]))
        if pending > 0:
            msgs += await take_pending(sub, pending, GATHER_SECONDS)
        return msgs

    async def _sample_lag(self, sub: Any, force: bool = False) -> Any:
        """Read the consumer's info (at most every ``LAG_EVERY`` s unless forced) into the lag gauge."""
        if not force and time.monotonic() - self._lag_at < LAG_EVERY:
            return None
        info = await sub.consumer_info()
        self._lag_at = time.monotonic()
        LAG.labels(self._sub.durable).set((info.num_pending or 0) + (info.num_ack_pending or 0))
        return info

    async def _take(self, conn: Conn, msgs: list[Any], batch: list[StreamMessage]) -> None:
        try:
            with consuming(self._sub.durable, batch), COMMIT_SECONDS.labels(self._sub.durable).time():
                pipelined = len(batch) <= self._pipeline_up_to
                applied, parked = await settle(conn, self.projection, batch, pipelined)
        except BaseException:
            if self._sub.ack_policy == AckPolicy.EXPLICIT:
                for msg in msgs:  # a passing failure: let them come again (after the re-alignment)
                    with contextlib.suppress(Exception):
                        await msg.nak(delay=1.0)
            raise
        await self._ack(msgs, {m.stream_seq for m, _ in parked})
        self.progressed()
        self._count(applied, parked, _position(batch))

    async def _ack(self, msgs: list[Any], parked: set[int]) -> None:
        if self._sub.ack_policy != AckPolicy.EXPLICIT:
            await msgs[-1].ack()  # AckPolicy.ALL: acknowledges the whole batch
            return
        if not parked:  # the usual batch: no message's metadata needs parsing
            for msg in msgs:
                await msg.ack()
            return
        for msg in msgs:
            await (msg.term() if msg.metadata.sequence.stream in parked else msg.ack())

    def _count(self, applied: int, parked: Parked, position: int | None) -> None:
        for msg, reason in parked:
            log.error("%s parked stream message %d (%s): %s", self.name, msg.stream_seq, msg.subject, reason)
        self._meters.applied.inc(applied)
        self._meters.parked.inc(len(parked))
        self._meters.parked_now.inc(len(parked))
        if position is not None:
            self.position = max(position, self.position or 0)
            if self._meters.position is not None:
                self._meters.position.set(self.position)
        if self._on_commit is not None:
            self._on_commit(self.position)


def pending_after(msg: Any) -> int:
    """How many messages the consumer had pending after ``msg`` when it was delivered."""
    try:
        return int(msg.metadata.num_pending)
    except (AttributeError, TypeError, ValueError):  # not a JetStream message: ask as before
        return 1


class StreamRunner(LockedLoop):
    """A ``Follower`` under an advisory lock of its own: one active per database, others stand by."""

    standby_pause = 1.0

    def __init__(self, conninfo: str, follower: Follower, lock_id: int) -> None:
        super().__init__(conninfo)
        self.follower, self.name, self.lock_id = follower, follower.name, lock_id

    @property
    def stuck(self) -> bool:
        if self.standby:
            self.follower.progressed()
        return self.follower.stuck

    async def work(self, conn: Conn) -> None:
        await self.follower.follow(conn, self._stopping)
