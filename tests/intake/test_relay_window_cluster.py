"""The relay's atomic windows on a 3-node JetStream cluster, the stream kept in three copies (issue #16).

What the ``production`` overlay runs: a window is one atomic batch the stream's leader stores
whole or not at all and replicates before it acknowledges. A node SIGKILLed mid-window — the
leader, or a follower — and a stream scaled from one copy to three under the relay leave the
stream with every public event once, in store order.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import Counter

import pytest
from helpdesk_devstack import NatsCluster

from helpdesk_intake.adapters.window import ATOMIC_FROM
from helpdesk_shared.stream import StreamLimits
from tests.intake.relaying import fill_store, on_stream, public_events, relayed, relayed_position, running_relay, store_head
from tests.support.stream import read_all, replication
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
THREE = StreamLimits(replicas=3)


def failed_turns(caplog: pytest.LogCaptureFixture) -> int:
    return sum("relay failed" in record.getMessage() for record in caplog.records)


def test_hardening_relay_window_cluster_publishes_a_backlog_in_atomic_windows_on_three_copies(
        database_url: str, nats_cluster: NatsCluster) -> None:
    url = nats_cluster.url
    fill_store(database_url, url, tickets=100)
    stored = public_events(database_url)
    with running_relay(database_url, url, window=32, limits=THREE):
        wait_until(lambda: len(relayed(url)) >= len(stored), timeout=60)
    messages = read_all(url, ">")
    assert [m.headers["Nats-Msg-Id"] for m in messages] == stored, "every public event once, in store order"
    windows = Counter(m.headers.get("Nats-Batch-Id") for m in messages)
    windows.pop(None, None)  # the backlog's tail, under ATOMIC_FROM, goes one message at a time
    assert len(windows) >= len(stored) // 32 and min(windows.values()) >= ATOMIC_FROM, windows
    assert wait_until(lambda: replication(nats_cluster.nodes[0].url).current == 3, timeout=30)


@pytest.mark.parametrize("victim", ["leader", "follower"])
def test_hardening_relay_window_cluster_a_node_killed_mid_window_loses_and_repeats_nothing(
        database_url: str, nats_cluster: NatsCluster, victim: str) -> None:
    """The relay talks to the node that dies, so the window in flight dies with its socket (and, for the
    leader, with the node that staged it); the cluster fails over and the relay resumes where the stream stands."""
    url = nats_cluster.url
    fill_store(database_url, url, tickets=160)
    stored = public_events(database_url)
    on_stream(url, THREE)
    before = wait_until(lambda: (r := replication(url)).leader and r, timeout=30)
    node = next(n for n in nats_cluster.nodes if (n.peering.server_name == before.leader) == (victim == "leader"))
    first = ",".join([node.url, *(n.url for n in nats_cluster.nodes if n is not node)])
    survivor = next(n.url for n in nats_cluster.nodes if n is not node)
    with running_relay(database_url, first, window=50, limits=THREE, dont_randomize=True) as relay:
        sent = lambda: relay["nc"].stats["out_msgs"]  # noqa: E731 - counted as the relay hands them to the socket
        wait_until(lambda: sent() >= 70, timeout=60, interval=0.001)
        os.kill(node.pid, signal.SIGSTOP)  # mid-window: its messages are on their way, the commit's ack is not
        assert relayed_position() < store_head(database_url), "the node stopped with the backlog in flight"
        node.kill()
        if victim == "leader":
            wait_until(lambda: _led_by_another(survivor, before.leader), timeout=30, interval=0.1)
        node.start()
        nats_cluster.wait_healthy(30)
        wait_until(lambda: len(relayed(survivor)) >= len(stored), timeout=60)
    assert relayed(survivor) == stored, "every public event once, in store order"
    assert wait_until(lambda: replication(survivor).current == 3, timeout=30), "the killed node caught up"


def _led_by_another(url: str, old: str | None) -> bool:
    try:
        return replication(url).leader not in (None, old)
    except Exception:  # noqa: BLE001 - no leader yet to answer: the election is under way
        return False


def test_hardening_relay_window_cluster_scaling_the_stream_to_three_copies_costs_the_relay_no_turn(
        database_url: str, nats_cluster: NatsCluster, caplog: pytest.LogCaptureFixture) -> None:
    """A deploy that sets ``HELPDESK_STREAM_REPLICAS=3``: a relay has kept the stream at one copy; the new one
    finds a backlog, scales the stream to three and publishes the backlog at once, in atomic windows."""
    url = nats_cluster.url
    fill_store(database_url, url, tickets=50)
    with running_relay(database_url, url, window=32, limits=StreamLimits(replicas=1)):
        wait_until(lambda: len(relayed(url)) >= len(public_events(database_url)), timeout=60)
    earlier = len(relayed(url))
    fill_store(database_url, url, tickets=100)
    stored = public_events(database_url)
    with caplog.at_level(logging.ERROR, "helpdesk.locked_loop"), \
            running_relay(database_url, url, window=32, limits=THREE):
        wait_until(lambda: len(relayed(url)) >= len(stored) or failed_turns(caplog), timeout=60)
    assert not failed_turns(caplog), "the relay's first window after the scaling was stored"
    messages = read_all(url, ">")
    assert [m.headers["Nats-Msg-Id"] for m in messages] == stored, "every public event once, in store order"
    assert messages[earlier].headers.get("Nats-Batch-Id"), "the first message after the scaling in a window"
    assert wait_until(lambda: replication(url).current == 3, timeout=30)
