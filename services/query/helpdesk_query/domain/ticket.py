"""The ticket as readers see it, and the one fold that builds it from ticket facts.

The live projection, the blue/green rebuild and the as_of view (CARD-8) all call
``evolve``; so the three can never tell different stories about the same events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status, Visibility
from helpdesk_shared.workflow import waiting_on_third_party


class UnknownTicket(Exception):
    """A fact about a ticket whose opening was never seen: it cannot be folded."""


class TicketReopened(Exception):
    """A second ``opened`` fact for a ticket that already exists."""


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    """A comment, or the comment given with a workflow action (``action`` names it), with its files."""

    id: str
    author_id: str
    author_role: Role
    body: str
    visibility: Visibility
    action: str | None = None
    created_at: dt.datetime
    position: int
    attachments: tuple[ev.Attachment, ...] = ()


class ThirdParty(msgspec.Struct, frozen=True, kw_only=True):
    """Whom the ticket waits on, and why (END-5)."""

    party: str
    note: str | None = None


class TicketView(msgspec.Struct, frozen=True, kw_only=True):
    """Every field of a ticket after the facts folded so far (CONTRACT §4)."""

    id: str
    number: str
    customer_id: str
    requester_id: str | None = None
    subject: str
    description: str
    channel: Channel
    category: Category | None = None
    priority: Priority
    service: str | None = None
    status: Status
    responsible_id: str | None = None
    owner_id: str | None = None
    department: str | None = None
    planned_date: dt.date | None = None
    planned_minutes: int | None = None
    release: str | None = None
    policy: str | None = None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    spent_minutes: int = 0
    billed_minutes: int = 0
    position: int  # the store position of the last fact folded in
    comments: tuple[Comment, ...] = ()
    attachments: tuple[ev.Attachment, ...] = ()  # those the ticket was opened with; comments carry theirs
    details: dict[str, ev.DetailValue] = {}  # the policy form's fields (KS-7, END-8, TEL-7, MED-11)
    missing_details: tuple[str, ...] = ()  # required ones a mailed request still lacks
    third_party: ThirdParty | None = None  # END-5: set while the ticket waits on a third party

    @property
    def incomplete(self) -> bool:
        """A mailed request registered without every detail its form requires (CONTRACT §3)."""
        return bool(self.missing_details)


def opened(fact: ev.TicketOpened, position: int) -> TicketView:
    return TicketView(
        id=fact.ticket_id, number=fact.number, customer_id=fact.customer_id,
        requester_id=fact.requester_id, subject=fact.subject, description=fact.description,
        channel=fact.channel, category=fact.category, priority=fact.priority, service=fact.service,
        status=fact.status, policy=fact.policy, version=fact.version,
        created_at=fact.occurred_at, updated_at=fact.occurred_at, position=position,
        attachments=fact.attachments, details=fact.details, missing_details=fact.missing_details,
    )


def evolve(ticket: TicketView | None, fact: ev.TicketFact, position: int) -> TicketView:
    """The ticket after ``fact`` (at store ``position``); raises if the fact cannot apply."""
    if isinstance(fact, ev.TicketOpened):
        if ticket is not None:
            raise TicketReopened(f"ticket {fact.ticket_id} was already opened")
        return opened(fact, position)
    if ticket is None:
        raise UnknownTicket(f"no opening seen for ticket {fact.ticket_id}")
    changes = _changes(ticket, fact, position)
    if isinstance(fact, ev.StatusChange) and ticket.third_party is not None:  # END-5: closing ends the wait
        changes["third_party"] = waiting_on_third_party(ticket.third_party, fact.status)
    return msgspec.structs.replace(
        ticket, status=fact.status, version=fact.version, customer_id=fact.customer_id,
        updated_at=fact.occurred_at, position=position, **changes,
    )


def _changes(ticket: TicketView, fact: ev.TicketFact, position: int) -> dict[str, object]:
    match fact:
        case ev.CategoryChanged(category=category):
            return {"category": category}
        case ev.PriorityChanged(priority=priority):
            return {"priority": priority}
        case ev.ServiceChanged(service=service):
            return {"service": service}
        case ev.DetailsChanged():
            return {"details": fact.details, "missing_details": fact.missing_details}
        case ev.AssigneesChanged():
            return {"responsible_id": fact.responsible_id, "owner_id": fact.owner_id,
                    "department": fact.department}
        case ev.PlanChanged():
            return {"planned_date": fact.planned_date, "planned_minutes": fact.planned_minutes,
                    "release": fact.release}
        case ev.CommentAdded():
            comment = _comment(fact, fact.comment_id, fact.body, fact.visibility, None, position,
                               fact.attachments)
            return {"comments": (*ticket.comments, comment)}
        case ev.ThirdPartyAwaited(party=party, note=note):
            return {"third_party": ThirdParty(party=party, note=note)}
        case ev.ThirdPartyCleared():
            return {"third_party": None}
        case ev.TimeLogged(minutes=minutes, billed_minutes=billed):
            return {"spent_minutes": ticket.spent_minutes + minutes,
                    "billed_minutes": ticket.billed_minutes + billed}
        case ev.StatusChange(comment=str(body)) if body:
            action = ev.event_type(fact).rsplit(".", 1)[-1]
            comment = _comment(fact, f"{fact.ticket_id}.{fact.version}", body, Visibility.PUBLIC,
                               action, position)
            return {"comments": (*ticket.comments, comment)}
    return {}


def _comment(fact: ev.TicketFact, comment_id: str, body: str, visibility: Visibility,
             action: str | None, position: int, attachments: tuple[ev.Attachment, ...] = ()) -> Comment:
    return Comment(id=comment_id, author_id=fact.actor.id, author_role=fact.actor.role, body=body,
                   visibility=visibility, action=action, created_at=fact.occurred_at,
                   position=position, attachments=attachments)


def attachments(ticket: TicketView, public_only: bool) -> list[tuple[ev.Attachment, str | None]]:
    """Every file the ticket refers to, with the comment it came with (None: the opening).

    ``public_only`` leaves out internal comments' files, as it leaves out the comments.
    """
    found: list[tuple[ev.Attachment, str | None]] = [(a, None) for a in ticket.attachments]
    for c in ticket.comments:
        if not public_only or c.visibility == Visibility.PUBLIC:
            found += [(a, c.id) for a in c.attachments]
    return found


def fold(facts: Iterable[tuple[ev.TicketFact, int]], until: dt.datetime | None = None
         ) -> TicketView | None:
    """The ticket after every ``(fact, position)`` that occurred at or before ``until``."""
    ticket = None
    for fact, position in facts:
        if until is not None and fact.occurred_at > until:
            break
        ticket = evolve(ticket, fact, position)
    return ticket
