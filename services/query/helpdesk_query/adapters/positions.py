"""Helpdesk-Min-Position: wait, without polling, until the read model has applied a position.

Also the SLA side (CONTRACT §4): ``SlaMarks`` follows the SLA's mark, and a second
``PositionWatcher`` the SLA projection's stream sequence, so a read also waits for the
deadlines its position caused.

The projector in the same process reports each commit directly (``advance``); a
projector in another process is heard through PostgreSQL LISTEN/NOTIFY, which it
sends in the same transaction as its rows. Waiters are futures keyed by the
position they need, woken in order as positions arrive.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from nats.js import JetStreamContext

from helpdesk_shared import subjects
from helpdesk_shared.sla_marks import SLA_KEY as SLA_MARK_KEY
from helpdesk_shared.sla_marks import SlaMark, follow_marks, open_marks
from helpdesk_shared.stream import last_position, last_store_position

from helpdesk_query.adapters.schema import CONTROL, POSITION_CHANNEL

log = logging.getLogger("helpdesk.query.positions")


class PositionWatcher:
    """The highest position known applied, and the readers waiting for a higher one.

    By default it follows the ticket projection; ``channel`` and ``tracked`` name another
    (the SLA projection's stream sequence: NOTIFY channel, and ``table.column`` read on connect).
    """

    def __init__(self, channel: str = POSITION_CHANNEL, tracked: str = f"{CONTROL}.tracking.position") -> None:
        self._channel, self._tracked = channel, tracked.rsplit(".", 1)
        self.position = 0
        self._waiters: list[tuple[int, int, asyncio.Future[bool]]] = []
        self._tie = itertools.count()

    def advance(self, position: int) -> None:
        """Record that ``position`` is applied; wake everyone waiting for it or less."""
        if position <= self.position:
            return
        self.position = position
        while self._waiters and self._waiters[0][0] <= position:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(True)

    async def wait_for(self, position: int, timeout: float) -> bool:
        """True once ``position`` is applied; False if ``timeout`` seconds pass first.

        The waiting read's future is woken by ``advance`` or by its own timer (not ``asyncio.wait_for``,
        which wraps it in a second future and a callback: CPU on every read that waits)."""
        if position <= self.position:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        heapq.heappush(self._waiters, (position, next(self._tie), future))
        timer = loop.call_later(timeout, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()

    async def listen(self, conninfo: str, stopping: asyncio.Event) -> None:
        """Follow the projector's NOTIFYs (re-reading the tracked position after each reconnect)."""
        while not stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self._channel}")
                    await self._read_tracking(conn)
                    while not stopping.is_set():  # wake twice a second to notice a shutdown
                        async for notify in conn.notifies(timeout=0.5):
                            self.advance(int(notify.payload))
            except (psycopg.Error, OSError, ValueError) as error:
                log.warning("position listener lost its connection (%s); reconnecting", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), 1.0)

    async def _read_tracking(self, conn: psycopg.AsyncConnection[Any]) -> None:
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            table, column = self._tracked
            row = await (await conn.execute(f"SELECT {column} FROM {table}")).fetchone()
            if row:
                self.advance(int(row[0]))


def _expire(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)


class StreamCoverage:
    """Whether every ticket event up to a position is applied although none is at it; one probe per process.

    A command that wrote no ticket event (provisioning, a refused mail) answers with a
    position no ticket event will ever reach: it is covered once the relay has published
    past it and the newest ticket event in the stream is applied. The stream is asked at
    most once per ``every`` seconds, however many reads wait: each waiting read probing on
    its own sent eight NATS requests a quarter second per read:
    under load, when many reads wait, that traffic was itself the load. The store's newest
    position is read before the newest ticket event's, so a covered answer is never early: every
    event up to a published position was published before, and the ticket events among them are
    at or below the newest one read after it. An older probe only answers "not yet".
    """

    def __init__(self, js: Callable[[], JetStreamContext], every: float = 0.25) -> None:
        self._js, self._every = js, every
        self._store = self._ticket = 0
        self._at = float("-inf")
        self._probe: asyncio.Future[None] | None = None

    async def covered(self, applied: int, position: int) -> bool:
        """Whether ``position`` is covered by what the read model has ``applied``."""
        if self._store < position and asyncio.get_running_loop().time() - self._at >= self._every:
            if self._probe is None or self._probe.done():
                self._probe = asyncio.ensure_future(self._read())
            await asyncio.shield(self._probe)
        return self._store >= position and self._ticket <= applied

    async def _read(self) -> None:
        started = asyncio.get_running_loop().time()
        store = await last_store_position(self._js())
        ticket = await last_position(self._js(), subjects.ALL_TICKET_EVENTS)
        self._store, self._ticket, self._at = store, ticket, started


class SlaMarks:
    """The SLA's newest mark (``helpdesk_shared.sla_marks``) and the readers waiting for it to pass a position.

    ``seen`` stays False in a deployment whose SLA service never published one: then there
    are no SLA facts to wait for.
    """

    KEPT = 1024  # recent marks, for the earliest that covers a read's position

    def __init__(self, refresh_every: float = 0.25) -> None:
        self._refresh_every, self._refreshed_at = refresh_every, float("-inf")
        self._refresh: asyncio.Future[None] | None = None
        self.seen = False
        self.stream_seq = 0  # the stream sequence the SLA's facts reach at the newest mark
        self.positions = PositionWatcher()
        self._kv: Any = None
        self._marks: collections.deque[tuple[int, int]] = collections.deque(maxlen=self.KEPT)

    def take(self, mark: SlaMark) -> None:
        self.seen = True
        self.stream_seq = max(self.stream_seq, mark.stream_seq)  # before waking anyone for its position
        if not self._marks or mark.position > self._marks[-1][0]:
            self._marks.append((mark.position, self.stream_seq))
        self.positions.advance(mark.position)

    def stream_seq_for(self, position: int) -> int:
        """The stream sequence of the earliest mark kept that passed ``position``: its SLA facts are all at or
        below it. The newest mark's would do too, but it may wait for facts of later positions as well."""
        at = bisect.bisect_left(self._marks, (position, -1))
        return self._marks[at][1] if at < len(self._marks) else self.stream_seq

    async def follow(self, js: JetStreamContext, replicas: int, stopping: asyncio.Event) -> None:
        """Follow the mark until ``stopping`` is set."""
        try:
            self._kv = await open_marks(js, replicas)
            task = asyncio.create_task(follow_marks(self._kv, self.take))
        except Exception as error:  # noqa: BLE001 - without NATS there is no mark; reads are not held for it
            log.warning("cannot follow the SLA mark (%s)", error)
            return
        await stopping.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def refresh(self) -> None:
        """Read the mark directly (a waiting read's probe, should the watch have missed one).

        One read per process at a time, at most every ``refresh_every`` seconds, however many reads
        wait (as ``StreamCoverage``): each waiting read asking on its own was a NATS request per read
        every quarter second, load that grew with the very wait it was part of.
        """
        if self._kv is None:
            return
        now = asyncio.get_running_loop().time()
        if self._refresh is None or (self._refresh.done() and now - self._refreshed_at >= self._refresh_every):
            self._refreshed_at = now
            self._refresh = asyncio.ensure_future(self._read())
        if not self._refresh.done():  # a read in flight: wait for it (shielded: it serves every waiter)
            await asyncio.shield(self._refresh)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            entry = await self._kv.get(SLA_MARK_KEY)
            if entry.value:
                self.take(msgspec.json.decode(entry.value, type=SlaMark))
