"""The copy of a ticket the aggregate cache lends a command (``Ticket.own_copy``) is shallow: cheap, and
safe only because a command never changes in place anything the copy shares with the cached ticket."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from helpdesk_intake.domain.budget import MonthBudget
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_shared.vocabulary import Visibility
from tests.intake.test_ticket_workflow import AGENT, CUSTOMER, RULES
from tests.support.desk import Desk

# Commands that between them trigger every Ticket event with an ``apply`` of its own, in workflow order.
COMMANDS: list[Callable[[Ticket], None]] = [
    lambda t: t.triage(AGENT, RULES, category="error", priority="high", service="billing",
                       details={"entity": "invoice 7"}, responsible_id="agent-2", owner_id="agent-2",
                       department="L2", planned_minutes=90, third_party={"party": "Bank", "note": None}),
    lambda t: t.add_comment(AGENT, RULES, comment_id="c1", body="Looking", visibility=Visibility.PUBLIC),
    lambda t: t.act(AGENT, RULES, "accept", budget=MonthBudget("2026-03", 600)),
    lambda t: t.log_time(AGENT, RULES, entry_id="e1", minutes=30, billable=True, note=None),
    lambda t: t.triage(AGENT, RULES, details={"entity": None, "version": "2"}, third_party=None),
    lambda t: t.act(AGENT, RULES, "request_clarification", comment="Which invoice?"),
    lambda t: t.add_comment(CUSTOMER, RULES, comment_id="c2", body="Number 7", visibility=Visibility.PUBLIC),
    lambda t: t.act(AGENT, RULES, "propose_solution", comment="Fixed"),
    lambda t: t.add_comment(CUSTOMER, RULES, comment_id="c3", body="Still broken", visibility=Visibility.PUBLIC),
    lambda t: t.act(AGENT, RULES, "reject", reason="duplicate"),
]


def _opened() -> Ticket:
    ticket = Ticket.open(AGENT, RULES, id=uuid.uuid4(), number="HD-1", customer_id="cust-1", requester_id="user-1",
                         subject="s", description="d", channel="portal", category=None, priority="normal",
                         service=None, policy=None, details={"entity": "invoice 42"})
    ticket.collect_events()
    return ticket


def test_perf_a_command_on_a_tickets_own_copy_never_changes_the_ticket_it_was_copied_from() -> None:
    ticket, triggered = _opened(), []
    for number, command in enumerate(COMMANDS):
        before = copy.deepcopy(ticket)
        twin = ticket.own_copy()
        command(twin)
        triggered += twin.collect_events()
        assert ticket == before and vars(ticket) == vars(before), f"COMMANDS[{number}] changed the ticket it copied"
        assert ticket.collect_events() == []
        ticket = twin
    applying = {kind for kind in vars(Ticket).values() if isinstance(kind, type) and "apply" in vars(kind)}
    assert {kind for kind in applying if not any(isinstance(e, kind) for e in triggered)} == set(), (
        "a Ticket event with an apply of its own is not exercised here: add a command that triggers it")


def test_perf_the_cache_lends_a_copy_a_command_changes_without_changing_the_cached_ticket(desk: Desk) -> None:
    ticket_id = uuid.UUID(desk.open()["id"])
    tickets = desk.client.app.state.tickets
    tickets.committer.saved.window = 60.0  # the copy is trusted however slow the test machine
    lent: Any = tickets.committer.saved.current_copy(ticket_id)
    cached = tickets.store.repository.cache.get(ticket_id)
    assert lent is not cached and lent == cached
    before = copy.deepcopy(cached)
    lent.act(AGENT, RULES, "accept")
    lent.add_comment(AGENT, RULES, comment_id="c1", body="Looking", visibility=Visibility.PUBLIC)
    assert len(lent.collect_events()) == 2
    assert cached == before and vars(cached) == vars(before)
