"""The HELPDESK stream's one configuration, and consumers that follow their projection's bookmark."""

from __future__ import annotations

import nats
import pytest
from nats.js.api import StreamConfig
from nats.js.errors import APIError

from helpdesk_shared import subjects
from helpdesk_shared.settings import CommonSettings, SettingsError, from_env
from helpdesk_shared.stream import StreamLimits, bind_aligned, ensure_stream


async def test_an_older_stream_gains_the_new_subject_trees_and_keeps_its_messages(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=subjects.STREAM, subjects=["helpdesk.ticket.>", "helpdesk.sla.>"]))
        await js.publish("helpdesk.ticket.t1.opened", b"{}")
        await ensure_stream(js)
        info = await js.stream_info(subjects.STREAM)
        assert set(info.config.subjects) == set(subjects.STREAM_SUBJECTS)
        assert info.state.messages == 1
        await js.publish("helpdesk.customer.c1.policy_changed", b"{}")  # now accepted by the stream
    finally:
        await nc.close()


async def test_a_consumer_left_with_other_filters_is_recreated_and_reads_both_trees_in_order(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        for subject in ("helpdesk.ticket.t1.opened", "helpdesk.customer.c1.policy_changed",
                        "helpdesk.user.u1.registered", "helpdesk.ticket.t1.accepted"):
            await js.publish(subject, subject.encode())
        old = await bind_aligned(js, "probe", subjects.ALL_TICKET_EVENTS, 0)
        assert [m.subject for m in await old.fetch(10, timeout=1)] == [
            "helpdesk.ticket.t1.opened", "helpdesk.ticket.t1.accepted"]
        await old.unsubscribe()
        new = await bind_aligned(js, "probe", [subjects.ALL_TICKET_EVENTS, subjects.CUSTOMER_POLICY_CHANGES], 0)
        assert [m.subject for m in await new.fetch(10, timeout=1)] == [
            "helpdesk.ticket.t1.opened", "helpdesk.customer.c1.policy_changed", "helpdesk.ticket.t1.accepted"]
    finally:
        await nc.close()


async def test_platform_stream_limits_apply_at_creation_and_an_existing_stream_is_brought_to_them(
        nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, StreamLimits(max_age_days=30, max_bytes=64 << 20))
        created = (await js.stream_info(subjects.STREAM)).config
        assert (created.max_age, created.max_bytes, created.num_replicas) == (30 * 86400, 64 << 20, 1)
        await js.publish("helpdesk.ticket.t1.opened", b"{}")
        await ensure_stream(js, StreamLimits(max_age_days=7, max_bytes=-1))
        updated = await js.stream_info(subjects.STREAM)
        assert (updated.config.max_age, updated.config.max_bytes) == (7 * 86400, -1)
        assert updated.state.messages == 1
        await ensure_stream(js)  # a tool's call, without settings: the stream keeps its limits
        assert (await js.stream_info(subjects.STREAM)).config.max_age == 7 * 86400
        await ensure_stream(js, StreamLimits())  # the defaults: kept forever, no size limit
        assert ((await js.stream_info(subjects.STREAM)).config.max_age or 0) == 0
    finally:
        await nc.close()


async def test_platform_stream_replicas_the_server_cannot_keep_are_an_error_not_a_missing_stream(
        nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        with pytest.raises(APIError, match="replicas"):  # one server, three copies asked for
            await ensure_stream(nc.jetstream(), StreamLimits(replicas=3))
    finally:
        await nc.close()


def test_platform_stream_settings_come_from_the_environment() -> None:
    settings = from_env(CommonSettings, {"HELPDESK_STREAM_REPLICAS": "3", "HELPDESK_STREAM_MAX_AGE_DAYS": "30",
                                         "HELPDESK_STREAM_MAX_BYTES": "1000000000"})
    assert StreamLimits.of(settings) == StreamLimits(replicas=3, max_age_days=30, max_bytes=1_000_000_000)
    assert StreamLimits.of(from_env(CommonSettings, {})) == StreamLimits(replicas=1, max_age_days=0, max_bytes=-1)
    assert StreamLimits.of(from_env(CommonSettings, {"HELPDESK_STREAM_MAX_BYTES": "0"})).max_bytes == -1
    for bad in ({"HELPDESK_STREAM_REPLICAS": "7"}, {"HELPDESK_STREAM_MAX_AGE_DAYS": "-1"}):
        with pytest.raises(SettingsError):
            from_env(CommonSettings, bad)


async def test_perf_a_consumer_behind_its_projection_starts_after_it_not_from_its_old_place(nats_url: str) -> None:
    """After a rebuild the projection holds far more than its durable consumer delivered: binding must
    not deliver all that again (the live projector re-read the whole stream, skipping every message)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await js.publish("helpdesk.ticket.t1.opened", b"1")
        old = await bind_aligned(js, "behind", subjects.ALL_TICKET_EVENTS, 0)
        [first] = await old.fetch(1, timeout=1)
        await first.ack()
        await old.unsubscribe()
        acks = [await js.publish(f"helpdesk.ticket.t{n}.opened", str(n).encode()) for n in range(2, 6)]
        rebuilt_to = acks[-2].seq  # a rebuild projected everything up to the fourth ticket
        new = await bind_aligned(js, "behind", subjects.ALL_TICKET_EVENTS, rebuilt_to)
        assert [m.data for m in await new.fetch(10, timeout=1)] == [b"5"]
    finally:
        await nc.close()
