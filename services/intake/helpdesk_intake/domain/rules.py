"""The policy-dependent rules a ticket consults, as a narrow port.

The ticket never sees a policy file; the application hands it an object with
these answers, built from the ticket's SLA policy (``helpdesk_shared.policies``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from helpdesk_shared.vocabulary import Category, Channel, Priority, Status


class UnknownPolicy(Exception):
    """A customer is on a policy this process has not loaded (its file is not deployed here)."""

    def __init__(self, policy: str) -> None:
        super().__init__(f"policy {policy!r} is not loaded by this intake process; deploy its file"
                         " (HELPDESK_POLICY_DIR) to every intake replica")


class TicketRules(Protocol):
    def registers_channel(self, channel: Channel) -> bool:
        """TEL-5: some regulations register requests from some channels only."""
        ...

    def may_send_to_development(self, category: Category | None) -> bool:
        """MED-9: only some categories (customizations) go to the developers."""
        ...

    def reply_target(self, current: Status, previous: Status | None) -> Status:
        """Where a customer's reply sends a ticket that awaits them (MED-6/MED-7, KS-4)."""
        ...

    def return_target(self, current: Status) -> Status:
        """Where a customer's return of a proposed solution sends the ticket (MED-7: new)."""
        ...

    def reopen_until(self, category: Category | None, delivered_at: dt.datetime) -> dt.datetime | None:
        """The end of the window in which a solution delivered then may return to work (KS-8); None: none."""
        ...

    def billed_minutes(self, minutes: int, billable: bool) -> int:
        """Minutes billed for time spent (END-6 rounding)."""
        ...

    def accept_requires(self) -> tuple[str, ...]:
        """What primary analysis must settle before ``accept`` (IMC-5): category, priority, responsible, plan."""
        ...

    def defers_for(self, reason: str) -> bool:
        """TEL-9: whether ``reason`` is one of the codes the policy lets a ticket be deferred for."""
        ...

    def may_defer(self) -> bool:
        """TEL-9: whether the policy defers at all (it lists deferral reasons)."""
        ...

    def offers_priority(self, priority: Priority) -> bool:
        """MED-2: some regulations offer some priorities only."""
        ...

    def knows_service(self, code: str) -> bool:
        """MED-3, IMC-1: a service is a code of the policy's catalogue."""
        ...

    def paid_extra(self, code: str | None) -> bool:
        """MED-12: the service is outside the contract's paid hours."""
        ...

    def detail_problems(self, category: Category | None, channel: Channel | None,
                        details: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
        """The form's verdict on ``details``: (wrong fields with why, required fields missing)."""
        ...

    def paid_support_only(self) -> bool:
        """END-7: billable time only for customers with a paid-support contract."""
        ...


class PermissiveRules:
    """Rules for a ticket whose policy says nothing: no restriction, replies resume work."""

    def registers_channel(self, channel: Channel) -> bool:
        return True

    def may_send_to_development(self, category: Category | None) -> bool:
        return True

    def reply_target(self, current: Status, previous: Status | None) -> Status:
        return previous or Status.NEW

    def return_target(self, current: Status) -> Status:
        return Status.IN_PROGRESS

    def reopen_until(self, category: Category | None, delivered_at: dt.datetime) -> dt.datetime | None:
        return None

    def billed_minutes(self, minutes: int, billable: bool) -> int:
        return minutes if billable else 0

    def accept_requires(self) -> tuple[str, ...]:
        return ()

    def defers_for(self, reason: str) -> bool:
        return True

    def may_defer(self) -> bool:
        return True

    def offers_priority(self, priority: Priority) -> bool:
        return True

    def knows_service(self, code: str) -> bool:
        return True

    def paid_extra(self, code: str | None) -> bool:
        return False

    def detail_problems(self, category: Category | None, channel: Channel | None,
                        details: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
        return [], []

    def paid_support_only(self) -> bool:
        return False
