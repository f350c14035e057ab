"""The ticket rules of each SLA policy, answering the domain's ``TicketRules`` port.

Policies are data (``helpdesk_shared.policies``): the published versions, as intake's
``PolicyBook`` follows them (the presets and ``HELPDESK_POLICY_DIR`` until they arrive).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from helpdesk_shared import policies
from helpdesk_shared.policies import Policy
from helpdesk_shared.policies import offering
from helpdesk_shared.vocabulary import Category, Channel, Priority, Status

from helpdesk_intake.domain.rules import UnknownPolicy


class PolicyTicketRules:
    """One policy's answers to the questions a ticket asks."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    def registers_channel(self, channel: Channel) -> bool:
        return policies.channel_registers(self._policy, channel)

    def may_send_to_development(self, category: Category | None) -> bool:
        return policies.may_send_to_development(self._policy, category)

    def reply_target(self, current: Status, previous: Status | None) -> Status:
        return policies.customer_reply_status(self._policy, current, previous)

    def return_target(self, current: Status) -> Status:
        return policies.customer_reply_status(self._policy, current, None)

    def reopen_until(self, category: Category | None, delivered_at: dt.datetime) -> dt.datetime | None:
        return policies.reopen_until(self._policy, category, delivered_at)

    def billed_minutes(self, minutes: int, billable: bool) -> int:
        return policies.billed_minutes(self._policy, minutes, billable)

    def accept_requires(self) -> tuple[str, ...]:
        return tuple(self._policy.accept_requires)

    def defers_for(self, reason: str) -> bool:
        return policies.deferral_reason(self._policy, reason) is not None

    def may_defer(self) -> bool:
        return bool(self._policy.deferral_reasons)

    def offers_priority(self, priority: Priority) -> bool:
        return not self._policy.priorities or priority in self._policy.priorities

    def knows_service(self, code: str) -> bool:
        return offering.find_service(self._policy.services, code) is not None

    def paid_extra(self, code: str | None) -> bool:
        entry = offering.find_service(self._policy.services, code) if code else None
        return entry is not None and entry.paid_extra

    def detail_problems(self, category: Category | None, channel: Channel | None,
                        details: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
        return offering.detail_problems(offering.form_for(self._policy.forms, category, channel), details)

    def paid_support_only(self) -> bool:
        return self._policy.billing.paid_support_only

    @property
    def policy(self) -> Policy:
        """The policy itself, for what intake serves from it (the catalogue, the budget's month)."""
        return self._policy


class PolicyRules:
    """Looks up the rules of a policy by its id."""

    def __init__(self, by_id: dict[str, Policy]) -> None:
        self._policies = by_id  # a PolicyBook: changed in place when a version is published

    @classmethod
    def load(cls, policy_dir: str | None) -> PolicyRules:
        return cls(policies.load_policies(Path(policy_dir) if policy_dir else None))

    def names(self) -> set[str]:
        return set(self._policies)

    def for_policy(self, policy_id: str) -> PolicyTicketRules:
        try:
            return PolicyTicketRules(self._policies[policy_id])
        except KeyError:
            raise UnknownPolicy(policy_id) from None
