"""Integration events: the public, versioned facts other services subscribe to.

Each event is a frozen msgspec struct for the CloudEvent's ``data``. On the wire it
travels inside a CloudEvents 1.0 envelope (structured mode) whose ``type`` names
the event; the envelopes are tagged structs, so a consumer decodes any message
with one ``msgspec.json.Decoder(TicketEvent)`` and dispatches with ``match`` on
``event.data``.

Evolution follows msgspec's rules: a new field gets a default, a type never
changes, a breaking change is a new event type (CONTRACT.md §8).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Union

import msgspec

from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status, Visibility

SPEC_VERSION = "1.0"
SOURCE = "urn:helpdesk:intake"
CONTENT_TYPE = "application/cloudevents+json"  # the NATS message's Content-Type header (structured mode)
# Where the query service serves each type's data schema (JSON Schema, generated from the struct):
# a path, resolved against the query service's URL, so stored and exported events stay valid when
# the desk moves to another host.
DATASCHEMA_PATH = "/v1/schemas/events/{type}"


DetailValue = str | float | int | bool | None  # one field of a request form's details


def dataschema(type_name: str) -> str:
    """The ``dataschema`` of events of this CloudEvent type."""
    return DATASCHEMA_PATH.format(type=type_name)


class Actor(msgspec.Struct, frozen=True):
    """Who caused a fact: a user id with its role, or a service (``service:sla``)."""

    id: str
    role: Role


class TicketFact(msgspec.Struct, frozen=True, kw_only=True):
    """Fields every ticket event carries: whose ticket, which version, the status after it."""

    ticket_id: str
    customer_id: str
    version: int
    status: Status
    actor: Actor
    occurred_at: dt.datetime


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    """A file that came with a ticket or a comment, stored outside the event store.

    ``id`` is the SHA-256 of the content (hex): the name of the object in the
    ``helpdesk_attachments`` object store (see ``helpdesk_shared.attachments``).
    """

    id: str
    filename: str
    content_type: str = "application/octet-stream"
    size: int = 0


class TicketOpened(TicketFact, frozen=True, kw_only=True):
    number: str
    subject: str
    description: str
    channel: Channel
    category: Category | None = None
    priority: Priority = Priority.NORMAL
    service: str | None = None
    requester_id: str | None = None
    policy: str | None = None
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None  # the Message-ID of the mail that opened it (email channel)
    details: dict[str, DetailValue] = {}  # the policy form's fields (KS-7, END-8, TEL-7, MED-11)
    missing_details: tuple[str, ...] = ()  # required fields a mailed request lacks: it is incomplete


class CategoryChanged(TicketFact, frozen=True, kw_only=True):
    category: Category


class PriorityChanged(TicketFact, frozen=True, kw_only=True):
    priority: Priority


class ServiceChanged(TicketFact, frozen=True, kw_only=True):
    service: str


class DetailsChanged(TicketFact, frozen=True, kw_only=True):
    """The request's form details changed; ``details`` is the whole set after the change."""

    details: dict[str, DetailValue] = {}
    missing_details: tuple[str, ...] = ()


class AssigneesChanged(TicketFact, frozen=True, kw_only=True):
    responsible_id: str | None = None
    owner_id: str | None = None
    department: str | None = None


class PlanChanged(TicketFact, frozen=True, kw_only=True):
    planned_date: dt.date | None = None
    planned_minutes: int | None = None
    release: str | None = None


class CommentAdded(TicketFact, frozen=True, kw_only=True):
    comment_id: str
    body: str
    visibility: Visibility = Visibility.PUBLIC
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None  # the Message-ID of the mail it came in (email channel)
    call: bool = False  # staff logged a phone call with the customer (meets a callback: IMC-4, KS-6)


class TimeLogged(TicketFact, frozen=True, kw_only=True):
    entry_id: str
    minutes: int
    billed_minutes: int
    billable: bool = True
    note: str | None = None
    budget_month: str | None = None  # YYYY-MM whose norm-hours it consumes (MED-12); None: none
    budget_limit: int | None = None  # that month's budget in minutes


class StatusChange(TicketFact, frozen=True, kw_only=True):
    """A move from one status to another, with the comment or reason given for it."""

    from_status: Status
    comment: str | None = None
    reason: str | None = None
    automatic: bool = False


class Accepted(StatusChange, frozen=True, kw_only=True):
    """Accepted into work; under a norm-hours budget its planned minutes count in ``budget_month`` (MED-12)."""

    budget_month: str | None = None
    budget_minutes: int = 0  # planned minutes counted against the month (0: none, or paid extra)
    budget_limit: int | None = None  # the month's budget in minutes
    pass


class ClarificationRequested(StatusChange, frozen=True, kw_only=True):
    pass


class ClarificationReceived(StatusChange, frozen=True, kw_only=True):
    """The customer answered while the ticket awaited them; it moved on per policy."""


class SentToDevelopment(StatusChange, frozen=True, kw_only=True):
    pass


class MarkedReadyToInstall(StatusChange, frozen=True, kw_only=True):
    pass


class SolutionProposed(StatusChange, frozen=True, kw_only=True):
    pass


class SolutionAccepted(StatusChange, frozen=True, kw_only=True):
    pass


class ReturnedToWork(StatusChange, frozen=True, kw_only=True):
    pass


class Reopened(StatusChange, frozen=True, kw_only=True):
    """A done ticket came back inside its reopen window (KS-8)."""


