"""TEL-9 deferral and END-5 third party on the Ticket aggregate: history → command → events (no I/O)."""

from __future__ import annotations

import uuid

import pytest

from helpdesk_intake.adapters.policies import PolicyRules
from helpdesk_intake.domain.base import InvalidInput, NotPermitted
from helpdesk_intake.domain.ticket import InvalidTransition, Ticket
from helpdesk_shared.vocabulary import Status
from tests.support.desk import form_details
from tests.intake.test_ticket_workflow import AGENT, CUSTOMER, PATHS

TELEMED = PolicyRules.load(None).for_policy("telemed")
ENDOCS = PolicyRules.load(None).for_policy("endocs")
TEL9_REASONS = ("cannot_reproduce", "not_enough_information", "needs_development", "requirements_broken",
                "out_of_scope", "unconstructive", "abusive")


def telemed_ticket(status: Status = Status.NEW) -> Ticket:
    ticket = Ticket.open(AGENT, TELEMED, id=uuid.uuid4(), number="HD-9", customer_id="cust-1",
                         requester_id="user-1", subject="Video", description="No picture", channel="chat",
                         category="error", priority="normal", service=None, policy="telemed",
                         details={"version": "2.4", "platform": "ios"})
    for actor, action in PATHS[status]:
        ticket.act(actor, TELEMED, action, reason="test")
    ticket.collect_events()
    return ticket


@pytest.mark.parametrize("status", [Status.NEW, Status.IN_PROGRESS, Status.IN_DEVELOPMENT])
def test_tel9_defer_with_a_reason_of_the_policy_then_resume_to_in_progress(status: Status) -> None:
    ticket = telemed_ticket(status)
    ticket.act(AGENT, TELEMED, "defer", reason="cannot_reproduce", comment="tried on three phones")
    [deferred] = ticket.collect_events()
    assert type(deferred).__name__ == "Deferred" and deferred.reason == "cannot_reproduce"
    assert (deferred.from_status, deferred.to_status) == (status.value, "deferred")
    ticket.act(AGENT, TELEMED, "resume")
    [resumed] = ticket.collect_events()
    # deferred while new, its resume is the acceptance (TEL-6's "processing started" follows it)
    expected = "Accepted" if status is Status.NEW else "Resumed"
    assert type(resumed).__name__ == expected and ticket.status is Status.IN_PROGRESS


def test_tel9_a_resume_accepts_only_once() -> None:
    ticket = telemed_ticket()
    for _ in range(2):
        ticket.act(AGENT, TELEMED, "defer", reason="abusive")
        ticket.act(AGENT, TELEMED, "resume")
    assert [type(e).__name__ for e in ticket.collect_events()] == ["Deferred", "Accepted", "Deferred", "Resumed"]


def test_tel9_every_one_of_the_seven_reasons_defers() -> None:
    for code in TEL9_REASONS:
        ticket = telemed_ticket()
        ticket.act(AGENT, TELEMED, "defer", reason=code)
        assert ticket.status is Status.DEFERRED


@pytest.mark.parametrize("reason", [None, "  ", "because", "Cannot reproduce"])
def test_tel9_defer_without_a_reason_code_of_the_list_is_invalid_input(reason: str | None) -> None:
    ticket = telemed_ticket()
    with pytest.raises(InvalidInput) as refused:
        ticket.act(AGENT, TELEMED, "defer", reason=reason)
    assert refused.value.field == "reason" and ticket.collect_events() == []


def test_tel9_a_policy_without_deferral_reasons_defers_nothing() -> None:
    with pytest.raises(InvalidTransition):  # not in its workflow: allowed_actions never offers it
        Ticket.open(AGENT, ENDOCS, id=uuid.uuid4(), number="HD-8", customer_id="c", requester_id=None,
                    subject="s", description="d", channel="email", category=None, priority="normal",
                    service=None, policy="endocs", details=form_details("endocs")
                    ).act(AGENT, ENDOCS, "defer", reason="cannot_reproduce")


