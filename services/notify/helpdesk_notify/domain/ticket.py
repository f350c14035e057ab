"""The little notify needs to know about a ticket, folded from its public events.

Who the two sides are (the requester, or the customer when nobody was named; the
responsible agent, or the owner, and the recipient department), what the ticket is
called, the mail that opened it (its replies thread under it, TEL-6), the question
the customer was last asked (the END-4 reminder repeats it) and the public steps taken
so far, which an automatic close lists (END-4).
"""

from __future__ import annotations

import datetime as dt

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status, Visibility

from helpdesk_notify.domain.threading import normalized, root_message_id

MAX_STEPS = 50  # enough for any "what was done so far" list; older steps fall off
NOTE_CHARS = 500


class UnknownTicket(Exception):
    """An event arrived for a ticket whose opening was never seen."""


class Step(msgspec.Struct, frozen=True):
    """One public thing done on a ticket: an action (with its comment) or a staff comment."""

    at: dt.datetime
    what: str  # the CloudEvent type's last word: accepted, comment_added, …
    note: str | None = None


class TicketView(msgspec.Struct, frozen=True, kw_only=True):
    ticket_id: str
    number: str
    customer_id: str
    subject: str
    channel: Channel
    status: Status
    requester_id: str | None = None
    responsible_id: str | None = None
    owner_id: str | None = None
    department: str | None = None
    category: Category | None = None
    priority: Priority = Priority.NORMAL
    policy: str | None = None
    root_message_id: str = ""
    origin_message_id: str | None = None  # the customer's mail that opened the ticket
    question: str | None = None  # the last clarification asked (END-4 reminders repeat it)
    question_at: dt.datetime | None = None
    steps: tuple[Step, ...] = ()

    @property
    def customer_side(self) -> str:
        """Who hears what concerns the customer: the requester, else the customer's own address."""
        return self.requester_id or self.customer_id

    @property
    def staff_side(self) -> str | None:
        """Who hears what concerns the executor: the responsible agent, else the owner."""
        return self.responsible_id or self.owner_id


def evolve(view: TicketView | None, fact: ev.TicketFact) -> TicketView:
    """The view after ``fact``; raises ``UnknownTicket`` for a ticket never opened."""
    if isinstance(fact, ev.TicketOpened):
        return TicketView(
            ticket_id=fact.ticket_id, number=fact.number, customer_id=fact.customer_id,
            subject=fact.subject, channel=fact.channel, status=fact.status,
            requester_id=fact.requester_id, category=fact.category, priority=fact.priority,
            policy=fact.policy, root_message_id=root_message_id(fact.ticket_id),
            origin_message_id=normalized(fact.message_id))
    if view is None:
        raise UnknownTicket(fact.ticket_id)
    changes: dict[str, object] = {"status": fact.status}
    match fact:
        case ev.AssigneesChanged():
            changes.update(responsible_id=fact.responsible_id, owner_id=fact.owner_id,
                           department=fact.department)
        case ev.CategoryChanged():
            changes["category"] = fact.category
        case ev.PriorityChanged():
            changes["priority"] = fact.priority
        case ev.ClarificationRequested():
            changes.update(steps=_step(view, fact, fact.comment or fact.reason),
                           question=fact.comment or fact.reason, question_at=fact.occurred_at)
        case ev.StatusChange():
            changes["steps"] = _step(view, fact, fact.comment or fact.reason)
        case ev.ThirdPartyAwaited():
            changes["steps"] = _step(view, fact, fact.party)
        case ev.CommentAdded(visibility=Visibility.PUBLIC) if fact.actor.role is not Role.CUSTOMER:
            changes["steps"] = _step(view, fact, fact.body)
    return msgspec.structs.replace(view, **changes)


def _step(view: TicketView, fact: ev.TicketFact, note: str | None) -> tuple[Step, ...]:
    what = ev.event_type(fact).rsplit(".", 1)[-1]
    step = Step(fact.occurred_at, what, note[:NOTE_CHARS] if note else None)
    return (*view.steps, step)[-MAX_STEPS:]
