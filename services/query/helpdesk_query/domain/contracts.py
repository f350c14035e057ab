"""Customers' contracts as the hours report needs them (MED-12): whose month has a budget though
nothing was used in it yet, so the report shows 0 used of that budget instead of no row.

The terms are folded from the directory facts intake publishes; a month takes the terms in
force at its end (the last change made in it or before, by the policy's time zone), and the
budget is the contract's norm-hours, else the policy's default, where the policy enforces one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from zoneinfo import ZoneInfo

from helpdesk_shared import directory_events as directory
from helpdesk_shared.policies import Policy

DEFAULT_ZONE = "Europe/Moscow"


@dataclasses.dataclass(frozen=True)
class Terms:
    """A customer's contract from ``since`` on: its policy, its monthly norm-hours, whether active."""

    since: dt.datetime
    policy: str
    monthly_hours: float | None
    active: bool


def fold(histories: dict[str, list[Terms]], fact: object) -> None:
    """Add what a directory fact changed to its customer's history (other facts change nothing)."""
    match fact:
        case directory.CustomerRegistered():
            histories[fact.customer_id] = [Terms(fact.occurred_at, fact.policy, fact.monthly_hours, fact.active)]
        case directory.CustomerPolicyChanged() if histories.get(fact.customer_id):
            last = histories[fact.customer_id][-1]
            histories[fact.customer_id].append(dataclasses.replace(last, since=fact.occurred_at, policy=fact.policy))
        case directory.CustomerContractChanged() if histories.get(fact.customer_id):
            last = histories[fact.customer_id][-1]
            histories[fact.customer_id].append(dataclasses.replace(
                last, since=fact.occurred_at, monthly_hours=fact.monthly_hours, active=fact.active))


def terms_in(history: Sequence[Terms], month: str, policies: Mapping[str, Policy]) -> Terms | None:
    """The terms in force at the end of ``month`` (YYYY-MM); None for a customer registered after it."""
    found = None
    for terms in history:
        policy = policies.get(terms.policy)
        zone = ZoneInfo(policy.calendar.timezone if policy else DEFAULT_ZONE)
        if terms.since.astimezone(zone).strftime("%Y-%m") <= month:
            found = terms
    return found


def budget_minutes(terms: Terms, policies: Mapping[str, Policy]) -> int | None:
    """The month's budget under these terms, as intake counts it; None without norm-hours."""
    policy = policies.get(terms.policy)
    if policy is None or not policy.budget.enforced:
        return None
    hours = terms.monthly_hours if terms.monthly_hours is not None else policy.budget.default_monthly_hours
    return None if hours is None else round(hours * 60)


def unused_months(histories: Mapping[str, Sequence[Terms]], month: str, policies: Mapping[str, Policy],
                  present: Collection[str], only: str | None = None) -> list[dict[str, object]]:
    """Rows with nothing planned or used for the customers (``only``: that one) with a budget in ``month``
    and no row in ``present``; an inactive contract has no budget to show."""
    rows: list[dict[str, object]] = []
    for customer_id in sorted(histories if only is None else [only]):
        terms = terms_in(histories.get(customer_id, ()), month, policies)
        if customer_id in present or terms is None or not terms.active:
            continue
        if (budget := budget_minutes(terms, policies)) is not None:
            rows.append({"customer_id": customer_id, "month": month, "policy": terms.policy,
                         "budget_minutes": budget, "planned_minutes": 0, "used_minutes": 0})
    return rows
