"""The Ticket aggregate: given a history → a command → the expected events (no I/O, no clock).

Every (status, action) pair is tried: the pairs CONTRACT §3's table allows produce the
named event and status; every other pair is refused with InvalidTransition.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from helpdesk_intake.adapters.policies import PolicyRules
from helpdesk_intake.domain.base import Context, InvalidInput, NotPermitted
from helpdesk_intake.domain.rules import PermissiveRules
from helpdesk_intake.domain.ticket import InvalidTransition, ReopenWindowClosed, Ticket
from helpdesk_shared.vocabulary import Role, Status, Visibility

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday, 12:00 in Moscow
AGENT = Context("agent-1", Role.AGENT, NOW)
CUSTOMER = Context("user-1", Role.CUSTOMER, NOW, customer_id="cust-1")
SLA = Context("service:sla", Role.SERVICE, NOW)
RULES = PermissiveRules()
PRESETS = PolicyRules.load(None)

# How to bring a fresh ticket to each status: (actor, action) steps.
PATHS: dict[Status, list[tuple[Context, str]]] = {
    Status.NEW: [],
    Status.IN_PROGRESS: [(AGENT, "accept")],
    Status.AWAITING_CUSTOMER: [(AGENT, "request_clarification")],
    Status.IN_DEVELOPMENT: [(AGENT, "accept"), (AGENT, "send_to_development")],
    Status.READY_TO_INSTALL: [(AGENT, "accept"), (AGENT, "send_to_development"),
                              (AGENT, "mark_ready_to_install")],
    Status.CUSTOMER_TESTING: [(AGENT, "accept"), (AGENT, "propose_solution")],
    Status.DONE: [(AGENT, "accept"), (AGENT, "propose_solution"), (CUSTOMER, "accept_solution")],
    Status.DEFERRED: [(AGENT, "accept"), (AGENT, "defer")],  # deferred while in work (a resume goes back)
    Status.REJECTED: [(AGENT, "reject")],
}

# CONTRACT §3: action → {from status: (event, to status)}; the acting role is the table's.
ALLOWED: dict[str, tuple[Context, dict[Status, tuple[str, Status]]]] = {
    "accept": (AGENT, {Status.NEW: ("Accepted", Status.IN_PROGRESS)}),
    "request_clarification": (AGENT, {
        s: ("ClarificationRequested", Status.AWAITING_CUSTOMER)
        for s in (Status.NEW, Status.IN_PROGRESS, Status.IN_DEVELOPMENT)}),
    "send_to_development": (AGENT, {Status.IN_PROGRESS: ("SentToDevelopment", Status.IN_DEVELOPMENT)}),
    "mark_ready_to_install": (AGENT, {
        Status.IN_DEVELOPMENT: ("MarkedReadyToInstall", Status.READY_TO_INSTALL)}),
    "propose_solution": (AGENT, {
        s: ("SolutionProposed", Status.CUSTOMER_TESTING) for s in (Status.IN_PROGRESS, Status.IN_DEVELOPMENT)}),
    "accept_solution": (CUSTOMER, {
        s: ("SolutionAccepted", Status.DONE) for s in (Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL)}),
    "return_to_work": (CUSTOMER, {
        s: ("ReturnedToWork", Status.IN_PROGRESS) for s in (Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL)}),
    "reject": (AGENT, {s: ("Rejected", Status.REJECTED) for s in Status if s.is_open}),
    "defer": (AGENT, {s: ("Deferred", Status.DEFERRED) for s in (Status.NEW, Status.IN_PROGRESS,
                                                                 Status.IN_DEVELOPMENT)}),
    "resume": (AGENT, {Status.DEFERRED: ("Resumed", Status.IN_PROGRESS)}),
}


def ticket_in(status: Status, **fields: object) -> Ticket:
    ticket = Ticket.open(AGENT, RULES, id=uuid.uuid4(), number="HD-1", customer_id="cust-1", **{
        "requester_id": "user-1", "subject": "Printer", "description": "It is on fire", "channel": "portal",
        "category": "improvement", "priority": "normal", "service": None, "policy": None, **fields})
    for actor, action in PATHS[status]:
        ticket.act(actor, RULES, action, reason="test")
    ticket.collect_events()
    assert ticket.status is status
    return ticket


CASES = [(status, action) for status in Status for action in ALLOWED]


@pytest.mark.parametrize(("status", "action"), CASES, ids=[f"{s.value}-{a}" for s, a in CASES])
def test_every_transition_of_the_contract_table(status: Status, action: str) -> None:
    actor, moves = ALLOWED[action]
    ticket = ticket_in(status)
    if status in moves:
        ticket.act(actor, RULES, action, reason="a reason")
        event, target = moves[status]
        assert [type(e).__name__ for e in ticket.collect_events()] == [event]
        assert ticket.status is target
    elif action == "return_to_work" and status is Status.DONE:
        with pytest.raises(ReopenWindowClosed):
            ticket.act(actor, RULES, action)
    else:
        with pytest.raises(InvalidTransition):
            ticket.act(actor, RULES, action, reason="a reason")
        assert ticket.collect_events() == []


def test_med1_every_ticket_starts_as_new_and_moves_only_through_the_contract_statuses() -> None:
    ticket = ticket_in(Status.NEW)
    assert ticket.status is Status.NEW and ticket.version == 1
    assert {s.value for s in Status} == {"new", "in_progress", "awaiting_customer", "in_development",
                                         "ready_to_install", "customer_testing", "deferred", "done", "rejected"}


def test_unknown_action_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition):
        ticket_in(Status.NEW).act(AGENT, RULES, "teleport")


@pytest.mark.parametrize("action", ["accept", "request_clarification", "propose_solution"])
def test_customers_cannot_give_agent_actions(action: str) -> None:
    with pytest.raises(NotPermitted):
        ticket_in(Status.NEW).act(CUSTOMER, RULES, action)


def test_agents_cannot_accept_a_solution_for_the_customer() -> None:
    with pytest.raises(NotPermitted):
        ticket_in(Status.CUSTOMER_TESTING).act(AGENT, RULES, "accept_solution")


def test_customer_may_withdraw_with_a_reason_and_only_with_one() -> None:
    ticket = ticket_in(Status.IN_PROGRESS)
    with pytest.raises(InvalidInput):
        ticket.act(CUSTOMER, RULES, "reject", reason="  ")
    ticket.act(CUSTOMER, RULES, "reject", reason="solved it ourselves")
    assert ticket.status is Status.REJECTED


def test_service_transitions_are_marked_automatic() -> None:
    ticket = ticket_in(Status.AWAITING_CUSTOMER)
    ticket.act(SLA, RULES, "reject", reason="no_reply")
    (event,) = ticket.collect_events()
    assert event.automatic is True and event.actor_id == "service:sla"


def test_events_record_actor_time_and_trace() -> None:
    ctx = Context("agent-7", Role.AGENT, NOW, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    ticket = ticket_in(Status.NEW)
    ticket.act(ctx, RULES, "accept")
    (event,) = ticket.collect_events()
    assert (event.actor_id, event.actor_role, event.timestamp) == ("agent-7", "agent", NOW)
    assert event.traceparent == ctx.traceparent


def test_med11_subject_and_description_are_required() -> None:
    with pytest.raises(InvalidInput) as refused:
        ticket_in(Status.NEW, subject="   ")
    assert refused.value.field == "subject"


def test_customers_cannot_write_internal_comments() -> None:
    with pytest.raises(NotPermitted):
        ticket_in(Status.NEW).add_comment(CUSTOMER, RULES, comment_id="c", body="psst",
                                          visibility=Visibility.INTERNAL)


def test_triage_records_one_specific_event_per_kind_of_change() -> None:
    ticket = ticket_in(Status.NEW)
    ticket.triage(AGENT, RULES, priority="high", category="improvement", responsible_id="agent-1",
                  planned_minutes=90)
    assert [type(e).__name__ for e in ticket.collect_events()] == [
        "PriorityChanged", "AssigneesChanged", "PlanChanged"]  # the category did not change


def test_med6_customer_clarification_returns_the_ticket_to_new() -> None:
    medis = PRESETS.for_policy("medis")
    ticket = ticket_in(Status.IN_PROGRESS)
    ticket.act(AGENT, medis, "request_clarification")
    ticket.add_comment(CUSTOMER, medis, comment_id="c1", body="here it is", visibility=Visibility.PUBLIC)
    assert ticket.status is Status.NEW
    assert [type(e).__name__ for e in ticket.collect_events()][-1] == "ClarificationReceived"


def test_ks4_customer_clarification_resumes_where_work_stopped() -> None:
    ks = PRESETS.for_policy("keysystems")
    ticket = ticket_in(Status.IN_PROGRESS)
    ticket.act(AGENT, ks, "request_clarification")
    ticket.add_comment(CUSTOMER, ks, comment_id="c1", body="here it is", visibility=Visibility.PUBLIC)
    assert ticket.status is Status.IN_PROGRESS


def test_med7_customer_reply_in_testing_returns_the_ticket_to_new() -> None:
    medis = PRESETS.for_policy("medis")
    ticket = ticket_in(Status.CUSTOMER_TESTING)
    ticket.add_comment(CUSTOMER, medis, comment_id="c1", body="still broken", visibility=Visibility.PUBLIC)
    assert ticket.status is Status.NEW


def test_agent_comment_does_not_move_a_waiting_ticket() -> None:
    ticket = ticket_in(Status.AWAITING_CUSTOMER)
    ticket.add_comment(AGENT, RULES, comment_id="c1", body="any news?", visibility=Visibility.PUBLIC)
    assert ticket.status is Status.AWAITING_CUSTOMER


def test_med9_only_customizations_go_to_development() -> None:
    medis = PRESETS.for_policy("medis")
    with pytest.raises(InvalidTransition, match="MED-9"):
        ticket_in(Status.IN_PROGRESS, category="error").act(AGENT, medis, "send_to_development")
    ticket = ticket_in(Status.IN_PROGRESS, category="improvement")
    ticket.act(AGENT, medis, "send_to_development")
    assert ticket.status is Status.IN_DEVELOPMENT


def test_tel5_only_chat_and_email_are_registered_requests() -> None:
    telemed = PRESETS.for_policy("telemed")
    with pytest.raises(InvalidInput, match="TEL-5"):
        Ticket.open(AGENT, telemed, id=uuid.uuid4(), number="HD-2", customer_id="c", requester_id=None,
                    subject="s", description="d", channel="phone", category=None, priority="normal",
                    service=None, policy="telemed")


def _done_error_ticket(policy: str, category: str) -> tuple[Ticket, object]:
    rules = PRESETS.for_policy(policy)
    ticket = ticket_in(Status.CUSTOMER_TESTING, category=category)
    ticket.act(CUSTOMER, rules, "accept_solution")  # done on Monday 2026-03-02, 12:00 Moscow
    return ticket, rules


def test_ks8_return_window_two_business_days_for_errors() -> None:
    ticket, rules = _done_error_ticket("keysystems", "error")
    inside = Context("user-1", Role.CUSTOMER, NOW + dt.timedelta(days=2), customer_id="cust-1")
    ticket.act(inside, rules, "return_to_work")
    assert ticket.status is Status.IN_PROGRESS
    ticket, rules = _done_error_ticket("keysystems", "error")
    late = Context("user-1", Role.CUSTOMER, NOW + dt.timedelta(days=2, minutes=1), customer_id="cust-1")
    with pytest.raises(ReopenWindowClosed):
        ticket.act(late, rules, "return_to_work")


def test_ks8_return_window_five_business_days_for_improvements() -> None:
    ticket, rules = _done_error_ticket("keysystems", "improvement")
    # Monday 2 March + 5 bd: Monday 9 March 2026 is a day off (8 March fell on a Sunday),
    # so the window ends on Tuesday 10 March at the same hour.
    inside = Context("user-1", Role.CUSTOMER, NOW + dt.timedelta(days=8), customer_id="cust-1")
    ticket.act(inside, rules, "return_to_work")
    assert [type(e).__name__ for e in ticket.collect_events()][-1] == "Reopened"
    ticket, rules = _done_error_ticket("keysystems", "improvement")
    late = Context("user-1", Role.CUSTOMER, NOW + dt.timedelta(days=8, minutes=1), customer_id="cust-1")
    with pytest.raises(ReopenWindowClosed):
        ticket.act(late, rules, "return_to_work")


def test_end6_time_is_billed_in_half_hours_with_a_half_hour_minimum() -> None:
    endocs = PRESETS.for_policy("endocs")
    ticket = ticket_in(Status.IN_PROGRESS)
    for minutes in (7, 31, 60):
        ticket.log_time(AGENT, endocs, entry_id=str(minutes), minutes=minutes, billable=True, note=None)
    ticket.log_time(AGENT, endocs, entry_id="free", minutes=45, billable=False, note=None)
    assert [e.billed_minutes for e in ticket.collect_events()] == [30, 60, 60, 0]
    assert (ticket.spent_minutes, ticket.billed_minutes) == (143, 150)


def test_imc4_ks6_only_staff_log_a_call_and_the_fact_says_it_was_one() -> None:
    from helpdesk_intake.adapters.translation import to_fact

    ticket = ticket_in(Status.IN_PROGRESS, channel="phone")
    ticket.add_comment(AGENT, RULES, comment_id="c1", body="called back", visibility=Visibility.PUBLIC,
                       call=True)
    event = ticket.collect_events()[-1]
    assert event.call and to_fact(event, ticket).call
    with pytest.raises(NotPermitted):
        ticket.add_comment(CUSTOMER, RULES, comment_id="c2", body="I called", visibility=Visibility.PUBLIC,
                           call=True)
