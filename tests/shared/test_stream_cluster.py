"""The stream, its consumers and buckets in a 3-node JetStream cluster: as many copies as the settings say."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from helpdesk_devstack import NatsCluster
from nats.aio.client import Client as NATS

from helpdesk_shared import attachments, clock_sync, subjects
from helpdesk_shared.connections import connect_nats, nats_servers
from helpdesk_shared.stream import StreamLimits, bind_aligned, ensure_stream
from tests.support.waiting import async_wait_until

pytestmark = [pytest.mark.slow]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    with NatsCluster(tmp_path / "nats") as nodes:
        yield nodes


async def copies(nc: NATS, stream: str) -> int:
    """The copies of ``stream`` that are current (the leader's included)."""
    info = await nc.jetstream().stream_info(stream)
    followers = info.cluster.replicas or [] if info.cluster else []
    return (1 if info.cluster and info.cluster.leader else 0) + sum(1 for p in followers if p.current)


async def test_platform_stream_replicas_scale_an_existing_stream_its_durable_consumers_and_buckets(
        cluster: NatsCluster) -> None:
    nc = await connect_nats(cluster.url, "probe")
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


async def test_platform_nats_url_may_list_every_node_and_a_dead_one_is_passed_over(cluster: NatsCluster) -> None:
    assert nats_servers(" nats://a:1, nats://b:2 ,") == ["nats://a:1", "nats://b:2"]
    cluster.nodes[0].kill()
    nc = await connect_nats(cluster.url, "probe", connect_timeout=2)
    try:
        assert nc.connected_url is not None and nc.connected_url.port != cluster.nodes[0].port
    finally:
        await nc.close()
    with pytest.raises(nats.errors.Error):  # nats-py alone takes the list for one URL, and it does not parse
        await nats.connect(cluster.url, allow_reconnect=False, connect_timeout=2)
