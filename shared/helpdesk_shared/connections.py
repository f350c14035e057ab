"""Connections a service opens in its lifespan (never at import) and reports in ``/readyz``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
import psycopg
from nats.aio.client import Client as NATS


@asynccontextmanager
async def nats_connection(url: str, name: str) -> AsyncIterator[NATS]:
    """A NATS connection that reconnects forever and is drained on exit (graceful shutdown)."""
    nc = await nats.connect(url, name=name, max_reconnect_attempts=-1, connect_timeout=5)
    try:
        yield nc
    finally:
        if nc.is_connected:
            await nc.drain()  # deliver what is pending, then close
        elif not nc.is_closed:
            await nc.close()  # NATS is away (reconnecting): nothing to drain, just stop


async def database_answers(url: str) -> bool:
    """True when PostgreSQL at ``url`` answers a trivial query."""
    async with await psycopg.AsyncConnection.connect(url, connect_timeout=3) as conn:
        await conn.execute("SELECT 1")
    return True
