"""The shared test clock (CONTRACT §6): one simulated instant that every service follows.

The instant lives in the NATS KV bucket ``helpdesk_clock`` under the key ``now``
(RFC 3339). Each service with ``HELPDESK_CLOCK=simulated`` holds a ``SharedClock``:
a ``SimulatedClock`` that a KV watcher moves forward whenever the key changes, so
all services follow a move within a second. Intake's admin endpoint moves it with
a compare-and-set, refusing to move it back. The SLA service reports, under the
key ``settled``, up to which instant (and store position) all due timers have
fired and their commands were answered; ``consumers_caught_up`` tells whether every
other consumer (query's projections, notify) has taken in all the stream holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

import msgspec
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from helpdesk_shared import subjects
from helpdesk_shared.clock import Clock, ClockMovedBackwards, SimulatedClock, SystemClock, clock_from
from helpdesk_shared.connections import nats_connection
from helpdesk_shared.settings import CommonSettings

BUCKET = "helpdesk_clock"
NOW_KEY = "now"
SETTLED_KEY = "settled"
log = logging.getLogger("helpdesk.clock")


class Settled(msgspec.Struct, frozen=True):
    """Every timer due at or before ``now`` fired and was applied; the SLA saw events up to ``position``."""

    now: dt.datetime
    position: int


async def open_bucket(nc: NATS, replicas: int = 1) -> KeyValue:
    """The clock's KV bucket, created on first use (with ``replicas`` copies) by whichever service comes first."""
    js = nc.jetstream()
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        with contextlib.suppress(Exception):  # another service may create it at the same moment
            return await js.create_key_value(bucket=BUCKET, history=1, replicas=replicas)
        return await js.key_value(BUCKET)


def _parse(value: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(value.decode()).astimezone(dt.UTC)


class SharedClock:
    """A simulated clock that follows the shared KV instant (and can move it)."""

    simulated = True

    def __init__(self, start: dt.datetime | None = None, replicas: int = 1) -> None:
        self._clock = SimulatedClock(start or SystemClock().now())
        self._replicas = replicas  # of its KV bucket in a JetStream cluster (HELPDESK_STREAM_REPLICAS)
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None
        self._moved = asyncio.Event()

    def now(self) -> dt.datetime:
        return self._clock.now()

    @property
    def movable(self) -> SharedClock:
        """This clock: an admin moves it, and the SLA reports to it how far timers settled."""
        return self

    @property
    def moved(self) -> asyncio.Event:
        """Set whenever the clock moves; waiters clear it."""
        return self._moved

    async def follow(self, nc: NATS) -> None:
        """Start at the shared instant (setting it to the wall time if absent) and follow it."""
        kv = self._kv = await open_bucket(nc, self._replicas)
        try:
            start = _parse((await kv.get(NOW_KEY)).value or b"")
        except KeyNotFoundError:
            with contextlib.suppress(Exception):  # another service may have created it just now
                await kv.create(NOW_KEY, self.now().isoformat().encode())
            start = _parse((await kv.get(NOW_KEY)).value or b"")
        self._clock = SimulatedClock(start)  # the shared instant, even if it lies before the wall time
        watcher = await kv.watch(NOW_KEY)
        self._task = asyncio.create_task(self._watch(watcher))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _watch(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is not None and entry.value:
                with contextlib.suppress(ValueError):
                    self._advance(_parse(entry.value))

    def _advance(self, instant: dt.datetime) -> None:
        if instant > self._clock.now():
            self._clock.set(instant)
            self._moved.set()

    async def move_to(self, instant: dt.datetime) -> dt.datetime:
        """Move the shared instant to ``instant``; ``ClockMovedBackwards`` if it lies before it."""
        kv = self._require_kv()
        instant = instant.astimezone(dt.UTC)
        while True:
            entry = await kv.get(NOW_KEY)
            current = _parse(entry.value or b"")
            if instant < current:
                raise ClockMovedBackwards(f"{instant.isoformat()} is before {current.isoformat()}")
            try:
                await kv.update(NOW_KEY, instant.isoformat().encode(), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue  # someone else moved it meanwhile: check again
            self._advance(instant)
            return instant

    async def shared_now(self) -> dt.datetime:
        """The shared instant as the KV holds it (not waiting for the watcher)."""
        return _parse((await self._require_kv().get(NOW_KEY)).value or b"")

    async def report_settled(self, settled: Settled) -> None:
        """SLA: record how far timers are processed."""
        await self._require_kv().put(SETTLED_KEY, msgspec.json.encode(settled))

    async def settled(self) -> Settled | None:
        try:
            entry = await self._require_kv().get(SETTLED_KEY)
        except KeyNotFoundError:
            return None
        return msgspec.json.decode(entry.value or b"", type=Settled)

    def _require_kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("SharedClock.follow() has not run")
        return self._kv


async def consumers_caught_up(js: JetStreamContext) -> bool:
    """Every durable consumer of the stream has taken and acknowledged all it was given (CONTRACT §6).

    The services acknowledge a batch only after its transaction committed, so nothing pending
    and nothing unacknowledged means every consumer's tables hold all the stream has.
    """
    infos = await js.consumers_info(subjects.STREAM)
    return all(not (i.num_pending or i.num_ack_pending) for i in infos if i.config.durable_name)


@contextlib.asynccontextmanager
async def followed_clock(settings: CommonSettings, name: str) -> AsyncIterator[Clock]:
    """The clock of a service that only reads the time (``clock_from``): the test clock is followed over
    its own NATS connection for as long as the block runs."""
    clock = clock_from(settings)
    if not clock.simulated:
        yield clock
        return
    async with nats_connection(settings.nats_url, f"{name}-clock") as nc:
        await clock.follow(nc)
        try:
            yield clock
        finally:
            await clock.close()


__all__ = ["BUCKET", "ClockMovedBackwards", "Settled", "SharedClock", "consumers_caught_up", "followed_clock",
           "open_bucket"]
