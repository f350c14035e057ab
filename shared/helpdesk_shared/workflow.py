"""The ticket workflow: which action may move a ticket from which status, and who may give it.

This is CONTRACT.md §3's table as data, the one copy: intake's ``Ticket.act`` obeys
``refusal`` and query's ``allowed_actions`` lists what ``refusal`` lets through. Where
the target depends on the ticket's policy (``return_to_work``), the target is ``None``
and the policy's rules decide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from collections.abc import Iterable
from typing import Any, Protocol

from helpdesk_shared.vocabulary import OPEN_STATUSES, Category, Role, Status

STAFF_ROLES = frozenset({Role.ADMIN, Role.AGENT, Role.SERVICE})


class Action(StrEnum):
    ACCEPT = "accept"
    REQUEST_CLARIFICATION = "request_clarification"
    SEND_TO_DEVELOPMENT = "send_to_development"
    MARK_READY_TO_INSTALL = "mark_ready_to_install"
    PROPOSE_SOLUTION = "propose_solution"
    ACCEPT_SOLUTION = "accept_solution"
    RETURN_TO_WORK = "return_to_work"
    REJECT = "reject"
    DEFER = "defer"
    RESUME = "resume"


@dataclass(frozen=True)
class Move:
    """One row of the workflow table."""

    roles: frozenset[Role]
    sources: frozenset[Status]
    target: Status | None


def _move(roles: frozenset[Role] | set[Role], sources: set[Status], target: Status | None) -> Move:
    return Move(frozenset(roles), frozenset(sources), target)


S = Status
CUSTOMER_SIDE = {Role.CUSTOMER, Role.ADMIN, Role.SERVICE}

WORKFLOW: dict[Action, Move] = {
    Action.ACCEPT: _move(STAFF_ROLES, {S.NEW}, S.IN_PROGRESS),
    Action.REQUEST_CLARIFICATION: _move(
        STAFF_ROLES, {S.NEW, S.IN_PROGRESS, S.IN_DEVELOPMENT}, S.AWAITING_CUSTOMER
    ),
    Action.SEND_TO_DEVELOPMENT: _move(STAFF_ROLES, {S.IN_PROGRESS}, S.IN_DEVELOPMENT),
    Action.MARK_READY_TO_INSTALL: _move(STAFF_ROLES, {S.IN_DEVELOPMENT}, S.READY_TO_INSTALL),
    Action.PROPOSE_SOLUTION: _move(STAFF_ROLES, {S.IN_PROGRESS, S.IN_DEVELOPMENT}, S.CUSTOMER_TESTING),
    Action.ACCEPT_SOLUTION: _move(CUSTOMER_SIDE, {S.CUSTOMER_TESTING, S.READY_TO_INSTALL}, S.DONE),
    Action.RETURN_TO_WORK: _move(
        {Role.CUSTOMER, Role.ADMIN}, {S.CUSTOMER_TESTING, S.READY_TO_INSTALL, S.DONE}, None
    ),
    Action.REJECT: _move(STAFF_ROLES | {Role.CUSTOMER}, set(OPEN_STATUSES), S.REJECTED),
    Action.DEFER: _move(STAFF_ROLES, {S.NEW, S.IN_PROGRESS, S.IN_DEVELOPMENT}, S.DEFERRED),  # TEL-9
    Action.RESUME: _move(STAFF_ROLES, {S.DEFERRED}, S.IN_PROGRESS),
}


class WorkflowRules(Protocol):
    """The policy's answers the workflow needs (intake's ``TicketRules`` is one)."""

    def may_send_to_development(self, category: Category | None) -> bool:
        """MED-9: only some categories (customizations) go to the developers."""
        ...

    def may_defer(self) -> bool:
        """TEL-9: whether the policy defers tickets at all (it lists deferral reasons)."""
        ...

    def reopen_until(self, category: Category | None, delivered_at: dt.datetime) -> dt.datetime | None:
        """The end of the window in which a solution delivered then may return to work (KS-8); None: none."""
        ...


class Refused(StrEnum):
    """Why the workflow refuses an action (intake raises its matching error)."""

    NOT_PERMITTED = "not_permitted"
    INVALID_TRANSITION = "invalid_transition"
    REOPEN_WINDOW_CLOSED = "reopen_window_closed"


@dataclass(frozen=True)
class TicketState:
    """What the workflow looks at in a ticket."""

    status: Status
    category: Category | None = None
    done_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None  # when the solution was last delivered (KS-8's window starts)
    unanalysed: bool = False  # primary analysis still lacks what its policy requires (IMC-5): no accept yet


def refusal(action: str, role: Role, ticket: TicketState, rules: WorkflowRules,
            now: dt.datetime) -> tuple[Refused, str] | None:
    """Why ``role`` may not give ``action`` to ``ticket`` at ``now`` (None: it may)."""
    try:
        move = WORKFLOW[Action(action)]
    except ValueError:
        return Refused.INVALID_TRANSITION, f"unknown action {action!r}"
    if role not in move.roles:
        return Refused.NOT_PERMITTED, f"a {role.value} may not {action}"
    if ticket.status not in move.sources:
        return Refused.INVALID_TRANSITION, f"cannot {action} a ticket that is {ticket.status.value}"
    if action == Action.SEND_TO_DEVELOPMENT and not rules.may_send_to_development(ticket.category):
        category = ticket.category.value if ticket.category else "uncategorized"
        return Refused.INVALID_TRANSITION, f"{category} tickets do not go to development under this policy (MED-9)"
    if action == Action.DEFER and not rules.may_defer():
        return Refused.INVALID_TRANSITION, "this ticket's policy defers nothing: it lists no deferral reasons (TEL-9)"
    if action == Action.RETURN_TO_WORK and reopen_window_over(ticket, rules, now):
        return Refused.REOPEN_WINDOW_CLOSED, "the reopen window has closed; file a new ticket (KS-8)"
    return None


DELIVERED = frozenset({Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL})  # a solution reached the customer


def delivered_after(delivered_at: dt.datetime | None, before: Status | None, after: Status,
                    at: dt.datetime) -> dt.datetime | None:
    """KS-8's one fold: when the solution was last delivered once a ticket moved from ``before`` to
    ``after`` at ``at``. Reaching the customer starts the window, done keeps it, any other status ends it
    (intake's aggregate, query's ``allowed_actions`` and the SLA's reopen window all fold with this)."""
    if after in DELIVERED and before not in DELIVERED:
        return at
    if after is not Status.DONE and after not in DELIVERED:
        return None
    return delivered_at


def waiting_on_third_party(third_party: Any, status: Status) -> Any:
    """END-5: whom a ticket in ``status`` still waits on; closing it (done, rejected) ends the wait,
    so a reopened ticket waits on nobody until the executor says so again."""
    return third_party if status.is_open else None


def reopen_window_over(ticket: TicketState, rules: WorkflowRules, now: dt.datetime) -> bool:
    """KS-8: the window counts from the solution's delivery, in testing or done; a done ticket
    under a policy without a window never returns, one in testing always may."""
    delivered = ticket.delivered_at or ticket.done_at
    until = rules.reopen_until(ticket.category, delivered) if delivered else None
    if until is None:
        return ticket.status is Status.DONE
    return now > until


def analysis_missing(required: Iterable[str], ticket: Any) -> list[str]:
    """The requirements of primary analysis (IMC-5: category, priority, responsible, plan) that
    ``ticket`` (any object with those attributes) does not meet yet; ``accept`` needs none missing."""
    return [r for r in required if not _has(ticket, r)]


def _has(ticket: Any, requirement: str) -> bool:
    if requirement == "responsible":
        return getattr(ticket, "responsible_id", None) is not None
    if requirement == "plan":
        return getattr(ticket, "planned_date", None) is not None or getattr(ticket, "release", None) is not None
    return getattr(ticket, requirement, None) is not None


def allowed_actions(role: Role, ticket: TicketState, rules: WorkflowRules, now: dt.datetime) -> list[str]:
    """The actions ``role`` may give ``ticket`` now, in the table's order (CONTRACT §4); ``accept``
    (and ``resume``, which accepts a ticket deferred while new) only once primary analysis is
    complete (intake answers 422 naming what it lacks before then)."""
    return [action.value for action in WORKFLOW if refusal(action, role, ticket, rules, now) is None
            and not (action in _TAKES_INTO_WORK and ticket.unanalysed)]


# the actions that may take a ticket into work (a resume does for one deferred while new)
_TAKES_INTO_WORK = frozenset({Action.ACCEPT, Action.RESUME})
