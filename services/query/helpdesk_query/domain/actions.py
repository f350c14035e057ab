"""``allowed_actions`` (CONTRACT §4): what the caller may do to a ticket now, from the one workflow table.

``helpdesk_shared.workflow.refusal`` decides; this module only gathers what it looks at:
the policy's answers (MED-9, KS-8) and, for a delivered or done ticket, when its solution was delivered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from helpdesk_shared import events as ev
from helpdesk_shared import policies
from helpdesk_shared.policies import Policy
from helpdesk_shared.vocabulary import Category, Role, Status
from helpdesk_shared.workflow import TicketState, allowed_actions, analysis_missing, delivered_after


class PolicyWorkflow:
    """A policy's answers to the workflow's questions; no policy: no restriction, no reopening."""

    def __init__(self, policy: Policy | None) -> None:
        self._policy = policy

    def may_send_to_development(self, category: Category | None) -> bool:
        return self._policy is None or policies.may_send_to_development(self._policy, category)

    def may_defer(self) -> bool:
        return self._policy is None or bool(self._policy.deferral_reasons)

    def reopen_until(self, category: Category | None, delivered_at: dt.datetime) -> dt.datetime | None:
        return None if self._policy is None else policies.reopen_until(self._policy, category, delivered_at)


def delivery(facts: Iterable[ev.TicketFact]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When the solution was last delivered (KS-8's window starts) and when the ticket became done,
    folded as intake's ticket folds them (``workflow.delivered_after``)."""
    delivered = done = None
    status = None
    for fact in facts:
        if not isinstance(fact, ev.StatusChange):
            continue
        done = fact.occurred_at if fact.status is Status.DONE else None
        delivered = delivered_after(delivered, status, fact.status, fact.occurred_at)
        status = fact.status
    return delivered, done


def actions_for(role: Role, status: Status, category: Category | None, policy: Policy | None,
                now: dt.datetime, delivered: dt.datetime | None = None,
                done: dt.datetime | None = None, ticket: Any = None) -> list[str]:
    """The workflow actions ``role`` may give a ticket in ``status`` under ``policy`` at ``now``;
    ``ticket`` (its triage and plan) says whether primary analysis lets it be accepted (IMC-5)."""
    unanalysed = bool(policy and ticket is not None and analysis_missing(policy.accept_requires, ticket))
    state = TicketState(status, category, done, delivered, unanalysed)
    return allowed_actions(role, state, PolicyWorkflow(policy), now)
