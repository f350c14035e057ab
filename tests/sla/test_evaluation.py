"""Evaluation as a function of history: re-application of policies, states, outcomes."""

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.policies import Duration, TargetRule
from helpdesk_shared.vocabulary import Category, Priority, Status

from helpdesk_sla.domain.evaluation import evaluate
from tests.shared.histories import AGENT, POLICIES, Ticket, msk, target

MEDIS, IMC = POLICIES["medis"], POLICIES["imc"]


def test_a_changed_policy_reapplies_to_open_tickets_on_reevaluation():
    events = Ticket(msk(2025, 11, 10, 12)).events
    faster = msgspec.structs.replace(MEDIS, targets=[TargetRule(first_response=Duration(1, "bd"))])
    assert target(evaluate(events, MEDIS, msk(2025, 11, 10, 13)), "first_response").due_at == msk(2025, 11, 13, 12)
    assert target(evaluate(events, faster, msk(2025, 11, 10, 13)), "first_response").due_at == msk(2025, 11, 11, 12)


def test_a_late_outcome_stays_breached():
    ticket = Ticket(msk(2025, 11, 10, 12)).move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 14, 12))
    review = target(evaluate(ticket.events, MEDIS, msk(2025, 12, 1)), "first_response")
    assert (review.state, review.stopped_at, review.remaining_seconds) == ("breached", msk(2025, 11, 14, 12), -9 * 3600)


def test_a_recategorised_ticket_takes_the_new_terms():
    ticket = (Ticket(msk(2025, 11, 10, 9, 30), category=Category.SUPPORT, priority=Priority.NORMAL)
              .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10)))
    ticket.events.append(ev.PriorityChanged(ticket_id="t-1", customer_id="c-1", version=9, status=Status.IN_PROGRESS,
                                            actor=AGENT, occurred_at=msk(2025, 11, 10, 11), priority=Priority.URGENT))
    assert target(evaluate(ticket.events, IMC, msk(2025, 11, 10, 12)), "resolution").due_at == msk(2025, 11, 13, 10)


def test_a_closed_ticket_has_no_next_transition_and_stopped_targets():
    ticket = (Ticket(msk(2025, 11, 10, 12)).move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2025, 11, 10, 13))
              .move(ev.Rejected, Status.REJECTED, msk(2025, 11, 24, 13), reason="no_clarification", automatic=True))
    state = evaluate(ticket.events, MEDIS, msk(2025, 12, 1))
    assert state.next_transition is None and not state.paused
    assert all(t.stopped_at is not None for t in state.targets)


def test_the_state_serialises_as_the_contracts_sla_block():
    state = evaluate(Ticket(msk(2025, 11, 10, 12)).events, MEDIS, msk(2025, 11, 10, 13))
    block = msgspec.to_builtins(state)
    assert block["policy"] == "medis" and block["paused"] is False
    assert {"kind", "due_at", "remaining_seconds", "state"} <= set(block["targets"][0])
