"""The email channel's rules (CONTRACT §3): what a received mail becomes.

A mail arrives read (``ParsedMail``, made by ``adapters/mime.py``); the application
looks up what the rules need — the sender's account, the ticket a reply names, the
customer an unknown sender's domain points to — and ``decide`` answers with exactly
one of: open a ticket, comment on one, forward to the customer (IMC-3), or refuse
with a reason the sender is told (KS-1, MED-4).

Identification, in this order:
- an automatic message (``Auto-Submitted`` other than ``no``, ``Precedence: bulk/junk/list``,
  an autoresponder's marks, RFC 3834; a delivery report; mail from ``mailer-daemon@`` or
  ``postmaster@``; over SMTP, an empty reverse-path): refused ``auto_reply`` — recorded, never answered,
  and never a comment that would resume a ticket awaiting the customer (MED-6, KS-4);
- an attachment over the size limit (or too many of them): refused ``too_large``;
- the From address (case-insensitive) of a registered customer user identifies the
  requester and its customer; anyone else is forwarded to the customer whose domain
  the sender's is (the domain of the customer's own address or of its users'), when
  exactly one customer has it and the sender is not that address itself, else refused
  ``unknown_sender``;
- the customer's contract is inactive: refused ``customer_blocked`` (MED-4);
- the sender's own account is blocked or deactivated: refused ``user_blocked`` (MED-4, IMC-2);
- ``[#HD-12]`` in the subject, else the ticket's root Message-ID
  ``<ticket-<id>@helpdesk>`` in In-Reply-To/References (what notify threads every mail
  under), names a ticket: the mail is a public comment on it — if it is the sender's
  customer's (else ``unknown_ticket``) and still open (else ``ticket_closed``);
- otherwise it is a new request, which needs a subject (KS-1): one that is missing,
  or blank once reply/forward prefixes ("Re:", "Fwd:", "Ответ:", ...) are removed,
  is refused ``no_subject``. A reply to a known ticket needs no subject of its own.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from helpdesk_shared.mail_events import RefusalReason
from helpdesk_shared.vocabulary import Status

NAMESPACE = uuid.UUID("6c1f3a52-3d0e-5a57-9c1b-7e0f5d2b8a41")  # never change: it names every mail
DEFAULT_LANGUAGE = "ru"  # intake knows no customer's language yet
MIB = 1024 * 1024


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    """A mail as read: the parts of it the rules look at, every text cleaned and capped."""

    digest: str  # SHA-256 (hex) of the raw bytes, line endings made CRLF (mime.content_digest)
    sender: str  # the From address, lower-cased
    message_id: str | None
    subject: str | None  # None: no Subject header at all
    text: str
    references: tuple[str, ...] = ()  # Message-IDs from In-Reply-To, then References
    attachments: tuple[MailAttachment, ...] = ()
    automatic: bool = False  # sent by a machine on its own (RFC 3834): an out-of-office, a bounce


class MailHeaders(NamedTuple):
    """What every outcome records about the mail itself."""

    message_id: str | None
    sender: str
    subject: str


def headers(mail: ParsedMail) -> MailHeaders:
    return MailHeaders(mail.message_id, mail.sender, mail.subject or "")


def mail_id(sender: str | None, message_id: str | None, digest: str) -> uuid.UUID:
    """The mail's id: one per sender and Message-ID (or per content, without one), so a redelivery is
    the same mail, and nobody silences another's mail by reusing its Message-ID."""
    return uuid.uuid5(NAMESPACE, f"{sender or ''}\n{message_id}" if message_id else f"sha256:{digest}")


# -- what a mail refers to ------------------------------------------------------------------

_TAG = re.compile(r"\[\s*#\s*(HD-\d{1,18})\s*\]", re.IGNORECASE)
_ROOT_ID = re.compile(r"^<?ticket-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@helpdesk>?$",
                      re.IGNORECASE)
