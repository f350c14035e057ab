"""Inbound-mail facts: what intake did with each message that reached the email channel.

On ``helpdesk.mail.<mail_id>.<event>``; ``mail_id`` is derived from the message's
``Message-ID`` (or its content when it has none), so a message delivered twice
is one mail with one outcome. Every message ends in exactly one of three facts:
registered (a ticket was opened or commented), refused (with the reason the
sender is told, KS-1, MED-4), or forwarded to the customer's own address (IMC-3).
Notify turns ``refused`` and ``forwarded`` into mail; ``registered`` is for the
audit trail (the ticket event itself carries the ``message_id``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from helpdesk_shared.events import Attachment, CloudEvent, Family

RefusalReason = Literal[
    "no_subject",          # KS-1: a request without a subject is not registered
    "customer_blocked",    # MED-4: the customer's contract is not active
    "unknown_sender",      # nobody registered, and no customer to forward to
    "unknown_ticket",      # [#number] names no ticket of the sender's customer
    "ticket_closed",       # a reply to a ticket that can no longer take comments
    "too_large",           # over the size limit
    "malformed",           # not a message we can read
    "auto_reply",          # an automatic message (RFC 3834: out-of-office, bounce): recorded, never answered
    "channel_closed",      # the customer's policy registers no requests by mail
    "user_blocked",        # MED-4, IMC-2: the sender's own account is blocked or deactivated
]


class MailFact(msgspec.Struct, frozen=True, kw_only=True):
    mail_id: str
    message_id: str | None  # the message's own Message-ID header
    sender: str  # the address in From (bare address)
    subject: str
    occurred_at: dt.datetime


class MailRegistered(MailFact, frozen=True, kw_only=True):
    """The message opened a ticket, or (``comment_id`` set) became a comment on one."""

    ticket_id: str
    number: str
    customer_id: str
    comment_id: str | None = None


class MailRefused(MailFact, frozen=True, kw_only=True):
    """The message was not registered; the sender is told why in ``language``."""

    reason: RefusalReason
    detail: str
    customer_id: str | None = None
    language: str = "ru"


class MailForwarded(MailFact, frozen=True, kw_only=True):
    """A message from an unregistered sender, forwarded to the customer's own address (IMC-3)."""

    customer_id: str
    forward_to: str
    text: str  # the message's text, as read (truncated to a safe size)
    attachments: tuple[Attachment, ...] = ()
    language: str = "ru"


MAIL_EVENT_TYPES: dict[type[MailFact], str] = {
    MailRegistered: "helpdesk.mail.registered",
    MailRefused: "helpdesk.mail.refused",
    MailForwarded: "helpdesk.mail.forwarded",
}

FAMILY = Family(MAIL_EVENT_TYPES, CloudEvent, __name__)
ENVELOPES = FAMILY.envelopes
MailEvent = FAMILY.union
event_type = FAMILY.event_type
decode = FAMILY.decode


def wrap(fact: MailFact, *, event_id: str, sequence: int) -> CloudEvent:
    return FAMILY.envelope(fact, event_id=event_id, subject=fact.mail_id, sequence=sequence)
