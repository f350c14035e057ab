"""The HELPDESK stream's one configuration, and consumers that follow their projection's bookmark."""

from __future__ import annotations

import nats
from nats.js.api import StreamConfig

from helpdesk_shared import subjects
from helpdesk_shared.stream import bind_aligned, ensure_stream


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