_PREFIXES = re.compile(
    r"^(\s*(re|fwd?|aw|wg|sv|vs|tr|ответ|отв|на|пересл|переслано)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE)


@dataclass(frozen=True)
class TicketReference:
    """A ticket a mail names: by number (the subject tag) or by id (a root Message-ID)."""

    number: str | None = None
    ticket_id: str | None = None


def ticket_reference(mail: ParsedMail) -> TicketReference | None:
    """The ticket a reply names: ``[#HD-12]`` in the subject first (TEL-6), then the thread's root id."""
    if mail.subject and (tag := _TAG.search(mail.subject)):
        return TicketReference(number=tag.group(1).upper())
    for reference in mail.references:
        if root := _ROOT_ID.match(reference):
            return TicketReference(ticket_id=root.group(1).lower())
    return None


def request_subject(subject: str | None) -> str:
    """The subject without reply/forward prefixes: blank means the mail has no subject (KS-1)."""
    return _PREFIXES.sub("", subject or "").strip()


# -- the facts a decision needs, and the decisions ------------------------------------------

@dataclass(frozen=True)
class Sender:
    """A registered customer user whose address the mail came from."""

    user_id: str
    customer_id: str
    customer_active: bool
    user_active: bool = True  # neither blocked (MED-4) nor deactivated (IMC-2)


@dataclass(frozen=True)
class TicketFacts:
    ticket_id: str
    number: str
    customer_id: str
    status: Status


@dataclass(frozen=True)
class Customer:
    """The customer an unknown sender's domain points to, and its own address (IMC-3)."""

    customer_id: str
    email: str


@dataclass(frozen=True)
class Limits:
    max_attachment_bytes: int = 10 * MIB
    max_attachments: int = 50


@dataclass(frozen=True)
class Open:
    customer_id: str
    requester_id: str
    subject: str
    description: str


@dataclass(frozen=True)
class Comment:
    ticket_id: str
    customer_id: str
    requester_id: str
    body: str


@dataclass(frozen=True)
class Forward:
    customer_id: str
    forward_to: str
    text: str


@dataclass(frozen=True)
class Refuse:
    reason: RefusalReason
    detail: str
    customer_id: str | None = None


Decision = Open | Comment | Forward | Refuse


def decide(mail: ParsedMail, *, sender: Sender | None, reference: TicketReference | None,
           ticket: TicketFacts | None, domain_customer: Customer | None, limits: Limits) -> Decision:
    """What the mail becomes, given who sent it and what it refers to (see the module's docstring)."""
    customer_id = sender.customer_id if sender else None
    if mail.automatic:
        return Refuse("auto_reply", "an automatic message (RFC 3834) is not registered", customer_id)
    if too_large := _too_large(mail, limits):
        return Refuse("too_large", too_large, customer_id)
    if sender is None:
        if domain_customer is not None and domain_customer.email.lower() != mail.sender:
            return Forward(domain_customer.customer_id, domain_customer.email, mail.text)
        return Refuse("unknown_sender", f"{mail.sender} is not a registered user of any customer")
    if not sender.customer_active:
        return Refuse("customer_blocked", "the customer has no active contract (MED-4)", customer_id)
    if not sender.user_active:
        return Refuse("user_blocked", "the sender's account is blocked or deactivated (MED-4, IMC-2)", customer_id)
    body = mail.text.strip() or request_subject(mail.subject) or "-"
    if reference is not None:
        if ticket is None or ticket.customer_id != sender.customer_id:
            named = reference.number or reference.ticket_id
            return Refuse("unknown_ticket", f"no ticket {named} of the sender's customer", customer_id)
        if not ticket.status.is_open:
            return Refuse("ticket_closed", f"ticket {ticket.number} is {ticket.status.value}", customer_id)
        return Comment(ticket.ticket_id, sender.customer_id, sender.user_id, body)
    subject = request_subject(mail.subject)
    if not subject:
        return Refuse("no_subject", "a request by mail needs a subject (KS-1)", customer_id)
    return Open(sender.customer_id, sender.user_id, (mail.subject or subject).strip(), body)


def needs_attachments(decision: Decision) -> bool:
    """Whether the decision keeps the mail's attachments (a refused mail's are not stored)."""
    return not isinstance(decision, Refuse)


def _too_large(mail: ParsedMail, limits: Limits) -> str | None:
    if len(mail.attachments) > limits.max_attachments:
        return f"{len(mail.attachments)} attachments; at most {limits.max_attachments}"
    for attachment in mail.attachments:
        if len(attachment.content) > limits.max_attachment_bytes:
            return (f"attachment {attachment.filename!r} is {len(attachment.content)} bytes; "
                    f"at most {limits.max_attachment_bytes}")
    return None
