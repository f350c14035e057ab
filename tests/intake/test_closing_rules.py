"""KS-8 from the solution's delivery, and what a close without a solution carries (END-4, IMC-6).

Domain tests: a ticket's history → a command → the expected events (no I/O, no clock).
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import pytest

from helpdesk_intake.adapters.translation import to_fact
from helpdesk_intake.domain.base import Context
from helpdesk_intake.domain.ticket import ReopenWindowClosed, Ticket
from helpdesk_shared import events as pub
from helpdesk_shared.vocabulary import Role, Status, Visibility

from tests.intake.test_ticket_workflow import PRESETS
from tests.support.desk import form_details

DELIVERED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday 12:00 Moscow
KEYSYSTEMS = PRESETS.for_policy("keysystems")


def at(moment: dt.datetime, role: Role = Role.AGENT) -> Context:
    if role is Role.CUSTOMER:
        return Context("user-1", role, moment, customer_id="cust-1")
    return Context("service:sla" if role is Role.SERVICE else "agent-1", role, moment)


def delivered(category: str = "error", policy: str = "keysystems") -> Ticket:
    """A ticket whose solution was delivered (proposed) on Monday 2 March 2026, 12:00 Moscow."""
    rules = PRESETS.for_policy(policy)
    ticket = Ticket.open(at(DELIVERED - dt.timedelta(hours=3)), rules, id=uuid.uuid4(), number="HD-1",
                         customer_id="cust-1", requester_id="user-1", subject="Report", description="Wrong sum",
                         channel="portal", category=category, priority="normal", service=None, policy=policy,
                         details=form_details(policy, category))
    ticket.act(at(DELIVERED - dt.timedelta(hours=2)), rules, "accept")
    ticket.act(at(DELIVERED), rules, "propose_solution", comment="fixed in 5.1")
    ticket.collect_events()
    return ticket


def test_ks8_the_window_counts_from_delivery_not_from_acceptance() -> None:
    ticket = delivered()
    ticket.act(at(DELIVERED + dt.timedelta(days=1, hours=23), Role.CUSTOMER), KEYSYSTEMS, "accept_solution")
    late = at(DELIVERED + dt.timedelta(days=2, minutes=1), Role.CUSTOMER)  # 2 bd after delivery, plus a minute
    with pytest.raises(ReopenWindowClosed):
        ticket.act(late, KEYSYSTEMS, "return_to_work")
    ticket = delivered()
    ticket.act(at(DELIVERED + dt.timedelta(days=1, hours=23), Role.CUSTOMER), KEYSYSTEMS, "accept_solution")
    ticket.act(at(DELIVERED + dt.timedelta(days=2), Role.CUSTOMER), KEYSYSTEMS, "return_to_work")
    assert ticket.status is Status.IN_PROGRESS


def test_ks8_a_return_from_testing_after_the_window_answers_reopen_window_closed() -> None:
    ticket = delivered("improvement")  # 5 bd; Monday 9 March 2026 is a day off (8 March was a Sunday)
    with pytest.raises(ReopenWindowClosed):
        ticket.act(at(dt.datetime(2026, 3, 10, 9, 1, tzinfo=dt.UTC), Role.CUSTOMER), KEYSYSTEMS, "return_to_work")
    ticket.act(at(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), Role.CUSTOMER), KEYSYSTEMS, "return_to_work")
    assert ticket.status is Status.IN_PROGRESS


def test_ks8_a_new_delivery_opens_a_new_window() -> None:
    ticket = delivered()
    returned = DELIVERED + dt.timedelta(days=1)
    ticket.act(at(returned, Role.CUSTOMER), KEYSYSTEMS, "return_to_work")
    ticket.act(at(returned + dt.timedelta(days=1)), KEYSYSTEMS, "propose_solution")
    ticket.act(at(returned + dt.timedelta(days=2, hours=23), Role.CUSTOMER), KEYSYSTEMS, "return_to_work")
    assert ticket.status is Status.IN_PROGRESS


def test_ks8_policies_without_a_window_still_take_returns_from_testing() -> None:
    ticket = delivered(policy="medis")
    ticket.act(at(DELIVERED + dt.timedelta(days=30), Role.CUSTOMER), PRESETS.for_policy("medis"), "return_to_work")
    assert ticket.status is Status.NEW  # MED-7


def _history() -> tuple[Ticket, object]:
    """Staff's public steps and everything that must stay out of done_so_far."""
    rules = PRESETS.for_policy("endocs")
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    ticket = Ticket.open(at(start, Role.CUSTOMER), rules, id=uuid.uuid4(), number="HD-2", customer_id="cust-1",
                         requester_id="user-1", subject="Import", description="It fails", channel="portal",
                         category="error", priority="normal", service=None, policy="endocs",
                         details=form_details("endocs", "error"))
    ticket.act(at(start + dt.timedelta(hours=1)), rules, "accept", comment="looking into it")
    ticket.add_comment(at(start + dt.timedelta(hours=2)), rules, comment_id="c1", body="checked the logs",
                       visibility=Visibility.PUBLIC)
    ticket.add_comment(at(start + dt.timedelta(hours=3)), rules, comment_id="c2", body="staff only note",
                       visibility=Visibility.INTERNAL)
    ticket.add_comment(at(start + dt.timedelta(hours=4), Role.CUSTOMER), rules, comment_id="c3", body="any news?",
                       visibility=Visibility.PUBLIC)
    ticket.act(at(start + dt.timedelta(hours=5)), rules, "request_clarification", comment="send the file")
    ticket.collect_events()
    return ticket, rules


