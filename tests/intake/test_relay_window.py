"""The relay's window (issue #16): several messages in flight, and still every event once, in store order.

The relay runs in-process (its own thread and event loop) over the real PostgreSQL and NATS;
the store is filled first through intake's HTTP app, so the relay starts behind a backlog.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from helpdesk_devstack import EmbeddedNats, free_port
from nats.js.errors import BadRequestError

from helpdesk_intake.adapters.window import ATOMIC_FROM
from helpdesk_shared.stream import ensure_stream
from tests.intake.relaying import fill_store, on_stream, public_events, relayed, running_relay
from tests.support.stream import read_all
from tests.support.waiting import wait_until

def test_hardening_relay_window_publishes_a_backlog_in_atomic_windows_in_store_order(database_url, nats_url):
    fill_store(database_url, nats_url, tickets=100)
    stored = public_events(database_url)
    with running_relay(database_url, nats_url, window=32):
        wait_until(lambda: len(relayed(nats_url)) >= len(stored), timeout=60)
    messages = read_all(nats_url, ">")
    assert [m.headers["Nats-Msg-Id"] for m in messages] == stored, "every public event once, in store order"
    windows = Counter(m.headers.get("Nats-Batch-Id") for m in messages)
    alone = windows.pop(None, 0)  # a window of one message is a plain publish
    assert alone < len(messages) / 4 and len(windows) < len(messages) / 4, "windows, not one message at a time"
    assert min(windows.values()) >= ATOMIC_FROM and max(windows.values()) <= 32, "never more than the window"

def test_hardening_relay_window_a_refused_message_stores_nothing_after_it_until_it_is_stored(
        database_url, nats_url, caplog):
    """The stream refuses one message of a window (too large) and would take the later ones: it gets none."""
    big = fill_store(database_url, nats_url, tickets=60, big=40)[40]
    stored = public_events(database_url)
    on_stream(nats_url, max_msg_size=60_000)
    with caplog.at_level(logging.ERROR, "helpdesk.locked_loop"), running_relay(database_url, nats_url, window=32):
        failures = lambda: sum("relay failed" in r.getMessage() for r in caplog.records)  # noqa: E731
        wait_until(lambda: failures() >= 2 or len(relayed(nats_url)) >= len(stored) - 1, timeout=60)
        prefix = relayed(nats_url)
        assert prefix == stored[:len(prefix)], "a prefix of the store's events, in order: no gap"
        assert f"{big}.1" not in prefix, "so nothing after the refused message is on the stream"
        on_stream(nats_url, max_msg_size=-1)  # the operator lifts the limit: the relay goes on by itself
        wait_until(lambda: len(relayed(nats_url)) >= len(stored), timeout=60)
    assert relayed(nats_url) == stored


@pytest.fixture
def killable_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / f"nats-{uuid.uuid4().hex[:8]}", free_port()) as server:
        yield server


def test_hardening_relay_window_nats_restarted_with_windows_in_flight_loses_and_repeats_nothing(
        database_url, killable_nats):
    nats_url = killable_nats.url
    fill_store(database_url, nats_url, tickets=300)
    stored = public_events(database_url)
    with running_relay(database_url, nats_url, window=50) as relay:
        sent = lambda: relay["nc"].stats["out_msgs"]  # noqa: E731 - counted as the relay hands them to the socket
        wait_until(lambda: sent() >= 120, timeout=60, interval=0.001)
        os.kill(killable_nats.pid, signal.SIGSTOP)  # mid-backlog: a window goes out and no ack comes back
        killable_nats.kill()  # SIGKILL: what was in flight is lost with the socket and the server
        killable_nats.start()
        wait_until(lambda: len(relayed(nats_url)) >= len(stored), timeout=60)
    assert relayed(nats_url) == stored, "every public event once, in store order"


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