class DoneStep(msgspec.Struct, frozen=True, kw_only=True):
    """One public step the executor's staff took on a ticket: an action or a public comment."""

    at: dt.datetime
    what: str  # the step's event type, last word: accepted, comment_added, …
    note: str | None = None  # its comment, reason or body (cut to 500 characters)


class Rejected(StatusChange, frozen=True, kw_only=True):
    """Closed without a solution. By the executor or automatically, it lists what was done so far
    (END-4), as intake assembled it from the ticket's history at that moment; empty for a withdrawal."""

    done_so_far: tuple[DoneStep, ...] = ()


class Deferred(StatusChange, frozen=True, kw_only=True):
    """Set aside (TEL-9); ``reason`` is a code of the policy's ``deferral_reasons``."""


class Resumed(StatusChange, frozen=True, kw_only=True):
    """A deferred ticket is back in work (TEL-9)."""


class ThirdPartyAwaited(TicketFact, frozen=True, kw_only=True):
    """The ticket waits on a third party (END-5): who, and what for."""

    party: str
    note: str | None = None


class ThirdPartyCleared(TicketFact, frozen=True, kw_only=True):
    """The ticket no longer waits on the third party it named (END-5)."""

    party: str = ""


# The CloudEvent ``type`` of each ticket fact; the subject's last token is the part
# after the final dot (``helpdesk.ticket.<ticket_id>.accepted``).
TICKET_EVENT_TYPES: dict[type[TicketFact], str] = {
    TicketOpened: "helpdesk.ticket.opened",
    CategoryChanged: "helpdesk.ticket.category_changed",
    PriorityChanged: "helpdesk.ticket.priority_changed",
    ServiceChanged: "helpdesk.ticket.service_changed",
    DetailsChanged: "helpdesk.ticket.details_changed",
    AssigneesChanged: "helpdesk.ticket.assignees_changed",
    PlanChanged: "helpdesk.ticket.plan_changed",
    CommentAdded: "helpdesk.ticket.comment_added",
    TimeLogged: "helpdesk.ticket.time_logged",
    Accepted: "helpdesk.ticket.accepted",
    ClarificationRequested: "helpdesk.ticket.clarification_requested",
    ClarificationReceived: "helpdesk.ticket.clarification_received",
    SentToDevelopment: "helpdesk.ticket.sent_to_development",
    MarkedReadyToInstall: "helpdesk.ticket.marked_ready_to_install",
    SolutionProposed: "helpdesk.ticket.solution_proposed",
    SolutionAccepted: "helpdesk.ticket.solution_accepted",
    ReturnedToWork: "helpdesk.ticket.returned_to_work",
    Reopened: "helpdesk.ticket.reopened",
    Rejected: "helpdesk.ticket.rejected",
    Deferred: "helpdesk.ticket.deferred",
    Resumed: "helpdesk.ticket.resumed",
    ThirdPartyAwaited: "helpdesk.ticket.third_party_awaited",
    ThirdPartyCleared: "helpdesk.ticket.third_party_cleared",
}


class CloudEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """The CloudEvents 1.0 structured-mode envelope with helpdesk's extensions."""

    specversion: str = SPEC_VERSION
    id: str
    source: str = SOURCE
    subject: str
    time: dt.datetime
    datacontenttype: str = "application/json"
    sequence: int
    ticketnumber: str | None = None
    dataschema: str | None = None


class Family:
    """One family of facts on the stream: a tagged envelope per fact, their union, wrapping and decoding.

    Every family module (ticket, SLA, directory, mail events) is one of these; its
    module-level ``event_type``, ``wrap`` and ``decode`` are this object's.
    """

    def __init__(self, types: dict[type, str], base: type[CloudEvent], module: str) -> None:
        self.types = types
        self.envelopes: dict[type, type[CloudEvent]] = {
            fact: msgspec.defstruct(fact.__name__ + "Event", [("data", fact)], bases=(base,), tag=type_name,
                                    frozen=True, kw_only=True, module=module)
            for fact, type_name in types.items()
        }
        # Decode any message of the family with msgspec.json.Decoder(union); match on .data.
        self.union: Any = Union[tuple(self.envelopes.values())]  # noqa: UP007
        self._decoder = msgspec.json.Decoder(self.union)

    def event_type(self, fact: msgspec.Struct) -> str:
        """The CloudEvent ``type`` of a fact."""
        return self.types[type(fact)]

    def envelope(self, fact: Any, *, event_id: str, subject: str, sequence: int, **extensions: Any) -> CloudEvent:
        """Put a fact into its CloudEvent envelope."""
        return self.envelopes[type(fact)](id=event_id, subject=subject, time=fact.occurred_at,
                                          sequence=sequence, data=fact,
                                          dataschema=dataschema(self.types[type(fact)]), **extensions)

    def decode(self, payload: bytes) -> CloudEvent:
        """Decode one CloudEvent of the family; raises ``msgspec.DecodeError`` / ``ValidationError``."""
        return self._decoder.decode(payload)


FAMILY = Family(TICKET_EVENT_TYPES, CloudEvent, __name__)
ENVELOPES: dict[type[TicketFact], type[CloudEvent]] = FAMILY.envelopes
TicketEvent = FAMILY.union
event_type = FAMILY.event_type
decode = FAMILY.decode


def wrap(fact: TicketFact, *, event_id: str, sequence: int, number: str | None) -> CloudEvent:
    """Put a ticket fact into its CloudEvent envelope."""
    return FAMILY.envelope(fact, event_id=event_id, subject=fact.ticket_id, sequence=sequence, ticketnumber=number)
