"""The email channel's use case: a raw mail in, exactly one recorded outcome out.

``receive`` reads the mail, looks up what the rules need and lets ``domain.mail.decide``
choose; the outcome (an ``InboundMail`` event) commits in the same transaction as the
ticket event it caused, through the tickets' command envelope (per-ticket lock, group
commit, retry of a lost race). Its id comes from the Message-ID, so a mail delivered
again — even concurrently, by another replica — finds the first outcome and records
nothing. Attachments go to the object store before the commit that names them.

What the caller hears: ``Unreadable`` when not even a sender can be read (nothing is
recorded); ``MailUnavailable`` when the database or NATS failed (deliver it again);
otherwise the outcome, also for refusals (notify tells the sender why).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from uuid import UUID

from helpdesk_shared.events import Attachment
from helpdesk_shared.vocabulary import Channel, Role, Visibility

from helpdesk_intake.adapters import mime
from helpdesk_intake.adapters.attachment_store import AttachmentsUnavailable
from helpdesk_intake.adapters.eventstore import STORE_UNAVAILABLE
from helpdesk_intake.adapters.mail_directory import MailDirectory
from helpdesk_intake.application.service import Blocked, Change, NotFound, Outcome, Request, new_id
from helpdesk_intake.application.tickets import TicketService
from helpdesk_intake.domain import mail as rules
from helpdesk_intake.domain.base import Context, DomainError
from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.inbound_mail import InboundMail
from helpdesk_intake.domain.ticket import Ticket

Unreadable = mime.Unreadable
Keep = Callable[[bytes, str, str], Attachment]


class MailUnavailable(Exception):
    """The outcome could not be recorded for a passing reason (database or NATS down): deliver again."""


class InboundMailService:
    def __init__(self, tickets: TicketService, directory: MailDirectory, keep: Keep,
                 limits: rules.Limits = rules.Limits()) -> None:
        self.tickets = tickets
        self.directory = directory
        self.keep = keep
        self.limits = limits

    def receive(self, raw: bytes, request: Request, null_sender: bool = False) -> Outcome:
        """Record what the mail becomes and answer with it (``duplicate`` for a repeated delivery).

        ``null_sender``: it came over SMTP with an empty reverse-path (``MAIL FROM:<>``), which
        only bounces and automatic replies use (RFC 5321 §4.5.5): it is automatic, whatever it says.
        """
        try:
            return self._receive(raw, request, null_sender)
        except (AttachmentsUnavailable, *STORE_UNAVAILABLE) as error:
            raise MailUnavailable(str(error) or type(error).__name__) from error

    def _receive(self, raw: bytes, request: Request, null_sender: bool) -> Outcome:
        try:
            mail = mime.parse(raw)
            if null_sender:
                mail = dataclasses.replace(mail, automatic=True)
        except Unreadable as unreadable:
            if unreadable.sender is None:
                raise
            return self._unreadable(unreadable, request)
        mail_id = rules.mail_id(mail.sender, mail.message_id, mail.digest)
        reference = rules.ticket_reference(mail)
        files: list[tuple[Attachment, ...]] = []  # kept once, whatever the retries

        def decide() -> Change:
            if first := self._recorded(mail_id):
                return Change([], answer(first, duplicate=True))
            decision, ticket = self._decide(mail, reference)
            if rules.needs_attachments(decision) and not files:
                files.append(tuple(self.keep(a.content, a.filename, a.content_type) for a in mail.attachments))
            return self._record(request, mail_id, mail, decision, ticket, files[0] if files else ())

        # A reply queues behind the other commands on its ticket; anything else behind its own copies.
        key = (reference.ticket_id or self.directory.ticket_id(reference.number or "")) if reference else None
        return self.tickets.execute(request, decide, key=key or str(mail_id))

    # -- deciding ---------------------------------------------------------------------------

    def _decide(self, mail: rules.ParsedMail, reference: rules.TicketReference | None
                ) -> tuple[rules.Decision, Ticket | None]:
        sender, ticket, domain_customer = None, None, None
        if user := self.directory.customer_user(mail.sender):
            sender = rules.Sender(user[0], user[1], self.tickets.terms(user[1]).active)
            ticket = self._ticket(reference) if reference else None
        elif customer_id := self.directory.domain_customer(mail.sender):
            domain_customer = rules.Customer(customer_id, self.tickets.load(Customer, customer_id).email)
        facts = rules.TicketFacts(str(ticket.id), ticket.number, ticket.customer_id, ticket.status) if ticket else None
        decision = rules.decide(mail, sender=sender, reference=reference, ticket=facts,
                                domain_customer=domain_customer, limits=self.limits)
        return decision, ticket

    def _ticket(self, reference: rules.TicketReference) -> Ticket | None:
        ticket_id = reference.ticket_id or self.directory.ticket_id(reference.number or "")
        try:
            return self.tickets.load(Ticket, ticket_id) if ticket_id else None
        except NotFound:
            return None

    def _recorded(self, mail_id: UUID) -> InboundMail | None:
        try:
            return self.tickets.load(InboundMail, mail_id)
        except NotFound:
            return None

    # -- recording ----------------------------------------------------------------------------

    def _record(self, request: Request, mail_id: UUID, mail: rules.ParsedMail, decision: rules.Decision,
                ticket: Ticket | None, files: tuple[Attachment, ...]) -> Change:
        channel = self._channel(request)
        headers = rules.headers(mail)
        match decision:
            case rules.Open():
                sender = self._sender(request, decision.requester_id, decision.customer_id)
                try:
                    change = self.tickets.new_ticket(
                        sender, decision.customer_id, decision.requester_id, subject=decision.subject,
                        description=decision.description, channel=Channel.EMAIL.value, category=None,
                        service=None, attachments=files, message_id=mail.message_id, lenient=True)
                except DomainError as error:  # blocked meanwhile, or a policy that takes no mail (TEL-5)
                    reason = "customer_blocked" if isinstance(error, Blocked) else "channel_closed"
                    return self._refused(channel, mail_id, headers, rules.Refuse(reason, str(error),
                                                                                 decision.customer_id))
                opened = change.aggregates[0]
                outcome = InboundMail.register(channel, id=mail_id, headers=headers, ticket_id=str(opened.id),
                                               number=opened.number, customer_id=decision.customer_id)
                # the ticket last: the answer's position is its event, the one query applies (CONTRACT §4)
                return Change([outcome, opened], answer(outcome), rows=change.rows, status_code=201)
            case rules.Comment():
                assert ticket is not None
                sender = self._sender(request, decision.requester_id, decision.customer_id)
                comment_id = str(new_id())
                try:
                    ticket.add_comment(sender, self.tickets.rules_of(ticket.customer_id), comment_id=comment_id,
                                       body=decision.body, visibility=Visibility.PUBLIC, attachments=files,
                                       message_id=mail.message_id)
                except DomainError as error:
                    return self._refused(channel, mail_id, headers, rules.Refuse("ticket_closed", str(error),
                                                                                 decision.customer_id))
                outcome = InboundMail.register(channel, id=mail_id, headers=headers, ticket_id=str(ticket.id),
                                               number=ticket.number, customer_id=decision.customer_id,
                                               comment_id=comment_id)
                return Change([outcome, ticket], answer(outcome), status_code=201)
            case rules.Forward():
                outcome = InboundMail.forward(channel, id=mail_id, headers=headers, customer_id=decision.customer_id,
                                              forward_to=decision.forward_to, text=decision.text, attachments=files)
                return Change([outcome], answer(outcome), status_code=201)
            case rules.Refuse():
                return self._refused(channel, mail_id, headers, decision)

    def _refused(self, channel: Context, mail_id: UUID, headers: rules.MailHeaders, refusal: rules.Refuse) -> Change:
        outcome = InboundMail.refuse(channel, id=mail_id, headers=headers, reason=refusal.reason,
                                     detail=refusal.detail, customer_id=refusal.customer_id,
                                     language=rules.DEFAULT_LANGUAGE)
        return Change([outcome], answer(outcome), status_code=201)

    def _unreadable(self, unreadable: mime.Unreadable, request: Request) -> Outcome:
        """A mail that cannot be read but names a sender: refused ``malformed``, once."""
        mail_id = rules.mail_id(unreadable.sender, unreadable.message_id, unreadable.digest)
        headers = rules.MailHeaders(unreadable.message_id, unreadable.sender or "", unreadable.subject or "")
        user = self.directory.customer_user(headers.sender)

        def decide() -> Change:
            if first := self._recorded(mail_id):
                return Change([], answer(first, duplicate=True))
            refusal = rules.Refuse("malformed", unreadable.detail, user[1] if user else None)
            return self._refused(self._channel(request), mail_id, headers, refusal)

        return self.tickets.execute(request, decide, key=str(mail_id))

    def _channel(self, request: Request) -> Context:
        """Who delivered the mail (the SMTP listener, or an admin or service over HTTP)."""
        principal = request.principal
        return Context(actor_id=principal.id, role=principal.role, now=self.tickets.now(),
                       traceparent=request.traceparent)

    def _sender(self, request: Request, user_id: str, customer_id: str) -> Context:
        """The customer user the mail is from: the author of the ticket or comment it becomes."""
        return Context(actor_id=user_id, role=Role.CUSTOMER, now=self.tickets.now(), customer_id=customer_id,
                       traceparent=request.traceparent)


def answer(mail: InboundMail, duplicate: bool = False) -> dict[str, Any]:
    """The answer for a mail's outcome: the same for its first delivery and every repeat."""
    body = {"mail_id": str(mail.id), "outcome": mail.outcome, "duplicate": duplicate,
            "reason": mail.reason, "detail": mail.detail, "ticket_id": mail.ticket_id, "number": mail.number,
            "comment_id": mail.comment_id, "customer_id": mail.customer_id, "forward_to": mail.forward_to}
    return {name: value for name, value in body.items() if value is not None}
