"""The checks and small rules the Ticket's commands apply before they trigger events.

Pure functions of their arguments, kept beside the aggregate (``ticket.py``) so that the aggregate
module holds its state, its events and its commands: what a new ticket must carry (MED-11, MED-2,
MED-3, TEL-5, END-2), a deferral's reason (TEL-9), what a logged time counts against (MED-12),
and the executor's public steps a close lists (END-4).
"""

from __future__ import annotations

from typing import Any

from helpdesk_shared.vocabulary import Category, Channel, Priority, Role
from helpdesk_shared.workflow import Action

from helpdesk_intake.domain import offer
from helpdesk_intake.domain.base import Context, HelpdeskEvent, InvalidInput, NotPermitted
from helpdesk_intake.domain.budget import MonthBudget
from helpdesk_intake.domain.rules import TicketRules

STAFF_PEOPLE = frozenset({Role.AGENT.value, Role.ADMIN.value})  # people, not the SLA service
MAX_STEPS, NOTE_CHARS = 50, 500  # enough for any "what was done so far" list

EVENT_OF = {  # the workflow action → the name of the Ticket's event that records it
    Action.ACCEPT: "Accepted",
    Action.REQUEST_CLARIFICATION: "ClarificationRequested",
    Action.SEND_TO_DEVELOPMENT: "SentToDevelopment",
    Action.MARK_READY_TO_INSTALL: "MarkedReadyToInstall",
    Action.PROPOSE_SOLUTION: "SolutionProposed",
    Action.ACCEPT_SOLUTION: "SolutionAccepted",
    Action.REJECT: "Rejected",
    Action.DEFER: "Deferred",
    Action.RESUME: "Resumed",
}


def checked_opening(rules: TicketRules, lenient: bool, fields: dict[str, Any]) -> dict[str, Any]:
    """A new ticket's fields once its policy accepts them (priority defaulted, details checked).

    ``lenient`` (mail): missing details do not refuse it; they are recorded as missing.
    """
    channel = Channel(fields["channel"])
    offer.check_channel(rules, channel)
    for name in ("subject", "description"):
        if not str(fields.get(name) or "").strip():
            raise InvalidInput(f"{name} is required (MED-11)", field=name)
    fields.setdefault("priority", Priority.NORMAL.value)
    offer.check_priority(rules, Priority(fields["priority"]))
    offer.check_service(rules, fields.get("service"))
    category = Category(fields["category"]) if fields.get("category") else None
    fields["details"], fields["missing_details"] = offer.checked_details(
        rules, category, channel, fields.get("details"), lenient)
    return fields


def with_step(steps: list[dict[str, Any]], event: HelpdeskEvent, note: str | None) -> list[dict[str, Any]]:
    """The executor's public steps once ``event`` is added, if staff caused it (END-4), newest last."""
    if event.actor_role not in STAFF_PEOPLE:
        return steps
    what = snake(type(event).__name__)
    step = {"at": event.timestamp.isoformat(), "what": what, "note": note[:NOTE_CHARS] if note else None}
    return [*steps, step][-MAX_STEPS:]


def snake(name: str) -> str:
    """``ClarificationRequested`` → ``clarification_requested`` (the public event's last word)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def deferral_reason(rules: TicketRules, reason: str | None) -> str:
    """TEL-9: a ticket is deferred only for a reason of its policy's list (its code)."""
    code = (reason or "").strip()
    if not code:
        raise InvalidInput("a reason is required to defer (TEL-9)", field="reason")
    if not rules.defers_for(code):
        raise InvalidInput(f"{code!r} is not a deferral reason of this ticket's policy (TEL-9)", field="reason")
    return code


def budget_fields(budget: MonthBudget | None, paid_extra: bool) -> dict[str, Any]:
    """What a logged time records about the month's norm-hours it consumes (MED-12), if any."""
    if budget is None or not budget.budgeted or paid_extra:
        return {}
    return {"budget_month": budget.month, "budget_limit": budget.budget_minutes}


def require_staff(ctx: Context) -> None:
    """Refuse a command that only staff may give."""
    if not ctx.is_staff:
        raise NotPermitted(f"a {ctx.role.value} may not do this")
