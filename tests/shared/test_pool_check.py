"""The pool's connection check (issue #16): no round trip for a connection lent moments ago,
yet one whose server session has ended is still replaced before it is lent.

Round trips are counted on the wire: libpq's protocol trace of the pooled connection shows
one ``EmptyQueryResponse`` per check (``check_connection`` sends an empty query).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from helpdesk_shared.connections import RecentlyChecked, database_pool
from tests.support.waiting import async_wait_until


async def _backend(pool: AsyncConnectionPool[Any]) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        return int(row[0])


async def test_projproc_pool_lends_a_connection_used_a_moment_ago_without_a_round_trip(
        database_url: str, tmp_path: Path) -> None:
    trace = tmp_path / "libpq.trace"
    pool = database_pool(database_url, min_size=1, max_size=1)
    await pool.open(wait=True)
    try:
        with trace.open("w") as out:
            async with pool.connection() as conn:
                conn.pgconn.trace(out.fileno())
            for _ in range(20):
                await _backend(pool)
            async with pool.connection() as conn:
                conn.pgconn.untrace()
        checks = trace.read_text().count("EmptyQueryResponse")
        assert checks == 0, f"{checks} check round trips for 21 checkouts in a row"
    finally:
        await pool.close()


async def test_projproc_pool_replaces_a_fresh_connection_whose_session_the_server_ended(
        database_url: str) -> None:
    """``pg_terminate_backend`` (as a restart does to every session): the next checkout gets a new one."""
    check = RecentlyChecked(fresh=3600)  # however recent: the closed socket is what counts
    pool = AsyncConnectionPool(database_url, min_size=1, max_size=1, open=False, check=check)
    await pool.open(wait=True)
    try:
        first = await _backend(pool)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (first,))

            async def gone() -> bool:
                cur = await admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,))
                row = await cur.fetchone()
                return row is not None and row[0] == 0

            await async_wait_until(gone)
        assert await _backend(pool) != first
        # round trips: the first checkout (nothing known of it), the one that found it closed, its replacement
        assert check.round_trips == 3
    finally:
        await pool.close()