def _steps(ticket: Ticket) -> list[tuple[str, str | None]]:
    [closed] = ticket.collect_events()
    assert isinstance(closed, Ticket.Rejected)
    fact = to_fact(closed, ticket)
    assert isinstance(fact, pub.Rejected)
    return [(step.what, step.note) for step in fact.done_so_far]


EXPECTED = [("accepted", "looking into it"), ("comment_added", "checked the logs"),
            ("clarification_requested", "send the file")]


def test_end4_an_automatic_close_carries_what_was_done_so_far() -> None:
    ticket, rules = _history()
    ticket.act(at(dt.datetime(2026, 3, 10, 16, tzinfo=dt.UTC), Role.SERVICE), rules, "reject",
               reason="ответ от клиента не получен")
    assert _steps(ticket) == EXPECTED


def test_imc6_a_close_by_an_agent_carries_what_was_done_so_far() -> None:
    ticket, rules = _history()
    ticket.act(at(dt.datetime(2026, 3, 6, 16, tzinfo=dt.UTC)), rules, "reject", reason="no comment in 3 bd")
    assert _steps(ticket) == EXPECTED


def test_end4_a_customers_withdrawal_carries_no_list() -> None:
    ticket, rules = _history()
    ticket.act(at(dt.datetime(2026, 3, 3, tzinfo=dt.UTC), Role.CUSTOMER), rules, "reject", reason="solved")
    assert _steps(ticket) == []


def test_end4_done_so_far_travels_on_the_wire_and_older_facts_decode() -> None:
    ticket, rules = _history()
    ticket.act(at(dt.datetime(2026, 3, 10, 16, tzinfo=dt.UTC), Role.SERVICE), rules, "reject", reason="x")
    [closed] = ticket.collect_events()
    wire = msgspec.json.decode(msgspec.json.encode(to_fact(closed, ticket)), type=pub.Rejected)
    assert [s.what for s in wire.done_so_far] == [w for w, _ in EXPECTED]
    old = msgspec.json.decode(b'{"ticket_id":"t","customer_id":"c","version":3,"status":"rejected",'
                              b'"actor":{"id":"a","role":"agent"},"occurred_at":"2026-03-02T09:00:00Z","from_status":"new"}',
                              type=pub.Rejected)
    assert old.done_so_far == ()  # facts from before the field decode with an empty list


def test_ks8_a_customer_comment_after_the_window_does_not_return_the_ticket() -> None:
    ticket = delivered()
    ticket.add_comment(at(DELIVERED + dt.timedelta(days=2, minutes=1), Role.CUSTOMER), KEYSYSTEMS,
                       comment_id="c1", body="still broken", visibility=Visibility.PUBLIC)
    assert ticket.status is Status.CUSTOMER_TESTING  # the SLA closes it as done (KS-8)
    ticket.add_comment(at(DELIVERED + dt.timedelta(days=2), Role.CUSTOMER), KEYSYSTEMS,
                       comment_id="c2", body="still broken", visibility=Visibility.PUBLIC)
    assert ticket.status is Status.IN_PROGRESS
