"""Norm-hours: the contract's monthly hours as a budget tickets are accepted within (MED-12, END-7).

The application hands the ticket a ``MonthBudget``: the month of the acceptance in the
policy's time zone, the budget in minutes (None: no budget) and what the month has
consumed so far, measured as the policy says (planned or spent minutes).
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk_intake.domain.base import DomainError, InvalidInput


class BudgetExceeded(DomainError):
    """Accepting the ticket would take the month past the contract's norm-hours (MED-12)."""


class PaidSupportOnly(InvalidInput):
    """Billable time is logged only for customers with a paid-support contract (END-7)."""


@dataclass(frozen=True)
class MonthBudget:
    """One customer's norm-hours in one month, as far as consumed."""

    month: str  # YYYY-MM in the policy's time zone
    budget_minutes: int | None  # None: the contract has no budget
    used_minutes: int = 0  # consumed so far, by the policy's measure

    @property
    def budgeted(self) -> bool:
        return self.budget_minutes is not None


def minutes_counted(budget: MonthBudget | None, planned_minutes: int | None, paid_extra: bool) -> int:
    """The planned minutes an acceptance counts against the month; raises if it may not be accepted.

    Under a budget a ticket needs planned minutes; a service paid extra counts nothing (MED-12).
    """
    if budget is None or not budget.budgeted:
        return 0
    if planned_minutes is None:
        raise InvalidInput("under a budgeted contract a ticket needs planned minutes to be accepted (MED-12)",
                           field="planned_minutes")
    if paid_extra:
        return 0
    assert budget.budget_minutes is not None
    if budget.used_minutes + planned_minutes > budget.budget_minutes:
        left = max(0, budget.budget_minutes - budget.used_minutes)
        raise BudgetExceeded(f"{planned_minutes} planned minutes exceed the {left} minutes left of"
                             f" {budget.month}'s norm-hours (MED-12); a paid-extra service is outside them")
    return planned_minutes


def billable_allowed(requested: bool | None, paid_support: bool, paid_support_only: bool) -> bool:
    """Whether a time entry is billable: by default when the customer may be billed (END-7)."""
    may_bill = paid_support or not paid_support_only
    if requested and not may_bill:
        raise PaidSupportOnly("billable time is logged only for customers with paid support (END-7)",
                              field="billable")
    return may_bill if requested is None else requested
