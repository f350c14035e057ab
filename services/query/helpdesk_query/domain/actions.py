"""``allowed_actions`` (CONTRACT §4): what the caller may do to a ticket now, from the one workflow table.

``helpdesk_shared.workflow.refusal`` decides; this module only gathers what it looks at:
the policy's answers (MED-9, KS-8) and, for a done ticket, when it was done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from helpdesk_shared import events as ev
from helpdesk_shared import policies
from helpdesk_shared.policies import Policy
from helpdesk_shared.vocabulary import Category, Role, Status
from helpdesk_shared.workflow import TicketState, allowed_actions


class PolicyWorkflow:
    """A policy's answers to the workflow's questions; no policy: no restriction, no reopening."""

    def __init__(self, policy: Policy | None) -> None:
        self._policy = policy

    def may_send_to_development(self, category: Category | None) -> bool:
        return self._policy is None or policies.may_send_to_development(self._policy, category)

    def reopen_until(self, category: Category | None, done_at: dt.datetime) -> dt.datetime | None:
        return None if self._policy is None else policies.reopen_until(self._policy, category, done_at)


def done_at(facts: Iterable[ev.TicketFact]) -> dt.datetime | None:
    """When the ticket last became done (the start of its reopen window, KS-8)."""
    found = None
    for fact in facts:
        if isinstance(fact, ev.StatusChange) and fact.status is Status.DONE:
            found = fact.occurred_at
    return found


def actions_for(role: Role, status: Status, category: Category | None, policy: Policy | None,
                now: dt.datetime, done: dt.datetime | None = None) -> list[str]:
    """The workflow actions ``role`` may give a ticket in ``status`` under ``policy`` at ``now``."""
    return allowed_actions(role, TicketState(status, category, done), PolicyWorkflow(policy), now)
