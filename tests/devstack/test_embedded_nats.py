import nats
from helpdesk_devstack import EmbeddedNats, free_port


async def test_jetstream_is_enabled(tmp_path):
    with EmbeddedNats(tmp_path / "nats", free_port()) as server:
        client = await nats.connect(server.url)
        try:
            jetstream = client.jetstream()
            await jetstream.add_stream(name="probe", subjects=["probe.>"])
            ack = await jetstream.publish("probe.one", b"hello", headers={"Nats-Msg-Id": "1"})
            duplicate = await jetstream.publish("probe.one", b"hello", headers={"Nats-Msg-Id": "1"})
        finally:
            await client.close()
    assert ack.seq == 1
    assert duplicate.duplicate


async def test_nats_url_fixture_gives_a_server_without_streams(nats_url):
    client = await nats.connect(nats_url)
    try:
        assert await client.jetstream().streams_info() == []
    finally:
        await client.close()


def test_stop_is_graceful_and_idempotent(tmp_path):
    server = EmbeddedNats(tmp_path / "nats", free_port()).start()
    server.stop()
    server.stop()
    assert not server.running()


async def test_hardening_a_killed_server_starts_again_on_its_port_with_its_streams(tmp_path):
    server = EmbeddedNats(tmp_path / "nats", free_port()).start()
    try:
        client = await nats.connect(server.url)
        try:
            await client.jetstream().add_stream(name="probe", subjects=["probe.>"])
            await client.jetstream().publish("probe.one", b"kept")
        finally:
            await client.close()
        server.kill()
        assert not server.running()
        server.start()
        client = await nats.connect(server.url)
        try:
            assert (await client.jetstream().stream_info("probe")).state.messages == 1
        finally:
            await client.close()
    finally:
        server.stop()
