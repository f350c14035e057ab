"""Connections a service opens in its lifespan (never at import) and reports in ``/readyz``."""

from __future__ import annotations

import select
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

import nats
import psycopg
from nats.aio.client import Client as NATS
from psycopg import pq
from psycopg_pool import AsyncConnectionPool, ConnectionPool

POOL_TIMEOUT = 5.0  # seconds a request waits for a connection; then PoolTimeout, answered 503 not_ready
RECONNECT_TIMEOUT = 10.0  # a lost connection is retried with backoff this long, then on demand
CONNECT_TIMEOUT = 3  # seconds one connection attempt may take (an unreachable host, not a refusal)
FRESH_SECONDS = 1.0  # a connection lent this recently, its socket quiet, is lent again without a round trip


def nats_servers(url: str) -> list[str]:
    """The servers of ``HELPDESK_NATS_URL``: one URL, or a cluster's as a comma-separated list."""
    return [server.strip() for server in url.split(",") if server.strip()]


async def connect_nats(url: str, name: str, **options: Any) -> NATS:
    """A NATS connection to any server of ``url`` that reconnects forever (to another one if its server dies)."""
    return await nats.connect(nats_servers(url), name=name, max_reconnect_attempts=-1, **options)


@asynccontextmanager
async def nats_connection(url: str, name: str) -> AsyncIterator[NATS]:
    """A NATS connection that reconnects forever and is drained on exit (graceful shutdown)."""
    nc = await connect_nats(url, name, connect_timeout=5)
    try:
        yield nc
    finally:
        if nc.is_connected:
            await nc.drain()  # deliver what is pending, then close
        elif not nc.is_closed:
            await nc.close()  # NATS is away (reconnecting): nothing to drain, just stop


def database_pool(url: str, *, min_size: int = 2, max_size: int = 10, **connection: Any) -> AsyncConnectionPool:
    """A connection pool (the caller opens it in its lifespan) that outlives a PostgreSQL restart.

    Every connection is checked before it is lent (``RecentlyChecked``), so one the restart
    killed is replaced instead of failing a request; while the server is away a request waits
    ``POOL_TIMEOUT`` at most, and the pool reconnects by itself once it is back.
    """
    return AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False,
                               check=RecentlyChecked(), timeout=POOL_TIMEOUT,
                               reconnect_timeout=RECONNECT_TIMEOUT,
                               kwargs={"connect_timeout": CONNECT_TIMEOUT, **connection})


class RecentlyChecked:
    """The pool's ``check``: a round trip only for a connection last lent ``fresh`` seconds ago or more.

    A connection lent moments ago proved itself then; if its server has gone since (a restart
    closes every session), its socket has become readable (the server's goodbye, or EOF), and
    that is seen without a round trip. Otherwise ``check_connection``'s empty query, as before:
    it cost 6-9 % of query's CPU at 400 reads/s when run on every checkout. (Not the pool's
    ``reset`` callback to note returns: with one, every return goes through a worker task.)
    """

    def __init__(self, fresh: float = FRESH_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh, self._clock = fresh, clock
        self._lent: WeakKeyDictionary[Any, float] = WeakKeyDictionary()
        self.round_trips = 0

    async def __call__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        now = self._clock()
        if self._lent_moments_ago(conn, now):
            return
        self.round_trips += 1
        await AsyncConnectionPool.check_connection(conn)
        self._lent[conn] = now

    def _lent_moments_ago(self, conn: Any, now: float) -> bool:
        """True (and noted as lent now) for a connection lent less than ``fresh`` ago whose socket is quiet."""
        lent = self._lent.get(conn)
        if lent is not None and now - lent < self.fresh and _quiet(conn):
            self._lent[conn] = now
            return True
        return False


class RecentlyCheckedSync(RecentlyChecked):
    """``RecentlyChecked`` for a synchronous pool: intake's event store (eventsourcing's psycopg pool)."""

    def __call__(self, conn: psycopg.Connection[Any]) -> None:  # type: ignore[override]
        now = self._clock()
        if self._lent_moments_ago(conn, now):
            return
        self.round_trips += 1
        ConnectionPool.check_connection(conn)
        self._lent[conn] = now


def _quiet(conn: psycopg.AsyncConnection[Any] | psycopg.Connection[Any]) -> bool:
    """Idle, and nothing (an error, EOF) waits to be read on its socket: no syscall beyond one poll."""
    pgconn = conn.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


async def database_answers(url: str) -> bool:
    """True when PostgreSQL at ``url`` answers a trivial query."""
    async with await psycopg.AsyncConnection.connect(url, connect_timeout=3) as conn:
        await conn.execute("SELECT 1")
    return True
