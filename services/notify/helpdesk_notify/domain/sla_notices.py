"""SLA facts into mail: deadline warnings and breaches for the staff, weekly reminders for the customer.

- ``at_risk`` and ``breached`` (IMC-8: whoever will miss a deadline warns the other side
  in time) go to the ticket's responsible agent, else its owner, else the staff of its
  recipient department (MED-4), else every admin: somebody always hears of a deadline
  nobody holds. A ticket already closed when the fact arrives (the close raced the
  timer) mails nobody. The due time is told in the policy's time zone, the one its
  business calendar counts in.
- ``at_risk`` of a deadline that is the customer's own (``acceptance``, ``customer_reply``)
  goes to the customer instead (IMC-8: the party that will miss a deadline warns the other).
- ``reminder_due`` for the customer while the ticket awaits them (END-4: weekly) goes to
  the requester, repeating the question that was asked.
- ``target_set``, ``paused``, ``resumed``, ``met`` and ``transition_due`` mail nobody: an
  automatic transition's own ticket event (a close, a rejection) is mailed as any other.
"""

from __future__ import annotations

from typing import Any

from helpdesk_shared import sla_events as sla
from helpdesk_shared.vocabulary import Status

from helpdesk_notify.domain.notifications import NoWindows, Notification, Windows, notifications
from helpdesk_notify.domain.recipients import Staff
from helpdesk_notify.domain.ticket import TicketView

WARNINGS = ("at_risk", "breached")  # the SLA facts that may need the staff roster


def decide_sla(event: sla.SlaCloudEvent, view: TicketView, staff: Staff | None = None,
               windows: Windows = NoWindows()) -> list[Notification]:
    """The notifications an SLA fact causes, given the ticket's view when it arrives."""
    fact = event.data  # type: ignore[attr-defined]
    match fact:
        case sla.AtRisk() if view.status.is_open and fact.kind in sla.CUSTOMER_SIDE:
            due = windows.local(fact.policy, fact.due_at).isoformat()
            return notifications(event, view, [(view.customer_side, "sla_at_risk_customer",
                                                {"kind": fact.kind, "due_at": due})])
        case sla.AtRisk() | sla.Breached() if view.status.is_open:
            template = "sla_at_risk" if isinstance(fact, sla.AtRisk) else "sla_breached"
            escalated, holders = _holders(view, staff or Staff())
            extra = _warning(fact, view, windows, escalated)
            return notifications(event, view, [(who, template, extra) for who in holders])
        case sla.ReminderDue(to="customer", status=Status.AWAITING_CUSTOMER) \
                if view.status is Status.AWAITING_CUSTOMER:
            asked = windows.local(fact.policy, view.question_at) if view.question_at else None
            return notifications(event, view, [(view.customer_side, "reminder", {
                "question": view.question, "asked_at": asked.isoformat() if asked else None})])
    return []


def _holders(view: TicketView, staff: Staff) -> tuple[str | None, list[str]]:
    """Who holds the ticket's deadlines; when nobody does, to whom it escalates and why."""
    if view.staff_side:
        return None, [view.staff_side]
    return staff.escalation(view.department)


def _warning(fact: sla.AtRisk | sla.Breached, view: TicketView, windows: Windows,
             escalated: str | None) -> dict[str, Any]:
    """What the mail says: the target, its due time, the ticket, and why this reader got it."""
    return {"kind": fact.kind, "due_at": windows.local(fact.policy, fact.due_at).isoformat(),
            "priority": view.priority.value, "category": view.category.value if view.category else None,
            "department": view.department, "escalated": escalated}
