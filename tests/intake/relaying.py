"""The relay's window under test: a store filled through intake's app, a relay in a thread, the stream read back.

Shared by ``test_relay_window.py`` (one NATS server) and ``test_relay_window_cluster.py`` (a 3-node
JetStream cluster); ``nats_url`` may list several nodes, comma-separated, as ``HELPDESK_NATS_URL`` does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg
from prometheus_client import REGISTRY

from helpdesk_intake.adapters.eventstore import open_event_store
from helpdesk_intake.entrypoints.relay import POSITION, Relay
from helpdesk_shared import subjects
from helpdesk_shared.connections import connect_nats
from helpdesk_shared.stream import StreamLimits, ensure_stream
from tests.intake.conftest import intake_worker
from tests.support.desk import provision
from tests.support.stream import read_all

PUBLIC = "^helpdesk:(Ticket|Customer|User)\\.|^helpdesk:Policy\\.Published$"  # what this scenario makes public


def public_events(database_url: str) -> list[str]:
    """The ids (``Nats-Msg-Id``) of the store's public events, in store order."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT originator_id, originator_version FROM intake.intake_events WHERE topic ~ %s"
                            " ORDER BY notification_id", (PUBLIC,)).fetchall()
    return [f"{aggregate}.{version}" for aggregate, version in rows]


def store_head(database_url: str) -> int:
    """The position (notification id) of the store's newest event."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT coalesce(max(notification_id), 0) FROM intake.intake_events").fetchone()[0]


def relayed(nats_url: str) -> list[str]:
    """The ids of every message on the stream, in stream order."""
    return [m.headers["Nats-Msg-Id"] for m in read_all(nats_url, ">")]


def fill_store(database_url: str, nats_url: str, tickets: int, big: int | None = None) -> list[str]:
    """A desk and ``tickets`` tickets (their ids); ticket number ``big`` has a ~90 KB description."""
    with intake_worker(database_url, nats_url) as client:
        desk = provision(client)
        return [desk.open(description="x" * 90_000 if number == big else f"ticket {number}")["id"]
                for number in range(tickets)]


@contextmanager
def running_relay(database_url: str, nats_url: str, window: int, limits: StreamLimits | None = None,
                  **connection: Any) -> Iterator[dict[str, Any]]:
    """The relay running in a thread of its own until the block ends (``["nc"]``: its NATS connection, made
    with the ``connection`` options)."""
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        store = await asyncio.to_thread(open_event_store, database_url, 2, 0)
        nc = await connect_nats(nats_url, "test-relay", **{"reconnect_time_wait": 0.1, **connection})
        relay = Relay(store, nc.jetstream(), database_url, limits, window=window)
        started["nc"] = nc
        loop = asyncio.get_running_loop()
        started["stop"] = lambda: loop.call_soon_threadsafe(relay.stop)
        ready.set()
        try:
            await relay.run()
        finally:
            await nc.close()
            store.close()

    POSITION.set(0)  # the gauge is the process's: a relay of an earlier test left its own position
    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the relay did not start"
    try:
        yield started
    finally:
        started["stop"]()
        thread.join(30)


def relayed_position() -> float:
    """The store position of the last window the running relay saw stored (its gauge)."""
    return REGISTRY.get_sample_value("helpdesk_relay_position") or 0.0


def on_stream(nats_url: str, limits: StreamLimits | None = None, **changes: Any) -> None:
    """Create the stream as the services do (with ``limits``) and change its configuration (a limit) as an
    operator would."""
    async def change() -> None:
        nc = await connect_nats(nats_url, "test-operator")
        try:
            js = nc.jetstream()
            await ensure_stream(js, limits)
            if changes:
                info = await js.stream_info(subjects.STREAM)
                await js.update_stream(config=replace(info.config, **changes))
        finally:
            await nc.close()
    asyncio.run(change())
