"""From stored domain events (private to intake) to integration events (the public contract).

A fact carries the ticket's customer and the status after it, which a domain
event alone does not; so facts are made from the event together with the
ticket as it stood right after that event.
"""

from __future__ import annotations

from typing import Any

from helpdesk_shared import events as pub
from helpdesk_shared.vocabulary import Role, Status

from helpdesk_intake.domain.ticket import Ticket

_STATUS_FACTS: dict[type, type[pub.StatusChange]] = {
    Ticket.Accepted: pub.Accepted,
    Ticket.ClarificationRequested: pub.ClarificationRequested,
    Ticket.ClarificationReceived: pub.ClarificationReceived,
    Ticket.SentToDevelopment: pub.SentToDevelopment,
    Ticket.MarkedReadyToInstall: pub.MarkedReadyToInstall,
    Ticket.SolutionProposed: pub.SolutionProposed,
    Ticket.SolutionAccepted: pub.SolutionAccepted,
    Ticket.ReturnedToWork: pub.ReturnedToWork,
    Ticket.Reopened: pub.Reopened,
    Ticket.Rejected: pub.Rejected,
}

_COPIED_FIELDS: dict[type, tuple[type[pub.TicketFact], tuple[str, ...]]] = {
    Ticket.Opened: (pub.TicketOpened, ("number", "subject", "description", "channel", "category",
                                       "priority", "service", "requester_id", "policy")),
    Ticket.CategoryChanged: (pub.CategoryChanged, ("category",)),
    Ticket.PriorityChanged: (pub.PriorityChanged, ("priority",)),
    Ticket.ServiceChanged: (pub.ServiceChanged, ("service",)),
    Ticket.AssigneesChanged: (pub.AssigneesChanged, ("responsible_id", "owner_id", "department")),
    Ticket.PlanChanged: (pub.PlanChanged, ("planned_date", "planned_minutes", "release")),
    Ticket.CommentAdded: (pub.CommentAdded, ("comment_id", "body", "visibility")),
    Ticket.TimeLogged: (pub.TimeLogged, ("entry_id", "minutes", "billed_minutes", "billable", "note")),
}


def to_fact(event: Any, ticket: Ticket) -> pub.TicketFact | None:
    """The integration fact for a ticket's domain event, or None for an event with no public face."""
    common = {
        "ticket_id": str(event.originator_id),
        "customer_id": ticket.customer_id,
        "version": event.originator_version,
        "status": ticket.status,
        "actor": pub.Actor(id=event.actor_id, role=Role(event.actor_role)),
        "occurred_at": event.timestamp,
    }
    if type(event) in _STATUS_FACTS:
        return _STATUS_FACTS[type(event)](
            **common, from_status=Status(event.from_status), comment=event.comment,
            reason=event.reason, automatic=event.automatic,
        )
    if type(event) in _COPIED_FIELDS:
        fact_class, names = _COPIED_FIELDS[type(event)]
        return fact_class(**common, **{name: getattr(event, name) for name in names})
    return None
