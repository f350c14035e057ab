"""KS-8: when a solution was delivered is folded in one place (``workflow.delivered_after``), so intake's
aggregate, query's ``allowed_actions`` and the SLA's reopen window agree on every step (no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid

from helpdesk_intake.adapters.translation import to_fact
from helpdesk_intake.domain.base import Context
from helpdesk_intake.domain.rules import PermissiveRules
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_shared.policies import load_policies
from helpdesk_shared.vocabulary import Role, Status
from helpdesk_shared.workflow import delivered_after

from helpdesk_query.domain.actions import delivery
from helpdesk_sla.domain.history import TicketTrack

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STEPS = [(Role.AGENT, "accept"), (Role.AGENT, "propose_solution"), (Role.CUSTOMER, "return_to_work"),
         (Role.AGENT, "propose_solution"), (Role.CUSTOMER, "accept_solution")]


def test_ks8_delivered_after_starts_on_delivery_keeps_it_when_done_and_ends_it_otherwise() -> None:
    at, later = START, START + dt.timedelta(days=1)
    assert delivered_after(None, Status.IN_PROGRESS, Status.CUSTOMER_TESTING, at) == at
    assert delivered_after(at, Status.CUSTOMER_TESTING, Status.DONE, later) == at
    assert delivered_after(at, Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL, later) == at
    assert delivered_after(at, Status.DONE, Status.IN_PROGRESS, later) is None


def test_ks8_delivery_fold_agrees_in_intake_query_and_sla_on_every_step() -> None:
    rules = PermissiveRules()
    actor = Context("agent-1", Role.AGENT, START)
    ticket = Ticket.open(actor, rules, id=uuid.uuid4(), number="HD-1", customer_id="cust-1", requester_id="user-1",
                         subject="Printer", description="It is on fire", channel="portal", category="error",
                         priority="normal", service=None, policy=None)
    track = TicketTrack(load_policies(None)["keysystems"])
    facts = [to_fact(event, ticket) for event in ticket.collect_events()]
    for hours, (role, action) in enumerate(STEPS, start=1):
        ctx = Context(f"{role.value}-1", role, START + dt.timedelta(hours=hours), customer_id="cust-1")
        ticket.act(ctx, rules, action, reason="a reason")
        facts += [fact for event in ticket.collect_events() if (fact := to_fact(event, ticket))]
        track = TicketTrack(track.policy)
        for fact in facts:
            track.apply(fact)
        assert delivery(facts)[0] == ticket.delivered_at == track.delivered_at, action
    assert ticket.status is Status.DONE and ticket.delivered_at == START + dt.timedelta(hours=4)
