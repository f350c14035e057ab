"""The relay's window (issue #16): several messages in flight, and still every event once, in store order.

The relay runs in-process (its own thread and event loop) over the real PostgreSQL and NATS;
the store is filled first through intake's HTTP app, so the relay starts behind a backlog.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest
from helpdesk_devstack import EmbeddedNats, free_port
from nats.js.errors import BadRequestError

from helpdesk_intake.adapters.eventstore import open_event_store
from helpdesk_intake.adapters.window import ATOMIC_FROM
from helpdesk_intake.entrypoints.relay import Relay
from helpdesk_shared import subjects
from helpdesk_shared.connections import connect_nats
from helpdesk_shared.stream import ensure_stream
from tests.intake.conftest import intake_worker
from tests.support.desk import provision
from tests.support.stream import read_all
from tests.support.waiting import wait_until

PUBLIC = "^helpdesk:(Ticket|Customer|User)\\.|^helpdesk:Policy\\.Published$"  # what this scenario makes public


def _public_events(database_url: str) -> list[str]:
    """The ids (``Nats-Msg-Id``) of the store's public events, in store order."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT originator_id, originator_version FROM intake.intake_events WHERE topic ~ %s"
                            " ORDER BY notification_id", (PUBLIC,)).fetchall()
    return [f"{aggregate}.{version}" for aggregate, version in rows]


def _relayed(nats_url: str) -> list[str]:
    return [m.headers["Nats-Msg-Id"] for m in read_all(nats_url, ">")]


def _fill_store(database_url: str, nats_url: str, tickets: int, big: int | None = None) -> list[str]:
    """A desk and ``tickets`` tickets (their ids); ticket number ``big`` has a ~90 KB description."""
    with intake_worker(database_url, nats_url) as client:
        desk = provision(client)
        return [desk.open(description="x" * 90_000 if number == big else f"ticket {number}")["id"]
                for number in range(tickets)]


@contextmanager
def _relay(database_url: str, nats_url: str, window: int) -> Iterator[dict[str, Any]]:
    """The relay running in a thread of its own until the block ends (``["nc"]``: its NATS connection)."""
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        store = await asyncio.to_thread(open_event_store, database_url, 2, 0)
        nc = await connect_nats(nats_url, "test-relay", reconnect_time_wait=0.1)
        relay = Relay(store, nc.jetstream(), database_url, window=window)
        started["nc"] = nc
        loop = asyncio.get_running_loop()
        started["stop"] = lambda: loop.call_soon_threadsafe(relay.stop)
        ready.set()
        try:
            await relay.run()
        finally:
            await nc.close()
            store.close()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the relay did not start"
    try:
        yield started
    finally:
        started["stop"]()
        thread.join(30)


def _on_stream(nats_url: str, **changes: Any) -> None:
    """Create the stream as the services do and change its configuration (a limit) as an operator would."""
    async def change() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_stream(js)
            info = await js.stream_info(subjects.STREAM)
            await js.update_stream(config=replace(info.config, **changes))
        finally:
            await nc.close()
    asyncio.run(change())


def test_hardening_relay_window_publishes_a_backlog_in_atomic_windows_in_store_order(database_url, nats_url):
    _fill_store(database_url, nats_url, tickets=100)
    stored = _public_events(database_url)
    with _relay(database_url, nats_url, window=32):
        wait_until(lambda: len(_relayed(nats_url)) >= len(stored), timeout=60)
    messages = read_all(nats_url, ">")
    assert [m.headers["Nats-Msg-Id"] for m in messages] == stored, "every public event once, in store order"
    windows = Counter(m.headers.get("Nats-Batch-Id") for m in messages)
    alone = windows.pop(None, 0)  # a window of one message is a plain publish
    assert alone < len(messages) / 4 and len(windows) < len(messages) / 4, "windows, not one message at a time"
    assert min(windows.values()) >= ATOMIC_FROM and max(windows.values()) <= 32, "never more than the window"

