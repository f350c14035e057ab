"""Keysystems preset (KS rules)."""

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.policies import Duration, TargetRule
from helpdesk_shared.policies.rules import reopen_window_open
from helpdesk_shared.vocabulary import Category, Channel, Status

from helpdesk_sla.domain.evaluation import evaluate
from tests.shared.histories import CUSTOMER, POLICIES, Ticket, msk, target

KEYSYSTEMS = POLICIES["keysystems"]
# KS leaves the handling deadline to the contract; a contract with 2 bd shows the pause.
WITH_CONTRACT = msgspec.structs.replace(KEYSYSTEMS, targets=[TargetRule(resolution=Duration(2, "bd"))])


def waiting_ticket() -> Ticket:
    return (Ticket(msk(2025, 11, 10, 9, 30)).move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10))
            .move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2025, 11, 10, 12)))


def test_ks4_the_clock_pauses_while_awaiting_clarification():
    ticket = waiting_ticket()
    state = evaluate(ticket.events, WITH_CONTRACT, msk(2025, 11, 11, 11))
    handling = target(state, "resolution")
    assert state.paused and handling.state == "paused"
    assert handling.remaining_seconds == 16 * 3600  # what was left when the wait began
    ticket.move(ev.ClarificationReceived, Status.IN_PROGRESS, msk(2025, 11, 11, 12), CUSTOMER)
    handling = target(evaluate(ticket.events, WITH_CONTRACT, msk(2025, 11, 11, 13)), "resolution")
    assert (handling.state, handling.due_at) == ("running", msk(2025, 11, 13, 10))  # Wed 10:00 + 1 bd waited


def test_ks5_no_reply_within_five_business_days_closes_without_a_solution():
    state = evaluate(waiting_ticket().events, KEYSYSTEMS, msk(2025, 11, 11))
    assert state.next_transition.due_at == msk(2025, 11, 17, 12)
    assert (state.next_transition.action, state.next_transition.reason) == ("reject", "no_reply")


def done_ticket(category: Category) -> Ticket:
    return (Ticket(msk(2025, 11, 7, 10), category=category).move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 7, 11))
            .move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 10, 11))
            .move(ev.SolutionAccepted, Status.DONE, msk(2025, 11, 10, 12), CUSTOMER))


def test_ks8_return_window_two_business_days_for_errors_and_consultations():
    # delivered Monday 11:00, accepted at 12:00: the window counts from the delivery
    for category in (Category.ERROR, Category.SUPPORT):
        events = done_ticket(category).events
        assert evaluate(events, KEYSYSTEMS, msk(2025, 11, 12, 11)).reopen_until == msk(2025, 11, 12, 11)
        assert evaluate(events, KEYSYSTEMS, msk(2025, 11, 12, 11)).reopen_open
        assert not evaluate(events, KEYSYSTEMS, msk(2025, 11, 12, 11, 0, 1)).reopen_open
    assert reopen_window_open(KEYSYSTEMS, None, msk(2025, 11, 10, 12), msk(2025, 11, 12, 12))


def test_ks8_return_window_five_business_days_for_improvements():
    events = done_ticket(Category.IMPROVEMENT).events
    assert evaluate(events, KEYSYSTEMS, msk(2025, 11, 17, 11)).reopen_open
    assert not evaluate(events, KEYSYSTEMS, msk(2025, 11, 17, 11, 1)).reopen_open
    assert not reopen_window_open(KEYSYSTEMS, Category.IMPROVEMENT, msk(2025, 11, 10, 12), msk(2025, 11, 17, 12, 1))


def in_testing(category: Category) -> Ticket:
    return (Ticket(msk(2025, 11, 7, 10), category=category).move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 7, 11))
            .move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 10, 11)))


def test_ks8_the_window_counts_from_delivery_while_the_ticket_is_still_in_testing():
    state = evaluate(in_testing(Category.ERROR).events, KEYSYSTEMS, msk(2025, 11, 11, 11))
    assert (state.reopen_until, state.reopen_open) == (msk(2025, 11, 12, 11), True)
    assert not evaluate(in_testing(Category.ERROR).events, KEYSYSTEMS, msk(2025, 11, 12, 11, 1)).reopen_open


def test_ks8_a_ticket_left_in_testing_closes_itself_as_done_when_the_window_ends():
    for category, ends in ((Category.ERROR, msk(2025, 11, 12, 11)), (Category.IMPROVEMENT, msk(2025, 11, 17, 11))):
        move = evaluate(in_testing(category).events, KEYSYSTEMS, msk(2025, 11, 10, 12)).next_transition
        assert (move.status, move.action, move.due_at) == (Status.CUSTOMER_TESTING, "accept_solution", ends)
        assert "KS-8" in move.reason


def test_ks6_a_phone_requests_solution_is_a_callback_met_when_the_agent_logs_the_call():
    ticket = (Ticket(msk(2025, 11, 10, 10), channel=Channel.PHONE)
              .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10, 30))
              .move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 10, 11)))
    callback = target(evaluate(ticket.events, KEYSYSTEMS, msk(2025, 11, 10, 12)), "callback")
    assert (callback.state, callback.due_at) == ("running", msk(2025, 11, 11, 11))
    ticket.comment(msk(2025, 11, 10, 15))  # a plain comment is not the call
    assert target(evaluate(ticket.events, KEYSYSTEMS, msk(2025, 11, 10, 16)), "callback").state == "running"
    ticket.comment(msk(2025, 11, 10, 16), call=True)
    assert target(evaluate(ticket.events, KEYSYSTEMS, msk(2025, 11, 11, 12)), "callback").state == "met"


def test_ks6_an_email_requests_solution_needs_no_call():
    ticket = (Ticket(msk(2025, 11, 10, 10), channel=Channel.EMAIL)
              .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10, 30))
              .move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 10, 11)))
    assert "callback" not in {t.kind for t in evaluate(ticket.events, KEYSYSTEMS, msk(2025, 11, 10, 12)).targets}
