"""Who hears what about SLA facts and inbound-mail outcomes: notify's pure decisions (no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import mail_events as mail
from helpdesk_shared import sla_events as sla
from helpdesk_shared.policies import load_policies
from helpdesk_shared.vocabulary import Channel, Role, Status

from helpdesk_notify.adapters.policies import PolicyWindows
from helpdesk_notify.application.delivery import Contact, Job, _contact
from helpdesk_notify.domain.mail_notices import decide_mail
from helpdesk_notify.domain.notifications import decide
from helpdesk_notify.domain.recipients import DirectoryEntry, Staff
from helpdesk_notify.domain.sla_notices import decide_sla
from helpdesk_notify.domain.threading import thread_headers
from helpdesk_notify.domain.ticket import TicketView, evolve
from tests.notify.facts import AGENT, REQUESTER, T0, History, mail_fact

DUE = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
WINDOWS = PolicyWindows(load_policies())


def view_of(*events: ev.CloudEvent) -> TicketView:
    view = None
    for event in events:
        view = evolve(view, event.data)
    assert view is not None
    return view


def staff(*people: tuple[str, str, str | None]) -> Staff:
    roster = Staff()
    for user_id, role, department in people:
        roster.add(DirectoryEntry(id=user_id, kind="user", email=f"{user_id}@desk.test", role=role,
                                  department=department))
    return roster


def test_imc8_at_risk_goes_to_the_responsible_agent_with_the_due_time_in_the_policy_zone() -> None:
    ticket = History("HD-8")
    view = view_of(ticket.opened(policy="imc"), ticket.assign(AGENT))
    fact = ticket.sla(sla.AtRisk, policy="imc", kind="resolution", due_at=DUE)
    [mail_] = decide_sla(fact, view, None, WINDOWS)
    assert (mail_.recipient_id, mail_.template, mail_.dedup_key) == (AGENT, "sla_at_risk", f"{fact.id}:{AGENT}")
    assert mail_.context["kind"] == "resolution" and mail_.context["number"] == "HD-8"
    due = dt.datetime.fromisoformat(mail_.context["due_at"])
    assert due == DUE and due.utcoffset() == dt.timedelta(hours=3)  # Moscow, the IMC calendar's zone
    assert mail_.context["escalated"] is None


def test_imc8_breach_goes_to_the_owner_when_nobody_is_responsible() -> None:
    ticket = History()
    view = view_of(ticket.opened(), ticket.assign(None, owner="user-owner"))
    [mail_] = decide_sla(ticket.sla(sla.Breached, kind="first_response", due_at=DUE), view)
    assert (mail_.recipient_id, mail_.template) == ("user-owner", "sla_breached")
    assert mail_.context["due_at"] == DUE.isoformat()  # no policy known: told in UTC


def test_imc8_warning_of_an_unassigned_ticket_goes_to_its_department_else_to_the_admins() -> None:
    roster = staff(("l2-a", "agent", "L2"), ("l2-b", "agent", "L2"), ("boss", "admin", None),
                   ("auditor", "auditor", "L2"))
    ticket = History()
    in_l2 = view_of(ticket.opened(), ticket.assign(None, department="L2"))
    fact = ticket.sla(sla.AtRisk, kind="resolution", due_at=DUE)
    mails = decide_sla(fact, in_l2, roster)
    assert [(m.recipient_id, m.context["escalated"]) for m in mails] == [("l2-a", "department"),
                                                                         ("l2-b", "department")]
    nowhere = view_of(ticket.opened())
    assert [(m.recipient_id, m.context["escalated"]) for m in decide_sla(fact, nowhere, roster)] == [
        ("boss", "admins")]
    assert decide_sla(fact, nowhere, Staff()) == []  # nobody to tell: the ticket's sla block shows it


def test_imc8_no_warning_about_a_ticket_that_closed_before_the_fact_arrived() -> None:
    ticket = History()
    view = view_of(ticket.opened(), ticket.assign(),
                   ticket.move(ev.Rejected, status=Status.REJECTED, reason="дубликат"))
    assert decide_sla(ticket.sla(sla.Breached, kind="resolution", due_at=DUE), view) == []


def test_end4_weekly_reminder_reaches_the_requester_with_the_question_asked() -> None:
    ticket = History()
    asked = ticket.move(ev.ClarificationRequested, status=Status.AWAITING_CUSTOMER,
                        comment="Пришлите журнал обмена")
    view = view_of(ticket.opened(policy="endocs"), ticket.assign(), asked)
    [mail_] = decide_sla(ticket.sla(sla.ReminderDue, policy="endocs", status=Status.AWAITING_CUSTOMER),
                         view, None, WINDOWS)
    assert (mail_.recipient_id, mail_.template) == (REQUESTER, "reminder")
    assert mail_.context["question"] == "Пришлите журнал обмена"
    assert dt.datetime.fromisoformat(mail_.context["asked_at"]) == asked.time


def test_end4_no_reminder_once_the_customer_answered_nor_for_the_agent_side() -> None:
    ticket = History()
    waiting = [ticket.opened(), ticket.move(ev.ClarificationRequested, status=Status.AWAITING_CUSTOMER,
                                            comment="?")]
    answered = view_of(*waiting, ticket.move(ev.ClarificationReceived, Role.CUSTOMER, status=Status.NEW,
                                             from_status=Status.AWAITING_CUSTOMER))
    due = ticket.sla(sla.ReminderDue, status=Status.AWAITING_CUSTOMER)
    assert decide_sla(due, answered) == []
    to_agent = ticket.sla(sla.ReminderDue, status=Status.AWAITING_CUSTOMER, to="agent")
    assert decide_sla(to_agent, view_of(*waiting)) == []


@pytest.mark.parametrize("fact_class, fields", [
    (sla.TransitionDue, {"status": Status.AWAITING_CUSTOMER, "action": "reject", "reason": "no answer"}),
    (sla.Paused, {}), (sla.Resumed, {}),
    (sla.Met, {"kind": "first_response", "due_at": DUE, "stopped_at": T0}),
    (sla.TargetSet, {"kind": "resolution", "due_at": DUE, "started_at": T0}),
])
def test_sla_bookkeeping_and_transitions_mail_nobody(fact_class: type[sla.SlaFact], fields: dict) -> None:
    ticket = History()
    assert decide_sla(ticket.sla(fact_class, **fields), view_of(ticket.opened(), ticket.assign())) == []


def test_ks1_mail_without_a_subject_is_answered_to_its_sender_in_reply_to_it() -> None:
    refused = mail_fact(mail.MailRefused, "Ann@Acme.test", reason="no_subject", detail="no Subject header",
                        language="en", message_id="abc-1@acme.test", customer_id="c1")
    [reply] = decide_mail(refused)
    assert (reply.recipient_id, reply.template) == ("mailto:Ann@Acme.test", "mail_refused")
    assert reply.context["reason"] == "no_subject" and reply.context["language"] == "en"
    assert thread_headers(reply.context) == ("<abc-1@acme.test>", "<abc-1@acme.test>")
    assert reply.dedup_key == f"{refused.id}:mailto:Ann@Acme.test" and "number" not in reply.context


def test_med4_mail_from_a_blocked_customer_is_answered_with_why() -> None:
    [reply] = decide_mail(mail_fact(mail.MailRefused, "ann@acme.test", "Счёт", reason="customer_blocked",
                                    detail="contract inactive", customer_id="c1"))
    assert (reply.context["reason"], reply.context["language"], reply.context["original_subject"]) == (
        "customer_blocked", "ru", "Счёт")


def test_bounces_and_unreadable_senders_are_never_answered() -> None:
    for sender in ("MAILER-DAEMON@mx.acme.test", "postmaster@acme.test", "not an address", ""):
        assert decide_mail(mail_fact(mail.MailRefused, sender, reason="malformed", detail="", customer_id="c1")) == []


def test_strangers_are_never_answered_a_forged_from_would_make_us_mail_its_victim() -> None:
    for reason in ("unknown_sender", "malformed", "no_subject"):
        assert decide_mail(mail_fact(mail.MailRefused, "victim@elsewhere.test", reason=reason, detail="")) == []


def test_a_refusal_speaks_the_language_set_for_its_customer() -> None:
    [reply] = decide_mail(mail_fact(mail.MailRefused, "ann@acme.test", reason="no_subject", detail="",
                                    customer_id="c1"))
    job = Job(1, reply.recipient_id, reply.template, reply.context, "<m@helpdesk>", 1)
    assert _contact(job, {"c1": Contact("c1", "it@acme.test", "Acme", "en")}).language == "en"
    assert _contact(job, {}).language == "ru"


def test_automatic_replies_are_recorded_but_never_answered_rfc_3834() -> None:
    assert decide_mail(mail_fact(mail.MailRefused, "ann@acme.test", reason="auto_reply", detail="")) == []


def test_imc3_mail_from_a_non_user_goes_to_the_customer_address_with_text_and_attachments() -> None:
    shot = ev.Attachment(id="f" * 64, filename="screen.png", content_type="image/png", size=2048)
    forwarded = mail_fact(mail.MailForwarded, "stranger@acme.test", "Не печатает", customer_id="c1",
                          forward_to="it@acme.test", text="Помогите", attachments=(shot,))
    [mail_] = decide_mail(forwarded)
    assert (mail_.recipient_id, mail_.template) == ("mailto:it@acme.test", "mail_forwarded")
    assert (mail_.context["sender"], mail_.context["text"]) == ("stranger@acme.test", "Помогите")
    assert mail_.context["attachments"] == [{"filename": "screen.png", "size": 2048}]


def test_registered_mail_needs_no_mail_of_its_own() -> None:
    registered = mail_fact(mail.MailRegistered, "ann@acme.test", "Принтер", ticket_id="t", number="HD-1",
                           customer_id="c1")
    assert decide_mail(registered) == []


def test_tel6_acknowledgement_of_an_email_ticket_answers_the_customers_message() -> None:
    ticket = History("HD-61")
    opened = ticket.opened(message_id="<orig-1@acme.test>")
    [ack] = decide(opened, view_of(opened))
    root = f"<ticket-{ticket.ticket_id}@helpdesk>"
    assert thread_headers(ack.context) == ("<orig-1@acme.test>", f"<orig-1@acme.test> {root}")
    later = ticket.comment("Перезагрузите")
    [answer] = decide(later, view_of(opened, later))
    assert thread_headers(answer.context) == (root, f"<orig-1@acme.test> {root}")


def test_a_foreign_message_id_that_could_inject_headers_is_dropped() -> None:
    ticket = History()
    opened = ticket.opened(message_id="<a@b>\r\nBcc: victim@example.test")
    assert view_of(opened).origin_message_id is None


@pytest.mark.parametrize("channel", list(Channel))
def test_ks6_the_solution_is_mailed_to_the_requester_whatever_the_channel(channel: Channel) -> None:
    ticket = History()
    opened = ticket.opened(channel=channel)
    proposed = ticket.move(ev.SolutionProposed, status=Status.CUSTOMER_TESTING, comment="Обновите драйвер")
    [mail_] = decide(proposed, view_of(opened, proposed))
    assert (mail_.recipient_id, mail_.template, mail_.context["solution"]) == (
        REQUESTER, "solution_proposed", "Обновите драйвер")


def test_tel6_the_requester_is_told_by_mail_when_processing_starts() -> None:
    ticket = History("HD-6")
    opened = ticket.opened(policy="telemed")
    accepted = ticket.move(ev.Accepted)
    [mail_] = decide(accepted, view_of(opened, accepted), WINDOWS)
    assert (mail_.recipient_id, mail_.template, mail_.context["number"]) == (REQUESTER, "processing_started", "HD-6")
    other = History()
    opened, accepted = other.opened(policy="keysystems"), other.move(ev.Accepted)
    assert decide(accepted, view_of(opened, accepted), WINDOWS) == []  # a rule of TEL's only


def test_ks6_a_phone_requests_solution_asks_the_responsible_agent_to_call_instead_of_mailing_it() -> None:
    ticket = History("HD-7")
    opened, assigned = ticket.opened(policy="keysystems", channel=Channel.PHONE), ticket.assign(AGENT)
    proposed = ticket.event(ev.SolutionProposed, Role.AGENT, actor="user-colleague", status=Status.CUSTOMER_TESTING,
                            from_status=Status.IN_PROGRESS, comment="restart the app")
    [mail_] = decide(proposed, view_of(opened, assigned, proposed), WINDOWS)  # none to the customer
    assert (mail_.recipient_id, mail_.template, mail_.context["solution"]) == (AGENT, "solution_callback",
                                                                                "restart the app")


def test_ks6_an_email_requests_solution_still_goes_back_by_mail() -> None:
    ticket = History()
    opened, assigned = ticket.opened(policy="keysystems", channel=Channel.EMAIL), ticket.assign(AGENT)
    proposed = ticket.move(ev.SolutionProposed, status=Status.CUSTOMER_TESTING, comment="done")
    [mail_] = decide(proposed, view_of(opened, assigned, proposed), WINDOWS)
    assert (mail_.recipient_id, mail_.template) == (REQUESTER, "solution_proposed")


def test_imc8_a_warning_about_the_customers_own_deadline_goes_to_the_customer() -> None:
    ticket = History("HD-9")
    view = view_of(ticket.opened(policy="imc"), ticket.assign(AGENT))
    [mail_] = decide_sla(ticket.sla(sla.AtRisk, policy="imc", kind="acceptance", due_at=DUE), view, None, WINDOWS)
    assert (mail_.recipient_id, mail_.template, mail_.context["kind"]) == (REQUESTER, "sla_at_risk_customer",
                                                                           "acceptance")
