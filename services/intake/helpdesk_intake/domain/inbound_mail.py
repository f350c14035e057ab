"""The InboundMail aggregate: one received mail and its one outcome.

Its id is ``mail.mail_id`` (from the Message-ID), so a mail delivered twice is one
aggregate: the second delivery finds the outcome of the first and records nothing.
It has exactly one event, which is also its creation: ``Registered`` (a ticket was
opened or commented; written in the same transaction as that ticket event),
``Refused`` or ``Forwarded``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from helpdesk_shared.events import Attachment

from helpdesk_intake.domain.base import Context, HelpdeskEvent
from helpdesk_intake.domain.mail import MailHeaders


class InboundMail(Aggregate):
    TOPIC = "helpdesk:InboundMail"

    class Event(HelpdeskEvent):
        pass

    class Received(Aggregate.Created, Event):
        """What every outcome records about the mail itself (never stored on its own)."""

        TOPIC = "helpdesk:InboundMail.Received"
        message_id: str | None
        sender: str
        subject: str

    Created = Received

    class Registered(Received):
        TOPIC = "helpdesk:InboundMail.Registered"
        ticket_id: str
        number: str
        customer_id: str
        comment_id: str | None

        def apply(self, mail: InboundMail) -> None:
            mail.outcome = "registered"
            mail.customer_id = self.customer_id
            mail.ticket_id, mail.number, mail.comment_id = self.ticket_id, self.number, self.comment_id

    class Refused(Received):
        TOPIC = "helpdesk:InboundMail.Refused"
        reason: str
        detail: str
        customer_id: str | None
        language: str

        def apply(self, mail: InboundMail) -> None:
            mail.outcome = "refused"
            mail.customer_id = self.customer_id
            mail.reason, mail.detail = self.reason, self.detail

    class Forwarded(Received):
        TOPIC = "helpdesk:InboundMail.Forwarded"
        customer_id: str
        forward_to: str
        text: str
        attachments: tuple[Attachment, ...]

        def apply(self, mail: InboundMail) -> None:
            mail.outcome = "forwarded"
            mail.customer_id = self.customer_id
            mail.forward_to = self.forward_to

    def __init__(self, message_id: str | None, sender: str, subject: str, **_: Any) -> None:
        self.message_id = message_id
        self.sender = sender
        self.subject = subject
        self.outcome = ""
        self.customer_id: str | None = None
        self.ticket_id: str | None = None
        self.number: str | None = None
        self.comment_id: str | None = None
        self.reason: str | None = None
        self.detail: str | None = None
        self.forward_to: str | None = None

    @classmethod
    def register(cls, ctx: Context, *, id: UUID, headers: MailHeaders, ticket_id: str, number: str,
                 customer_id: str, comment_id: str | None = None) -> InboundMail:
        """The mail opened ticket ``number`` (or, with ``comment_id``, became a comment on it)."""
        return cls._create(cls.Registered, id=id, **headers._asdict(), ticket_id=ticket_id, number=number,
                           customer_id=customer_id, comment_id=comment_id, **ctx.event_fields())

    @classmethod
    def refuse(cls, ctx: Context, *, id: UUID, headers: MailHeaders, reason: str, detail: str,
               customer_id: str | None, language: str) -> InboundMail:
        """The mail is not registered; the sender is told why (KS-1, MED-4)."""
        return cls._create(cls.Refused, id=id, **headers._asdict(), reason=reason, detail=detail,
                           customer_id=customer_id, language=language, **ctx.event_fields())

    @classmethod
    def forward(cls, ctx: Context, *, id: UUID, headers: MailHeaders, customer_id: str, forward_to: str,
                text: str, attachments: tuple[Attachment, ...]) -> InboundMail:
        """Mail from someone not registered goes to the customer's own address (IMC-3)."""
        return cls._create(cls.Forwarded, id=id, **headers._asdict(), customer_id=customer_id, forward_to=forward_to,
                           text=text, attachments=attachments, **ctx.event_fields())
