"""The stream, its consumers and buckets in a 3-node JetStream cluster: as many copies as the settings say."""

from __future__ import annotations


import nats
import pytest
from helpdesk_devstack import NatsCluster
from nats.aio.client import Client as NATS

from helpdesk_intake.adapters.window import ATOMIC_FROM, Outgoing, publish_window
from helpdesk_shared import attachments, clock_sync, subjects
from helpdesk_shared.connections import connect_nats, nats_servers
from helpdesk_shared.stream import StreamLimits, bind_aligned, ensure_stream
from tests.support.waiting import async_wait_until

pytestmark = [pytest.mark.slow]


async def copies(nc: NATS, stream: str) -> int:
    """The copies of ``stream`` that are current (the leader's included)."""
    info = await nc.jetstream().stream_info(stream)
    followers = info.cluster.replicas or [] if info.cluster else []
    return (1 if info.cluster and info.cluster.leader else 0) + sum(1 for p in followers if p.current)


async def test_platform_stream_replicas_scale_an_existing_stream_its_durable_consumers_and_buckets(
        nats_cluster: NatsCluster) -> None:
    nc = await connect_nats(nats_cluster.url, "probe")
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await attachments.bucket(js)  # created before the setting, with one copy
        await js.publish("helpdesk.ticket.t1.opened", b"{}")
        await bind_aligned(js, "probe", subjects.ALL_TICKET_EVENTS, 0)
        assert await copies(nc, subjects.STREAM) == 1

        await ensure_stream(js, StreamLimits(replicas=3))
        await attachments.prepare(js, 3)
        await clock_sync.open_bucket(nc, 3)  # a new bucket: created with three
        assert await async_wait_until(lambda: _all_copies(nc), timeout=30)
        consumer = await js.consumer_info(subjects.STREAM, "probe")
        assert consumer.config.num_replicas in (0, None)  # it inherits the stream's, and followed the scaling
        assert (await js.stream_info(subjects.STREAM)).state.messages == 1
    finally:
        await nc.close()


async def _all_copies(nc: NATS) -> bool:
    """The stream and both buckets on three nodes, and the durable consumer as well."""
    streams = (subjects.STREAM, f"OBJ_{attachments.BUCKET}", f"KV_{clock_sync.BUCKET}")
    consumer = await nc.jetstream().consumer_info(subjects.STREAM, "probe")
    followers = consumer.cluster.replicas or [] if consumer.cluster else []
    return all([await copies(nc, stream) == 3 for stream in streams]) and len(followers) == 2


async def test_platform_stream_scaled_up_returns_with_every_copy_current_and_takes_an_atomic_window_at_once(
        nats_cluster: NatsCluster) -> None:
    """Right after JetStream accepts the new replicas the stream has no leader while its new peers join: a
    window published then timed out, and the relay's first turn after scaling up failed."""
    nc = await connect_nats(nats_cluster.url, "probe")
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await js.publish("helpdesk.ticket.t1.opened", b"{}")
        await ensure_stream(js, StreamLimits(replicas=3))
        info = await js.stream_info(subjects.STREAM)  # (a copy may fall behind again for a moment on a busy host)
        assert info.cluster and info.cluster.leader and len(info.cluster.replicas or []) == 2, info.cluster
        window = [Outgoing(f"helpdesk.ticket.t{n}.opened", b"{}", n, {"Nats-Msg-Id": f"t{n}.1"})
                  for n in range(2, 2 + ATOMIC_FROM)]
        ack = await publish_window(js, window)  # raises (a timeout) if the stream had no leader yet
        assert ack.batch_size == ATOMIC_FROM and ack.seq == 1 + ATOMIC_FROM
    finally:
        await nc.close()


async def test_platform_nats_url_may_list_every_node_and_a_dead_one_is_passed_over(
        nats_cluster: NatsCluster) -> None:
    assert nats_servers(" nats://a:1, nats://b:2 ,") == ["nats://a:1", "nats://b:2"]
    nats_cluster.nodes[0].kill()
    nc = await connect_nats(nats_cluster.url, "probe", connect_timeout=2)
    try:
        assert nc.connected_url is not None and nc.connected_url.port != nats_cluster.nodes[0].port
    finally:
        await nc.close()
    with pytest.raises(nats.errors.Error):  # nats-py alone takes the list for one URL, and it does not parse
        await nats.connect(nats_cluster.url, allow_reconnect=False, connect_timeout=2)
