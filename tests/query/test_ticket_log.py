"""A ticket's messages kept per ticket (history on every ticket page load), against a real JetStream."""

from __future__ import annotations

from collections import Counter
from typing import Any

from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER

from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_query.adapters.ticket_log import TicketLog
from tests.query.synthetic import histories, message, publish


async def _api_calls(js: Any) -> int:
    """JetStream API requests the account has made so far (this one included)."""
    return (await js.account_info()).api.total


async def test_portalperf_history_kept_per_ticket_asks_the_stream_only_for_what_came_after(nc: Any, js: Any) -> None:
    events = list(histories(tickets=3, events_per_ticket=4, seed=11))
    ticket_id = events[0].data.ticket_id
    mine = [i for i, e in enumerate(events) if e.data.ticket_id == ticket_id]
    await publish(js, events[:mine[-1]])  # all but the ticket's last event
    stream, log = EventStream(nc), TicketLog(EventStream(nc))

    first = await log.messages(ticket_id)
    assert first == await stream.ticket(ticket_id) and len(first) == len(mine) - 1
    before = await _api_calls(js)
    assert await log.messages(ticket_id) == first  # kept: one direct get that finds nothing new
    assert await _api_calls(js) - before == 2  # that get, and the count itself: no consumer made and deleted

    await publish(js, events[mine[-1]:])  # its last event, and the other tickets' after it
    again = await log.messages(ticket_id)
    assert again == await stream.ticket(ticket_id) and len(again) == len(mine)
    assert [m.position for m in again] == [events[i].sequence for i in mine]
    assert await log.messages("no-such-ticket") == [] and "no-such-ticket" not in log._kept


async def test_portalperf_a_kept_ticket_with_nothing_newer_costs_no_scan_of_the_stream(nc: Any, js: Any) -> None:
    """The direct get for newer messages scans the stream from the kept sequence on (milliseconds of the
    server's CPU for an old ticket); a count from the subject index says when there is nothing to get."""
    events = list(histories(tickets=3, events_per_ticket=4, seed=12))
    ticket_id = events[0].data.ticket_id
    mine = [i for i, e in enumerate(events) if e.data.ticket_id == ticket_id]
    await publish(js, events[:mine[-1]])
    log = TicketLog(EventStream(nc))
    gets: list[int] = []
    real_get = log.stream.js.get_msg

    async def counted_get(*args: Any, **kwargs: Any) -> Any:
        gets.append(kwargs.get("seq", 0))
        return await real_get(*args, **kwargs)

    log.stream.js.get_msg = counted_get  # type: ignore[method-assign]
    first = await log.messages(ticket_id)
    assert await log.messages(ticket_id) == first and gets == []  # nothing newer: no direct get at all
    await publish(js, events[mine[-1]:])
    again = await log.messages(ticket_id)
    assert len(again) == len(mine) and len(gets) == 2  # the newer message, then "none after it"


async def test_ticket_log_a_subject_purged_by_hand_then_appended_to_still_shows_the_newest(nc: Any, js: Any) -> None:
    """A subject purged by hand and appended to as many times holds as many messages as were kept: the count
    alone would hide the new ones. The stream's count of removed messages moved, so the last sequence decides."""
    events = list(histories(tickets=3, events_per_ticket=4, seed=14))
    others = Counter(e.data.ticket_id for e in events if e.data.ticket_id != events[0].data.ticket_id)
    ticket_id = others.most_common(1)[0][0]
    mine = [e for e in events if e.data.ticket_id == ticket_id]
    await publish(js, events)  # the stream's first message is another ticket's: purging this one leaves it
    log = TicketLog(EventStream(nc))
    kept = await log.messages(ticket_id)
    assert [m.position for m in kept] == [e.sequence for e in mine] and len(kept) > 1

    await js.purge_stream(subjects.STREAM, subject=f"{subjects.TICKET_PREFIX}.{ticket_id}.>")
    for event in mine:  # as many new messages as were kept, at new positions
        subject, payload, headers = message(event)
        await js.publish(subject, payload, headers={**headers, "Nats-Msg-Id": f"again-{event.id}",
                                                    POSITION_HEADER: str(event.sequence + 1000)})
    again = await log.messages(ticket_id)
    assert [m.position for m in again] == [e.sequence for e in mine] + [e.sequence + 1000 for e in mine]
    before = await _api_calls(js)
    assert await log.messages(ticket_id) == again  # proven against the purge: the count alone answers again
    assert await _api_calls(js) - before == 2
