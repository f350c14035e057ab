"""The change feed behind ``GET /v1/stream``, in process: bounded buffers, the cap, isolation, shutdown."""

from __future__ import annotations

from typing import Any

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_query.adapters.changes import Change, ChangeFeed, Subscription
from helpdesk_query.adapters.positions import PositionWatcher
from helpdesk_query.entrypoints.http.stream import events, last_event_id, resume_point

AGENT = Principal(id="a1", role=Role.AGENT)
ACME = Principal(id="u1", role=Role.CUSTOMER, customer_id="acme")


def _change(position: int, customer: str = "acme", internal: bool = False, ticket: str = "t1") -> Change:
    return Change(position, ticket, "helpdesk.ticket.comment_added", customer, internal)


def _feed(**limits: Any) -> ChangeFeed:
    return ChangeFeed(None, PositionWatcher(), **limits)  # type: ignore[arg-type]  # the stream is not read here


async def test_stream_slow_client_is_cut_off_once_its_buffer_is_full() -> None:
    subscription = _feed(buffer=2).subscribe(AGENT)
    for position in (1, 2, 3):
        subscription.offer(_change(position))
    assert subscription.ended
    assert await subscription.next(0.1) is None  # ended at once: what it held is dropped


async def test_stream_isolation_a_customer_sees_its_own_public_changes_only() -> None:
    acme = Subscription(ACME, None, 10, 0)
    for change in (_change(1), _change(2, customer="globex"), _change(3, internal=True), _change(4)):
        acme.offer(change)
    assert [(await acme.next(0.1)).position, (await acme.next(0.1)).position] == [1, 4]  # type: ignore[union-attr]
    assert await acme.next(0.05) is False  # nothing more: time for a keep-alive
    one = Subscription(AGENT, "t2", 10, 0)
    one.offer(_change(5))
    one.offer(_change(6, ticket="t2", internal=True))
    assert (await one.next(0.1)).position == 6  # type: ignore[union-attr]


async def test_stream_cap_and_shutdown_end_every_stream() -> None:
    feed = _feed(max_streams=2)
    streams = [feed.subscribe(AGENT), feed.subscribe(ACME)]
    assert feed.full()
    feed.unsubscribe(streams.pop())
    assert not feed.full()
    feed.close()
    assert feed.full() and await streams[0].next(0.1) is None
    assert await feed.subscribe(AGENT).next(0.1) is None  # a stream opened while shutting down ends at once


def test_stream_last_event_id_must_be_a_position() -> None:
    assert last_event_id(None) is None and last_event_id(" 42 ") == 42
    for bad in ("-1", "abc", "1.5", "9" * 19):
        try:
            last_event_id(bad)
        except Exception as error:  # Problem 400
            assert getattr(error, "status", None) == 400
        else:
            raise AssertionError(f"{bad!r} accepted")


async def test_stream_ends_once_the_callers_token_no_longer_holds() -> None:
    feed, holds = _feed(), [True]

    async def signed_in() -> bool:
        return holds[0]

    stream = events(feed, ACME, None, None, 0.05, signed_in)
    assert await anext(stream) == b"retry: 1000\n\n"
    feed.subscriptions.copy().pop().offer(_change(7))
    assert (await anext(stream)).startswith(b"id: 7:0\n")
    assert await anext(stream) == b": keep-alive\n\n"
    holds[0] = False  # expired, or its key removed: the stream ends at the next check
    assert {chunk async for chunk in stream} <= {b": keep-alive\n\n"}
    assert not feed.subscriptions


async def test_stream_sla_facts_reach_who_may_see_the_ticket_with_both_cursors_in_the_id() -> None:
    feed = _feed()

    async def signed_in() -> bool:
        return True

    stream = events(feed, ACME, None, None, 5, signed_in)
    assert await anext(stream) == b"retry: 1000\n\n"
    subscription = feed.subscriptions.copy().pop()
    for customer, sequence in (("globex", 9), ("acme", 10)):  # another customer's fact is never told
        subscription.offer(Change(sequence, "t1", "helpdesk.sla.breached", customer, sla=True, kind="resolution"))
    subscription.offer(_change(7))
    assert await anext(stream) == (b'id: 0:10\nevent: sla\ndata: {"ticket_id":"t1","type":"helpdesk.sla.breached",'
                                   b'"kind":"resolution","sequence":10}\n\n')
    assert (await anext(stream)).startswith(b"id: 7:10\nevent: change\n")
    assert [resume_point(raw) for raw in (None, "7", "7:10")] == [(None, None), (7, None), (7, 10)]
    for bad in ("7:", "7:x", ":10", "7:10:1"):
        try:
            resume_point(bad)
        except Exception as error:  # Problem 400
            assert getattr(error, "status", None) == 400
        else:
            raise AssertionError(f"{bad!r} accepted")


async def test_stream_feed_reads_nothing_while_no_one_listens() -> None:
    feed = _feed()  # its stream is None: any read would fail
    await feed._catch_up(42)
    await feed._catch_up_sla(7)
    assert (feed.released, feed.sla_released) == (42, 7)
    subscription = feed.subscribe(ACME)  # a stream opened now replays from here
    assert (subscription.since, subscription.sla_since) == (42, 7)
