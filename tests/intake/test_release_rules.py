"""The Release aggregate (IMC-9) and primary analysis before ``accept`` (IMC-5): domain only, no I/O."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from helpdesk_intake.adapters.policies import PolicyRules
from helpdesk_intake.domain.base import Context, InvalidInput, NotPermitted
from helpdesk_intake.domain.primary_analysis import PrimaryAnalysisIncomplete
from helpdesk_intake.domain.release import Release, ReleaseDatedInPast, ReleaseKind, ReleaseTooFar
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_shared.vocabulary import Role, Status

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
AGENT = Context("agent-1", Role.AGENT, NOW)
CUSTOMER = Context("user-1", Role.CUSTOMER, NOW, customer_id="cust-1")
PRESETS = PolicyRules.load(None)


def planned(date: dt.date = TODAY) -> Release:
    return Release.plan(AGENT, id=uuid.uuid4(), name="2026.3", kind=ReleaseKind.SCHEDULED, date=date)


def test_imc9_a_release_is_planned_for_today_or_later_and_records_who_planned_it() -> None:
    release = planned()
    [event] = release.collect_events()
    assert isinstance(event, Release.Planned) and (event.name, event.kind, event.date) == ("2026.3", "scheduled", TODAY)
    assert event.actor_id == "agent-1"


def test_imc9_a_release_dated_in_the_past_is_refused() -> None:
    with pytest.raises(ReleaseDatedInPast) as refused:
        planned(TODAY - dt.timedelta(days=1))
    assert refused.value.field == "date"
    release = planned()
    with pytest.raises(ReleaseDatedInPast):
        release.change(AGENT, date=TODAY - dt.timedelta(days=1))
    with pytest.raises(ReleaseTooFar):
        release.change(AGENT, date=dt.date(9999, 12, 31))


def test_imc9_redating_and_renaming_are_specific_past_tense_facts() -> None:
    release = planned()
    release.collect_events()
    release.change(AGENT, name="2026.3.1", date=TODAY + dt.timedelta(days=7))
    redated, renamed = release.collect_events()
    assert isinstance(redated, Release.Redated) and (redated.previous_date, redated.date) == (
        TODAY, TODAY + dt.timedelta(days=7))
    assert isinstance(renamed, Release.Renamed) and renamed.name == "2026.3.1"
    release.change(AGENT, name="2026.3.1", date=TODAY + dt.timedelta(days=7))
    assert release.collect_events() == []  # nothing changed, nothing recorded


def test_imc9_only_agents_and_admins_plan_releases_and_names_are_required() -> None:
    with pytest.raises(NotPermitted):
        Release.plan(CUSTOMER, id=uuid.uuid4(), name="x", kind=ReleaseKind.SCHEDULED, date=TODAY)
    with pytest.raises(InvalidInput):
        Release.plan(AGENT, id=uuid.uuid4(), name="  ", kind=ReleaseKind.UNSCHEDULED, date=TODAY)


def new_ticket(category: str | None = None) -> Ticket:
    ticket = Ticket.open(AGENT, PRESETS.for_policy("imc"), id=uuid.uuid4(), number="HD-1", customer_id="c",
                         requester_id=None, subject="s", description="d", channel="portal", category=category,
                         priority="normal", service=None, policy="imc")
    ticket.collect_events()
    return ticket


def test_imc5_accept_names_every_missing_part_of_primary_analysis() -> None:
    ticket = new_ticket()
    with pytest.raises(PrimaryAnalysisIncomplete) as refused:
        ticket.act(AGENT, PRESETS.for_policy("imc"), "accept")
    assert [field for field, _ in refused.value.fields] == ["category", "responsible_id", "planned_date"]
    assert ticket.collect_events() == [] and ticket.status is Status.NEW


def test_imc5_accept_with_category_priority_responsible_and_a_planned_date_or_a_release() -> None:
    for plan in ({"planned_date": TODAY}, {"release": str(uuid.uuid4())}):
        ticket = new_ticket("error")
        ticket.triage(AGENT, PRESETS.for_policy("imc"), responsible_id="agent-1", **plan)
        ticket.act(AGENT, PRESETS.for_policy("imc"), "accept")
        assert ticket.status is Status.IN_PROGRESS


def test_imc5_policies_that_do_not_ask_accept_without_a_plan() -> None:
    ticket = new_ticket()
    ticket.act(AGENT, PRESETS.for_policy("medis"), "accept")
    assert ticket.status is Status.IN_PROGRESS
