"""``allowed_actions`` is exactly what intake accepts: every status × role × policy case.

query lists the actions with ``helpdesk_shared.workflow``; intake's Ticket aggregate is
driven with each action in turn, and the set it accepts must be the set query offers.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from helpdesk_intake.adapters.policies import PolicyRules
from helpdesk_intake.domain.base import Context, DomainError
from helpdesk_intake.domain.rules import PermissiveRules, TicketRules
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_shared.policies import load_policies
from helpdesk_shared.vocabulary import Category, Role, Status
from helpdesk_shared.workflow import Action

from helpdesk_query.domain.actions import actions_for

DONE_AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
AGENT = Context("agent-1", Role.AGENT, DONE_AT)
CUSTOMER = Context("user-1", Role.CUSTOMER, DONE_AT, customer_id="cust-1")
PRESETS = load_policies(None)
INTAKE_RULES = PolicyRules(PRESETS)

PATHS: dict[Status, list[tuple[Context, str]]] = {
    Status.NEW: [],
    Status.IN_PROGRESS: [(AGENT, "accept")],
    Status.AWAITING_CUSTOMER: [(AGENT, "request_clarification")],
    Status.IN_DEVELOPMENT: [(AGENT, "accept"), (AGENT, "send_to_development")],
    Status.READY_TO_INSTALL: [(AGENT, "accept"), (AGENT, "send_to_development"), (AGENT, "mark_ready_to_install")],
    Status.CUSTOMER_TESTING: [(AGENT, "accept"), (AGENT, "propose_solution")],
    Status.DONE: [(AGENT, "accept"), (AGENT, "propose_solution"), (CUSTOMER, "accept_solution")],
    Status.REJECTED: [(AGENT, "reject")],
    Status.DEFERRED: [(AGENT, "defer")],
}

# (policy or None for none, category, instant of the read/command)
SCENARIOS = [
    (None, "improvement", DONE_AT + dt.timedelta(hours=1)),
    ("medis", "error", DONE_AT + dt.timedelta(hours=1)),  # MED-9: errors do not go to development
    ("medis", "improvement", DONE_AT + dt.timedelta(hours=1)),
    ("keysystems", "error", DONE_AT + dt.timedelta(hours=1)),  # KS-8: inside the reopen window
    ("keysystems", "error", DONE_AT + dt.timedelta(days=60)),  # KS-8: long past it
    ("imc", "error", DONE_AT + dt.timedelta(hours=1)),  # IMC-5: no accept before primary analysis
]


def _rules(policy: str | None) -> TicketRules:
    return INTAKE_RULES.for_policy(policy) if policy else PermissiveRules()


def _ticket_in(status: Status, category: str) -> Ticket:
    rules = PermissiveRules()  # the path there: any policy would allow these steps
    ticket = Ticket.open(AGENT, rules, id=uuid.uuid4(), number="HD-1", customer_id="cust-1", requester_id="user-1",
                         subject="Printer", description="It is on fire", channel="portal", category=category,
                         priority="normal", service=None, policy=None)
    for actor, action in PATHS[status]:
        ticket.act(actor, rules, action, reason="test")
    assert ticket.status is status
    return ticket


def _accepted_by_intake(status: Status, role: Role, policy: str | None, category: str, now: dt.datetime) -> set[str]:
    accepted = set()
    for action in Action:
        ticket = _ticket_in(status, category)
        try:
            ticket.act(Context("someone", role, now, customer_id="cust-1"), _rules(policy), action.value,
                       reason="a reason")
        except DomainError:
            continue
        accepted.add(action.value)
    return accepted


CASES = [(s, r, sc) for s in Status for r in Role for sc in SCENARIOS]


@pytest.mark.parametrize(("status", "role", "scenario"), CASES,
                         ids=[f"{s.value}-{r.value}-{sc[0]}-{sc[1]}-{sc[2]:%d%b}" for s, r, sc in CASES])
def test_allowed_actions_equal_what_intake_accepts(status: Status, role: Role,
                                                    scenario: tuple[str | None, str, dt.datetime]) -> None:
    policy, category, now = scenario
    delivered = DONE_AT if status in (Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL, Status.DONE) else None
    offered = actions_for(role, status, Category(category), PRESETS.get(policy or ""), now,
                          delivered, DONE_AT if status is Status.DONE else None, _ticket_in(status, category))
    assert set(offered) == _accepted_by_intake(status, role, policy, category, now)


def test_allowed_actions_follow_med9_and_ks8() -> None:
    medis, ks = PRESETS["medis"], PRESETS["keysystems"]
    assert "send_to_development" not in actions_for(Role.AGENT, Status.IN_PROGRESS, Category.ERROR, medis, DONE_AT)
    assert "send_to_development" in actions_for(Role.AGENT, Status.IN_PROGRESS, Category.IMPROVEMENT, medis, DONE_AT)
    soon, late = DONE_AT + dt.timedelta(hours=1), DONE_AT + dt.timedelta(days=60)
    assert actions_for(Role.CUSTOMER, Status.DONE, Category.ERROR, ks, soon, DONE_AT, DONE_AT) == ["return_to_work"]
    assert actions_for(Role.CUSTOMER, Status.DONE, Category.ERROR, ks, late, DONE_AT, DONE_AT) == []
    # KS-8 from the delivery: still in testing after the window, the customer may only accept
    testing = actions_for(Role.CUSTOMER, Status.CUSTOMER_TESTING, Category.ERROR, ks, late, DONE_AT)
    assert "return_to_work" not in testing and "accept_solution" in testing
    assert actions_for(Role.AUDITOR, Status.NEW, None, None, DONE_AT) == []
