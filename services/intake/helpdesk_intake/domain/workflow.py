"""The ticket workflow: which action may move a ticket from which status, and who may give it.

This is CONTRACT.md §3's table as data. Where the target depends on the ticket's
policy (``return_to_work``), the target is ``None`` and the rules decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from helpdesk_shared.vocabulary import OPEN_STATUSES, Role, Status

from helpdesk_intake.domain.base import STAFF_ROLES


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
