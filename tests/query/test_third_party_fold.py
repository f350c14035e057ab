"""END-5 and TEL-9 in the query fold: the ticket shows whom it waits on, and its deferred status (no I/O)."""

from __future__ import annotations

import datetime as dt

from helpdesk_query.domain.ticket import ThirdParty, fold
from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Channel, Role, Status

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
