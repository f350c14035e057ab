"""END-5 and TEL-9 in the query fold: the ticket shows whom it waits on, and its deferred status
(the fold without I/O; a closed ticket's also through the projector into the read model)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpdesk_query.domain.ticket import ThirdParty, fold
from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Channel, Role, Status
from tests.query.conftest import projecting, reached, sql
from tests.query.synthetic import publish

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
AGENT = ev.Actor(id="agent-1", role=Role.AGENT)


def _common(version: int, status: Status = Status.IN_PROGRESS) -> dict:
    return {"ticket_id": "t-1", "customer_id": "c-1", "version": version, "status": status, "actor": AGENT,
            "occurred_at": AT + dt.timedelta(minutes=version)}


def test_end5_tel9_the_ticket_shows_its_third_party_until_cleared_and_its_deferral() -> None:
    facts = [
        ev.TicketOpened(**_common(1, Status.NEW), number="HD-1", subject="s", description="d", channel=Channel.EMAIL),
        ev.ThirdPartyAwaited(**_common(2, Status.NEW), party="Bank", note="timeouts"),
        ev.Deferred(**_common(3, Status.DEFERRED), from_status=Status.NEW, reason="out_of_scope"),
        ev.ThirdPartyCleared(**_common(4, Status.DEFERRED), party="Bank"),
    ]
    numbered = [(fact, position) for position, fact in enumerate(facts, start=1)]
    assert fold(numbered[:2]).third_party == ThirdParty(party="Bank", note="timeouts")
    waiting = fold(numbered[:3])
    assert waiting.status is Status.DEFERRED and waiting.third_party is not None
    assert fold(numbered).third_party is None


def test_end5_a_closed_ticket_waits_on_no_third_party_in_the_fold() -> None:
    facts = [
        ev.TicketOpened(**_common(1, Status.NEW), number="HD-1", subject="s", description="d", channel=Channel.EMAIL),
        ev.ThirdPartyAwaited(**_common(2, Status.NEW), party="Bank", note=None),
        ev.Rejected(**_common(3, Status.REJECTED), from_status=Status.NEW, reason="duplicate"),
        ev.Reopened(**_common(4, Status.IN_PROGRESS), from_status=Status.REJECTED),
    ]
    numbered = [(fact, position) for position, fact in enumerate(facts, start=1)]
    assert fold(numbered[:2]).third_party is not None
    assert fold(numbered[:3]).third_party is None  # closing ends the wait (intake's ticket agrees)
    assert fold(numbered).third_party is None  # a reopened ticket waits on nobody until told again


async def test_end5_query_shows_no_third_party_for_a_ticket_closed_while_waiting(read_model: str, js: Any) -> None:
    facts = [
        ev.TicketOpened(**_common(1, Status.NEW), number="HD-7", subject="s", description="d", channel=Channel.EMAIL),
        ev.ThirdPartyAwaited(**_common(2, Status.NEW), party="Bank", note="timeouts"),
        ev.Rejected(**_common(3, Status.REJECTED), from_status=Status.NEW, reason="duplicate"),
    ]
    events = [ev.wrap(fact, event_id=f"e-{i}", sequence=i, number="HD-7") for i, fact in enumerate(facts, start=1)]
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
    assert await sql(read_model, "SELECT status, third_party FROM query.tickets") == [("rejected", None)]
