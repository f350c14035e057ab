"""MedIS Plus preset (MED rules)."""

from helpdesk_shared import events as ev
from helpdesk_shared.policies import customer_reply_status
from helpdesk_shared.vocabulary import Category, Status

from helpdesk_sla.domain.evaluation import evaluate
from tests.shared.histories import CUSTOMER, POLICIES, Ticket, msk, target

MEDIS = POLICIES["medis"]


def test_med6_awaiting_clarification_auto_rejects_after_two_weeks():
    ticket = Ticket(msk(2025, 11, 10, 10)).move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER,
                                                 msk(2025, 11, 10, 12))
    state = evaluate(ticket.events, MEDIS, msk(2025, 11, 11))
    assert state.paused
    assert state.next_transition.due_at == msk(2025, 11, 24, 12)
    assert (state.next_transition.action, state.next_transition.reason) == ("reject", "no_clarification")
    assert target(state, "customer_reply").due_at == msk(2025, 11, 24, 12)


def test_med6_clarification_returns_the_ticket_to_new_and_restarts_the_review():
    assert customer_reply_status(MEDIS, Status.AWAITING_CUSTOMER, Status.IN_PROGRESS) is Status.NEW
    ticket = (Ticket(msk(2025, 11, 10, 10))
              .move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2025, 11, 10, 12))
              .move(ev.ClarificationReceived, Status.NEW, msk(2025, 11, 17, 15), CUSTOMER))
    state = evaluate(ticket.events, MEDIS, msk(2025, 11, 17, 16))
    review = target(state, "first_response")
    assert (review.state, review.due_at) == ("running", msk(2025, 11, 20, 15))
    assert target(state, "customer_reply").state == "met"


def test_med7_customer_testing_closes_as_done_after_two_weeks_and_a_reply_returns_to_new():
    ticket = (Ticket(msk(2025, 11, 10, 10)).move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 11))
              .move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 12, 16)))
    state = evaluate(ticket.events, MEDIS, msk(2025, 11, 13))
    assert state.next_transition.action == "accept_solution"
    assert state.next_transition.due_at == msk(2025, 11, 26, 16) == target(state, "acceptance").due_at
    assert customer_reply_status(MEDIS, Status.CUSTOMER_TESTING, Status.IN_PROGRESS) is Status.NEW


def test_med8_ready_to_install_closes_as_done_after_two_weeks():
    ticket = (Ticket(msk(2025, 11, 10, 10), category=Category.IMPROVEMENT)
              .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 11))
              .move(ev.SentToDevelopment, Status.IN_DEVELOPMENT, msk(2025, 11, 10, 12))
              .move(ev.MarkedReadyToInstall, Status.READY_TO_INSTALL, msk(2025, 12, 1, 9, 30)))
    state = evaluate(ticket.events, MEDIS, msk(2025, 12, 2))
    assert (state.next_transition.action, state.next_transition.due_at) == ("accept_solution", msk(2025, 12, 15, 9, 30))


def test_med10_new_ticket_is_reviewed_within_three_business_days():
    # Friday 31 Oct 12:00; Saturday 1 Nov worked; 3-4 Nov off → the third bd is Thursday 6 Nov.
    ticket = Ticket(msk(2025, 10, 31, 12))
    review = target(evaluate(ticket.events, MEDIS, msk(2025, 11, 6, 11, 59)), "first_response")
    assert (review.state, review.due_at, review.remaining_seconds) == ("running", msk(2025, 11, 6, 12), 60)
    assert target(evaluate(ticket.events, MEDIS, msk(2025, 11, 6, 12, 1)), "first_response").state == "breached"
    ticket.move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 5, 9))
    assert target(evaluate(ticket.events, MEDIS, msk(2025, 11, 7)), "first_response").state == "met"