def test_hardening_relay_window_a_refused_message_stores_nothing_after_it_until_it_is_stored(
        database_url, nats_url, caplog):
    """The stream refuses one message of a window (too large) and would take the later ones: it gets none."""
    big = _fill_store(database_url, nats_url, tickets=60, big=40)[40]
    stored = _public_events(database_url)
    _on_stream(nats_url, max_msg_size=60_000)
    with caplog.at_level(logging.ERROR, "helpdesk.locked_loop"), _relay(database_url, nats_url, window=32):
        failures = lambda: sum("relay failed" in r.getMessage() for r in caplog.records)  # noqa: E731
        wait_until(lambda: failures() >= 2 or len(_relayed(nats_url)) >= len(stored) - 1, timeout=60)
        relayed = _relayed(nats_url)
        assert relayed == stored[:len(relayed)], "a prefix of the store's events, in order: no gap"
        assert f"{big}.1" not in relayed, "so nothing after the refused message is on the stream"
        _on_stream(nats_url, max_msg_size=-1)  # the operator lifts the limit: the relay goes on by itself
        wait_until(lambda: len(_relayed(nats_url)) >= len(stored), timeout=60)
    assert _relayed(nats_url) == stored


@pytest.fixture
def killable_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / f"nats-{uuid.uuid4().hex[:8]}", free_port()) as server:
        yield server


def test_hardening_relay_window_nats_restarted_with_windows_in_flight_loses_and_repeats_nothing(
        database_url, killable_nats):
    nats_url = killable_nats.url
    _fill_store(database_url, nats_url, tickets=300)
    stored = _public_events(database_url)
    with _relay(database_url, nats_url, window=50) as relay:
        sent = lambda: relay["nc"].stats["out_msgs"]  # noqa: E731 - counted as the relay hands them to the socket
        wait_until(lambda: sent() >= 120, timeout=60, interval=0.001)
        os.kill(killable_nats.pid, signal.SIGSTOP)  # mid-backlog: a window goes out and no ack comes back
        killable_nats.kill()  # SIGKILL: what was in flight is lost with the socket and the server
        killable_nats.start()
        wait_until(lambda: len(_relayed(nats_url)) >= len(stored), timeout=60)
    assert _relayed(nats_url) == stored, "every public event once, in store order"


def test_hardening_relay_window_one_subject_filter_cannot_chain_the_relays_trees(nats_url):
    """Why atomic windows and not ``Nats-Expected-Last-Subject-Sequence``: its subject filter is one subject,
    so it covers one tree (or, with ``helpdesk.>``, SLA's too), never the relay's trees together."""
    async def check() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_stream(js)
            ticket = await js.publish("helpdesk.ticket.t1.opened", b"{}")
            await js.publish("helpdesk.sla.t1.breached", b"{}")  # SLA's publisher, between two relay messages
            chained = {"Nats-Expected-Last-Subject-Sequence": str(ticket.seq)}  # the relay's previous message
            with pytest.raises(BadRequestError):  # all the relay's trees in one filter take SLA's in too
                await js.publish("helpdesk.user.u1.registered", b"{}", headers={
                    **chained, "Nats-Expected-Last-Subject-Sequence-Subject": "helpdesk.>"})
            mine = await js.publish("helpdesk.customer.c1.registered", b"{}", headers={
                **chained, "Nats-Expected-Last-Subject-Sequence-Subject": "helpdesk.ticket.>"})
            assert mine.seq == ticket.seq + 2, "one tree: the check holds, but it covers only that tree"
            unchecked = await js.publish("helpdesk.user.u1.registered", b"{}", headers={
                "Nats-Expected-Last-Subject-Sequence": "0",  # a list is one literal subject nothing was sent to
                "Nats-Expected-Last-Subject-Sequence-Subject": "helpdesk.ticket.>,helpdesk.customer.>"})
            assert unchecked.seq, "a comma list checks nothing"
        finally:
            await nc.close()
    asyncio.run(check())
