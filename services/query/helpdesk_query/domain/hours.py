"""Norm-hours as readers see them (MED-12): what each fact adds to a customer's month.

Intake decides what counts (an acceptance's planned minutes, a time entry's minutes,
never a paid-extra service's) and names the month and its budget on the fact; the
read model only adds them up, so the report and intake's own tally agree.
"""

from __future__ import annotations

from helpdesk_shared import events as ev

from helpdesk_query.domain.ticket import TicketView

# (customer_id, month, policy, budget_minutes, planned_minutes, used_minutes)
HoursDelta = tuple[str, str, str | None, int | None, int, int]


def hours_deltas(ticket: TicketView, fact: ev.TicketFact) -> list[HoursDelta]:
    """The norm-hours ``fact`` consumed, as a row to add to its customer's month."""
    match fact:
        case ev.Accepted(budget_month=str(month)):
            return [(fact.customer_id, month, ticket.policy, fact.budget_limit, fact.budget_minutes, 0)]
        case ev.TimeLogged(budget_month=str(month)):
            return [(fact.customer_id, month, ticket.policy, fact.budget_limit, 0, fact.minutes)]
    return []


def report_row(row: dict[str, object], measure: str) -> dict[str, object]:
    """One month of the hours report: budget, planned, used and what remains by the policy's measure."""
    budget, planned, used = row["budget_minutes"], int(row["planned_minutes"]), int(row["used_minutes"])  # type: ignore[call-overload]
    consumed = used if measure == "spent" else planned
    return {"customer_id": row["customer_id"], "month": row["month"], "measure": measure,
            "budget_minutes": budget, "planned_minutes": planned, "used_minutes": used,
            "remaining_minutes": None if budget is None else int(budget) - consumed,  # type: ignore[call-overload]
            "budget_hours": None if budget is None else round(int(budget) / 60, 2),  # type: ignore[call-overload]
            "planned_hours": round(planned / 60, 2), "used_hours": round(used / 60, 2)}
