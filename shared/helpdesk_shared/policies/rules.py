"""Policy answers intake needs when it takes a command: routing, limits, billing, reopening."""

from __future__ import annotations

import datetime as dt
import math

from helpdesk_shared.policies.model import Policy, calendar_of
from helpdesk_shared.policies.offering import DeferralReason
from helpdesk_shared.vocabulary import Category, Channel, Status


def billed_minutes(policy: Policy, minutes: int, billable: bool = True) -> int:
    """Minutes to bill for a time entry: rounded up to the policy's step, at least its minimum (END-6)."""
    if not billable or minutes <= 0:
        return 0
    step = policy.billing.step_minutes
    return max(policy.billing.minimum_minutes, math.ceil(minutes / step) * step)


def customer_reply_status(policy: Policy, from_status: Status, previous_status: Status | None) -> Status:
    """Where a customer's reply sends a ticket from ``from_status`` (MED-6, MED-7, KS-4).

    ``previous_status`` is the status the ticket had before it came to await the customer.
    """
    if from_status is Status.AWAITING_CUSTOMER:
        if policy.clarification_returns_to == "new" or previous_status is None:
            return Status.NEW
        return previous_status
    if from_status in (Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL):
        return Status(policy.return_to_work_status)
    return from_status


def may_send_to_development(policy: Policy, category: Category | None) -> bool:
    """Whether a ticket of ``category`` may go to development (MED-9: customization only)."""
    allowed = policy.development_categories
    return allowed is None or category in allowed


def channel_registers(policy: Policy, channel: Channel) -> bool:
    """Whether a request arriving through ``channel`` is a registered request (TEL-5)."""
    return not policy.channels or channel in policy.channels


def reopen_until(policy: Policy, category: Category | None, delivered_at: dt.datetime) -> dt.datetime | None:
    """The end of the window in which a solution delivered at ``delivered_at`` may return to work (KS-8)."""
    window = policy.reopen.for_category(category)
    return window.after(calendar_of(policy), delivered_at) if window else None


def reopen_window_open(policy: Policy, category: Category | None, delivered_at: dt.datetime,
                       now: dt.datetime) -> bool:
    """Whether a solution delivered at ``delivered_at`` may still be returned to work at ``now`` (KS-8)."""
    until = reopen_until(policy, category, delivered_at)
    return until is not None and now <= until


def budget_allows(policy: Policy, monthly_hours: float | None, used_minutes: int, new_minutes: int) -> bool:
    """Whether accepting ``new_minutes`` more keeps the month within the norm-hours (MED-12)."""
    hours = monthly_hours if monthly_hours is not None else policy.budget.default_monthly_hours
    if not policy.budget.enforced or hours is None:
        return True
    return used_minutes + new_minutes <= hours * 60


def deferral_reason(policy: Policy, code: str) -> DeferralReason | None:
    """The policy's deferral reason with this code (TEL-9); None: the policy offers no such reason."""
    return next((reason for reason in policy.deferral_reasons if reason.code == code), None)
