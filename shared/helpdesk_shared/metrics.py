"""Metrics every process shares: a small ``/metrics`` + ``/healthz`` (+ ``/readyz``) server for processes
without an HTTP API (the relay, the inbound SMTP listener, query's projector), database pool use, and
commit latency.

The HTTP services serve ``/metrics`` from their app (litestar's PrometheusController); the
others call ``serve_metrics`` in their run function. Pools are read at scrape time
(``psycopg_pool``'s ``get_stats``), so nothing polls them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("helpdesk.metrics")
# Commit latencies are milliseconds to a second or two; the default buckets start at 5 ms.
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COMMIT_SECONDS = Histogram("helpdesk_db_commit_seconds", "Time to commit one transaction of a writer, by writer",
                           ["writer"], buckets=COMMIT_BUCKETS)
_POOL_STATS = {"pool_size": "Connections the pool holds now",
               "pool_available": "Connections idle in the pool",
               "requests_waiting": "Requests waiting for a connection"}


class PoolCollector(Collector):
    """``helpdesk_db_pool_<stat>{pool=…}`` gauges from the pools' own statistics, read at each scrape."""

    def __init__(self) -> None:
        self._pools: dict[str, Any] = {}

    def watch(self, name: str, pool: Any) -> None:
        self._pools[name] = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {stat: GaugeMetricFamily(f"helpdesk_db_{stat}", text, labels=["pool"])
                    for stat, text in _POOL_STATS.items()}
        for name, pool in list(self._pools.items()):
            stats = pool.get_stats()
            for stat, family in families.items():
                family.add_metric([name], stats.get(stat, 0))
        yield from families.values()


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def watch_pool(name: str, pool: Any) -> None:
    """Expose a ``psycopg_pool`` pool's size, idle connections and waiting requests as ``pool=name``."""
    POOLS.watch(name, pool)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  healthy: Callable[[], bool], ready: Callable[[], bool] | None = None) -> None:
    try:
        request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        path = request.split(b" ", 2)[1].split(b"?", 1)[0] if request.count(b" ") >= 2 else b""
        if path == b"/metrics":
            status, kind, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest()
        elif path in (b"/healthz", b"/readyz"):
            ok = healthy() if path == b"/healthz" or ready is None else ready()
            status, kind, body = ("200 OK" if ok else "503 Service Unavailable"), "text/plain", b"ok" if ok else b"down"
        else:
            status, kind, body = "404 Not Found", "text/plain", b"not found"
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                     "Connection: close\r\n\r\n".encode() + body)
        await writer.drain()
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def serve_metrics(host: str, port: int, healthy: Callable[[], bool] = lambda: True,
                        ready: Callable[[], bool] | None = None) -> AsyncIterator[None]:
    """Serve ``GET /metrics``, ``GET /healthz`` and ``GET /readyz`` on ``host:port`` while the block runs
    (port 0: none); ``/readyz`` answers ``ready()``, or ``healthy()`` when no ``ready`` is given.

    A port already taken (a second relay on one host, as a standby) costs only the metrics, never the process.
    """
    try:
        server = await asyncio.start_server(lambda r, w: _answer(r, w, healthy, ready), host, port) if port else None
    except OSError as error:
        log.error("no /metrics on %s:%d: %s", host, port, error)
        server = None
    if server is not None:
        log.info("metrics on http://%s:%d/metrics", host, port)
    try:
        yield
    finally:
        if server is not None:
            server.close()
