"""The norm-hours read model's arithmetic (MED-12): what facts add, what a report row shows."""

from __future__ import annotations

import datetime as dt

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Channel, Priority, Role, Status

from helpdesk_query.domain.hours import hours_deltas, report_row
from helpdesk_query.domain.ticket import evolve

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
COMMON = {"ticket_id": "t1", "customer_id": "c1", "actor": ev.Actor("a", Role.AGENT), "occurred_at": T0}


def test_med12_an_acceptance_counts_its_planned_minutes_and_a_time_entry_its_minutes_in_their_month() -> None:
    ticket = evolve(None, ev.TicketOpened(**COMMON, version=1, status=Status.NEW, number="HD-1", subject="s",
                                          description="d", channel=Channel.PORTAL, priority=Priority.NORMAL,
                                          policy="medis"), 1)
    accepted = ev.Accepted(**COMMON, version=2, status=Status.IN_PROGRESS, from_status=Status.NEW,
                           budget_month="2026-03", budget_minutes=90, budget_limit=600)
    logged = ev.TimeLogged(**COMMON, version=3, status=Status.IN_PROGRESS, entry_id="e", minutes=30,
                           billed_minutes=0, budget_month="2026-03", budget_limit=600)
    unbudgeted = ev.TimeLogged(**COMMON, version=4, status=Status.IN_PROGRESS, entry_id="f", minutes=30,
                               billed_minutes=0)
    assert hours_deltas(ticket, accepted) == [("c1", "2026-03", "medis", 600, 90, 0)]
    assert hours_deltas(ticket, logged) == [("c1", "2026-03", "medis", 600, 0, 30)]
    assert hours_deltas(ticket, unbudgeted) == []


def test_med12_remaining_follows_the_policys_measure() -> None:
    row = {"customer_id": "c1", "month": "2026-03", "budget_minutes": 600, "planned_minutes": 90, "used_minutes": 30}
    assert report_row(row, "planned")["remaining_minutes"] == 510
    assert report_row(row, "spent")["remaining_minutes"] == 570
    assert report_row({**row, "budget_minutes": None}, "planned")["remaining_minutes"] is None
