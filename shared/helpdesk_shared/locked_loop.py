"""A background job that one process at a time runs, on its own PostgreSQL connection.

Stream consumers that project into PostgreSQL take a PostgreSQL advisory lock, so a
second replica stands by instead of doing the same work; any failure (NATS or the
database away) is logged, backed off, and the job starts over on a fresh connection
— re-aligning its consumer to the position its rows recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg

log = logging.getLogger("helpdesk.locked_loop")


class LockedLoop:
    """Subclasses name themselves, pick a ``lock_id`` and do their ``work`` on the connection.

    ``lock_id = None``: every replica works (the work itself is safe in parallel, e.g.
    rows claimed with ``SKIP LOCKED``); only the reconnect-and-retry loop is wanted.
    """

    name = "job"
    lock_id: int | None = 0
    standby_pause = 2.0

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._stopping = asyncio.Event()
        self.active = False  # holds the lock and works
        self.standby = False  # waits for the lock another replica holds

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Take the lock, then work until stopped; start over after any failure."""
        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    if await self._hold_lock(conn):
                        await self.work(conn)
            except Exception:  # noqa: BLE001 - a passing failure: log, back off, re-align, go on
                log.exception("%s failed; starting over", self.name)
            finally:
                self.active = False
            await self._pause(1.0)

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        raise NotImplementedError

    async def _hold_lock(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        if self.lock_id is None:
            self.active = not self._stopping.is_set()
            return self.active
        while not self._stopping.is_set():
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_id,))).fetchone()
            if row and row[0]:
                self.active, self.standby = True, False
                return True
            self.standby = True
            log.info("another %s holds the lock; standing by", self.name)
            await self._pause(self.standby_pause)
        return False

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