@pytest.mark.parametrize("status", [Status.AWAITING_CUSTOMER, Status.CUSTOMER_TESTING, Status.DONE, Status.DEFERRED])
def test_tel9_defer_only_from_new_in_progress_or_in_development(status: Status) -> None:
    ticket = telemed_ticket(Status.NEW if status is Status.DEFERRED else status)
    if status is Status.DEFERRED:
        ticket.act(AGENT, TELEMED, "defer", reason="abusive")
    with pytest.raises(InvalidTransition):
        ticket.act(AGENT, TELEMED, "defer", reason="abusive")


def test_tel9_only_agents_defer_and_resume() -> None:
    ticket = telemed_ticket()
    with pytest.raises(NotPermitted):
        ticket.act(CUSTOMER, TELEMED, "defer", reason="abusive")
    ticket.act(AGENT, TELEMED, "defer", reason="abusive")
    with pytest.raises(NotPermitted):
        ticket.act(CUSTOMER, TELEMED, "resume")
    with pytest.raises(InvalidTransition):
        telemed_ticket(Status.IN_PROGRESS).act(AGENT, TELEMED, "resume")


def test_end5_third_party_is_awaited_changed_and_cleared_one_event_each() -> None:
    ticket = telemed_ticket(Status.IN_PROGRESS)
    ticket.triage(AGENT, TELEMED, third_party={"party": " Mobile operator ", "note": "SMS gateway down"})
    [awaited] = ticket.collect_events()
    assert type(awaited).__name__ == "ThirdPartyAwaited"
    assert (awaited.party, awaited.note) == ("Mobile operator", "SMS gateway down")
    ticket.triage(AGENT, TELEMED, third_party={"party": "Mobile operator", "note": "SMS gateway down"})
    assert ticket.collect_events() == []  # nothing changed
    ticket.triage(AGENT, TELEMED, third_party=None)
    [cleared] = ticket.collect_events()
    assert type(cleared).__name__ == "ThirdPartyCleared" and cleared.party == "Mobile operator"
    ticket.triage(AGENT, TELEMED, third_party=None)
    assert ticket.collect_events() == [] and ticket.third_party is None


def test_end5_third_party_needs_a_party_and_an_open_ticket() -> None:
    ticket = telemed_ticket(Status.IN_PROGRESS)
    with pytest.raises(InvalidInput) as refused:
        ticket.triage(AGENT, TELEMED, category="support", third_party={"party": "   ", "note": None})
    assert refused.value.field == "third_party.party" and ticket.collect_events() == []
    with pytest.raises(InvalidTransition):
        telemed_ticket(Status.DONE).triage(AGENT, TELEMED, third_party={"party": "Bank", "note": None})
    with pytest.raises(NotPermitted):
        ticket.triage(CUSTOMER, TELEMED, third_party={"party": "Bank", "note": None})


@pytest.mark.parametrize(("closing", "status"), [("reject", Status.REJECTED), ("accept_solution", Status.DONE)])
def test_end5_closing_a_ticket_ends_its_third_party_wait_and_a_replay_agrees(closing: str, status: Status) -> None:
    ticket = Ticket.open(AGENT, TELEMED, id=uuid.uuid4(), number="HD-9", customer_id="cust-1",
                         requester_id="user-1", subject="Video", description="No picture", channel="chat",
                         category="error", priority="normal", service=None, policy="telemed",
                         details={"version": "2.4", "platform": "ios"})
    ticket.act(AGENT, TELEMED, "accept")
    ticket.triage(AGENT, TELEMED, third_party={"party": "Bank", "note": None})
    ticket.act(AGENT, TELEMED, "propose_solution", comment="fixed")
    ticket.act(CUSTOMER, TELEMED, closing, reason="no longer needed")
    events = ticket.collect_events()
    assert ticket.status is status and ticket.third_party is None
    replayed = None
    for event in events:  # the history alone: the close's effect, not an extra event
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.third_party is None
    assert [type(e).__name__ for e in events if "ThirdParty" in type(e).__name__] == ["ThirdPartyAwaited"]
