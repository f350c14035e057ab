"""The timer wheel: fires due timers in due order, and reports how far it has settled.

Any number of SLA processes run a wheel on the same database: each takes due
timers with ``FOR UPDATE SKIP LOCKED``, so a timer fires in exactly one of them,
and ``fired_at`` commits with the firing's facts and command. Woken by a move of
the simulated clock, by new timers, or every ``interval`` on the real clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from prometheus_client import Counter

from helpdesk_shared.clock import ServiceClock
from helpdesk_shared.clock_sync import Settled, SharedClock
from helpdesk_shared.locked_loop import LockedLoop

from helpdesk_sla.adapters import store
from helpdesk_sla.application import PolicyLookup, fire_due

log = logging.getLogger("helpdesk.sla.wheel")
FIRED = Counter("helpdesk_sla_timers_fired_total", "SLA timers fired")


class Wheel(LockedLoop):
    """Every replica turns a wheel: timers are claimed with SKIP LOCKED, so each fires once."""

    name = "timer wheel"
    lock_id = None

    def __init__(self, conninfo: str, clock: ServiceClock, policy_of: PolicyLookup, wake: asyncio.Event,
                 on_commit: Callable[[], None], batch: int = 500, interval: float = 0.1) -> None:
        super().__init__(conninfo)
        self._clock, self._policy_of, self._wake = clock, policy_of, wake
        self._on_commit, self._batch, self._interval = on_commit, batch, interval
        self._test_clock = clock.movable  # told how far timers settled, and wakes the wheel; None: the wall clock
        self._reported: Settled | None = None

    def stop(self) -> None:
        super().stop()
        self._wake.set()

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while not self._stopping.is_set():
            await self._turn(conn)

    async def _turn(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._wake.clear()
        now = self._clock.now()
        # one read outside a transaction first: most wake-ups (a consumer's commit, the interval) find
        # nothing due, and then cost no BEGIN, locking read and COMMIT. A timer committed after this read
        # has set the wake event again (cleared above), so the next sleep returns at once.
        soonest = await store.next_due(conn)
        while soonest is not None and soonest <= now:
            async with conn.transaction():
                fired = await fire_due(conn, now, self._policy_of, self._batch)
            if fired:
                FIRED.inc(fired)
                self._on_commit()
            if fired < self._batch:
                break
        if self._test_clock is not None:
            await self._report(self._test_clock, conn, now)
        await self._sleep()

    async def _report(self, test_clock: SharedClock, conn: psycopg.AsyncConnection[Any],
                      now: dt.datetime) -> None:
        """Tell intake (via the shared KV) that everything due by ``now`` is done (CONTRACT §6)."""
        position, _ = await store.tracking(conn)  # read first: what it covers is already planned
        if await store.unsettled(conn, now):
            return
        settled = Settled(now, position)
        if settled != self._reported:
            await test_clock.report_settled(settled)
            self._reported = settled

    async def _sleep(self) -> None:
        """Until new timers, a move of the test clock, or ``interval`` (the wall clock's pace)."""
        test_clock = self._test_clock
        waiters = [asyncio.ensure_future(self._wake.wait())]
        if test_clock is not None:
            waiters.append(asyncio.ensure_future(test_clock.moved.wait()))
        done, pending = await asyncio.wait(waiters, timeout=self._interval, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if test_clock is not None:
            test_clock.moved.clear()
