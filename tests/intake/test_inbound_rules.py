"""The email channel's rules (domain/mail.py, domain/inbound_mail.py): given facts → decision. No I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from helpdesk_intake.adapters.translation import to_mail_fact
from helpdesk_intake.domain import mail as rules
from helpdesk_intake.domain.base import Context
from helpdesk_intake.domain.inbound_mail import InboundMail
from helpdesk_shared import mail_events
from helpdesk_shared.events import Attachment
from helpdesk_shared.vocabulary import Role, Status

TICKET_ID = "0b8c7f06-5a8e-4a0b-8b3e-2f5a2b6c9d10"
ANN = rules.Sender("user-ann", "acme", customer_active=True)
LIMITS = rules.Limits(max_attachment_bytes=100, max_attachments=2)
NOW = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)


def mail(subject: str | None = "Printer", text: str = "It hangs.", references: tuple[str, ...] = (),
         attachments: tuple[rules.MailAttachment, ...] = ()) -> rules.ParsedMail:
    return rules.ParsedMail(digest="d" * 64, sender="ann@acme.test", message_id="<m@acme>", subject=subject,
                            text=text, references=references, attachments=attachments)


def replaced(parsed: rules.ParsedMail, **changes: object) -> rules.ParsedMail:
    return dataclasses.replace(parsed, **changes)  # type: ignore[arg-type]


def decide(parsed: rules.ParsedMail, sender: rules.Sender | None = ANN, status: Status = Status.NEW,
           owner: str = "acme", domain_customer: rules.Customer | None = None) -> rules.Decision:
    reference = rules.ticket_reference(parsed)
    ticket = rules.TicketFacts(TICKET_ID, "HD-12", owner, status) if reference else None
    return rules.decide(parsed, sender=sender, reference=reference, ticket=ticket,
                        domain_customer=domain_customer, limits=LIMITS)


def test_tel_6_a_customer_users_mail_opens_a_ticket_with_subject_and_text():
    assert decide(mail()) == rules.Open("acme", "user-ann", "Printer", "It hangs.")
    assert decide(mail(text="  ")) == rules.Open("acme", "user-ann", "Printer", "Printer")  # description required


@pytest.mark.parametrize("subject", [None, "", "   ", "Re:", "RE: Fwd:", "Fw: ", "Ответ: ", "AW: WG:"])
def test_ks_1_a_request_without_subject_is_refused(subject: str | None):
    decision = decide(mail(subject))
    assert isinstance(decision, rules.Refuse) and decision.reason == "no_subject"
    assert decision.customer_id == "acme"


@pytest.mark.parametrize("subject", ["Re: [#HD-12] Printer", "[# hd-12 ]", "Fwd: Ответ: [#HD-12]"])
def test_the_ticket_number_in_the_subject_makes_a_comment(subject: str):
    assert rules.ticket_reference(mail(subject)) == rules.TicketReference(number="HD-12")
    assert decide(mail(subject)) == rules.Comment(TICKET_ID, "acme", "user-ann", "It hangs.")


def test_the_threads_root_message_id_makes_a_comment_even_without_a_subject():
    references = ("<mail-abc@helpdesk>", f"<ticket-{TICKET_ID}@helpdesk>")
    assert rules.ticket_reference(mail(None, references=references)) == rules.TicketReference(ticket_id=TICKET_ID)
    assert isinstance(decide(mail(None, references=references)), rules.Comment)
    assert rules.ticket_reference(mail("Re: x", references=("<ticket-nope@helpdesk>",))) is None


def test_a_ticket_of_another_customer_or_none_is_an_unknown_ticket():
    assert decide(mail("[#HD-12]"), owner="globex").reason == "unknown_ticket"  # type: ignore[union-attr]
    missing = rules.decide(mail("[#HD-99]"), sender=ANN, reference=rules.TicketReference(number="HD-99"),
                           ticket=None, domain_customer=None, limits=LIMITS)
    assert isinstance(missing, rules.Refuse) and missing.reason == "unknown_ticket"


@pytest.mark.parametrize("status", [Status.DONE, Status.REJECTED])
def test_a_reply_to_a_closed_ticket_is_refused_ticket_closed(status: Status):
    assert decide(mail("Re: [#HD-12]"), status=status).reason == "ticket_closed"  # type: ignore[union-attr]


def test_med_4_a_blocked_customers_user_is_refused():
    blocked = rules.Sender("user-ann", "acme", customer_active=False)
    assert decide(mail(), sender=blocked) == rules.Refuse("customer_blocked", "the customer has no active contract (MED-4)",
                                                          "acme")


def test_med4_imc2_mail_from_a_blocked_or_deactivated_user_is_refused():
    blocked = rules.Sender("user-ann", "acme", customer_active=True, user_active=False)
    assert decide(mail(), sender=blocked) == rules.Refuse(
        "user_blocked", "the sender's account is blocked or deactivated (MED-4, IMC-2)", "acme")


def test_imc_3_an_unknown_sender_is_forwarded_to_the_customer_of_its_domain_else_refused():
    acme = rules.Customer("acme", "it@acme.test")
    assert decide(mail(), sender=None, domain_customer=acme) == rules.Forward("acme", "it@acme.test", "It hangs.")
    assert decide(mail(), sender=None).reason == "unknown_sender"  # type: ignore[union-attr]


def test_too_large_attachments_are_refused_first():
    big = rules.MailAttachment("dump.bin", "application/octet-stream", b"x" * 101)
    small = rules.MailAttachment("a.txt", "text/plain", b"x")
    assert decide(mail(attachments=(big,))).reason == "too_large"  # type: ignore[union-attr]
    assert decide(mail(attachments=(small,) * 3), sender=None).reason == "too_large"  # type: ignore[union-attr]
    assert isinstance(decide(mail(attachments=(small,) * 2)), rules.Open)


def test_the_mail_id_is_one_per_sender_and_message_id_or_per_content():
    assert rules.mail_id("ann@acme.test", "<a@b>", "1" * 64) == rules.mail_id("ann@acme.test", "<a@b>", "2" * 64)
    assert rules.mail_id("ann@acme.test", None, "1" * 64) != rules.mail_id("ann@acme.test", None, "2" * 64)
    assert rules.mail_id("ann@acme.test", "<a@b>", "1" * 64) == uuid.uuid5(rules.NAMESPACE, "ann@acme.test\n<a@b>")
    # someone else reusing Ann's Message-ID does not make her mail a "duplicate" of theirs
    assert rules.mail_id("eve@evil.test", "<a@b>", "1" * 64) != rules.mail_id("ann@acme.test", "<a@b>", "1" * 64)


def test_med_6_an_automatic_reply_is_refused_auto_reply_never_a_clarification():
    out_of_office = replaced(mail(subject="Re: [#HD-12] Printer", text="I am on leave until Monday."),
                                    automatic=True)
    refusal = decide(out_of_office, status=Status.AWAITING_CUSTOMER)
    assert isinstance(refusal, rules.Refuse) and refusal.reason == "auto_reply"
    assert isinstance(decide(replaced(mail(), automatic=True), sender=None), rules.Refuse)


def test_every_outcome_is_one_creation_event_with_a_public_fact():
    ctx = Context(actor_id="smtp-listener", role=Role.SERVICE, now=NOW)
    headers = rules.MailHeaders("<m@acme>", "ann@acme.test", "Printer")
    files = (Attachment(id="a" * 64, filename="a.png", content_type="image/png", size=3),)
    outcomes = [
        InboundMail.register(ctx, id=uuid.uuid4(), headers=headers, ticket_id=TICKET_ID, number="HD-12",
                             customer_id="acme", comment_id="c1"),
        InboundMail.refuse(ctx, id=uuid.uuid4(), headers=headers, reason="no_subject", detail="d",
                           customer_id="acme", language="ru"),
        InboundMail.forward(ctx, id=uuid.uuid4(), headers=headers, customer_id="acme", forward_to="it@acme.test",
                            text="t", attachments=files),
    ]
    facts = []
    for outcome in outcomes:
        (event,) = outcome.collect_events()
        assert event.originator_version == 1 and event.mutate(None).outcome == outcome.outcome
        facts.append(to_mail_fact(event))
    registered, refused, forwarded = facts
    assert isinstance(registered, mail_events.MailRegistered) and registered.comment_id == "c1"
    assert isinstance(refused, mail_events.MailRefused) and refused.reason == "no_subject"
    assert isinstance(forwarded, mail_events.MailForwarded) and forwarded.attachments == files
    assert registered.sender == "ann@acme.test" and registered.occurred_at == NOW


def test_imc_3_mail_from_the_customers_own_address_is_not_forwarded_back_to_it():
    own = rules.Customer("acme", "it@acme.test")
    itself = dataclasses.replace(mail(), sender="it@acme.test")
    assert isinstance(decide(itself, sender=None, domain_customer=own), rules.Refuse)
    assert isinstance(decide(mail(), sender=None, domain_customer=own), rules.Forward)
