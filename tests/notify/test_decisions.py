"""Who hears what: notify's pure decision over ticket events (no I/O)."""

from __future__ import annotations

import datetime as dt

from helpdesk_shared import events as ev
from helpdesk_shared.policies import load_policies
from helpdesk_shared.vocabulary import Category, Channel, Role, Status

from helpdesk_notify.adapters.policies import PolicyWindows
from helpdesk_notify.domain.delivery import Backoff
from helpdesk_notify.domain.notifications import Notification, decide
from helpdesk_notify.domain.threading import message_id, root_message_id
from helpdesk_notify.domain.ticket import TicketView, evolve
from tests.notify.facts import AGENT, CUSTOMER_ID, REQUESTER, History


def replay(*events: ev.CloudEvent, windows=None) -> tuple[TicketView, list[Notification]]:
    """The view after all events, and what the last one causes."""
    view = None
    for event in events:
        view = evolve(view, event.data)
    assert view is not None
    return view, (decide(events[-1], view, windows) if windows else decide(events[-1], view))


def test_tel6_acknowledgement_carries_the_request_number() -> None:
    ticket = History("HD-1042")
    _, [mail] = replay(ticket.opened())
    assert (mail.recipient_id, mail.template) == (REQUESTER, "acknowledgement")
    assert mail.context["number"] == "HD-1042"
    assert mail.context["subject"] == "Принтер не печатает"


def test_end2_registration_is_notified_by_email_even_to_the_requester_who_filed_it() -> None:
    ticket = History()
    opened = ticket.opened()
    assert opened.data.actor.id == REQUESTER
    _, mails = replay(opened)
    assert [m.template for m in mails] == ["acknowledgement"]


def test_a_ticket_filed_by_phone_without_a_requester_acknowledges_to_the_customer_address() -> None:
    _, [mail] = replay(History().opened(requester=None, channel=Channel.PHONE))
    assert mail.recipient_id == CUSTOMER_ID


def test_dedup_key_is_event_id_and_recipient_so_each_mail_is_queued_once() -> None:
    opened = History().opened()
    _, [mail] = replay(opened)
    assert mail.dedup_key == f"{opened.id}:{REQUESTER}"
    assert replay(opened)[1] == [mail]  # deciding again decides the same


def test_internal_comments_never_reach_customers() -> None:
    ticket = History()
    secret = ticket.comment("vendor bug, do not tell", visibility="internal")
    _, mails = replay(ticket.opened(), ticket.assign(), secret)
    assert mails == []


def test_public_agent_comment_goes_to_the_customer_side() -> None:
    ticket = History()
    _, [mail] = replay(ticket.opened(), ticket.assign(), ticket.comment("Перезагрузите принтер"))
    assert (mail.recipient_id, mail.template, mail.context["body"]) == (REQUESTER, "comment_added",
                                                                         "Перезагрузите принтер")
    assert mail.context["from_customer"] is False


def test_customer_comment_goes_to_the_responsible_agent() -> None:
    ticket = History()
    _, [mail] = replay(ticket.opened(), ticket.assign(), ticket.comment("Всё ещё горит", role=Role.CUSTOMER))
    assert (mail.recipient_id, mail.template) == (AGENT, "comment_added")
    assert mail.context["from_customer"] is True


def test_customer_comment_on_an_unassigned_ticket_mails_nobody() -> None:
    ticket = History()
    _, mails = replay(ticket.opened(), ticket.comment("ну что там?", role=Role.CUSTOMER))
    assert mails == []


def test_nobody_is_mailed_about_their_own_action() -> None:
    ticket = History()
    _, mails = replay(ticket.opened(), ticket.assign("user-agent"),
                      ticket.comment("note to self", role=Role.AGENT))
    assert [m.recipient_id for m in mails] == [REQUESTER]  # the agent who wrote it hears nothing
    _, mails = replay(ticket.opened(), ticket.assign(REQUESTER), ticket.comment("a", role=Role.CUSTOMER))
    assert mails == []


def test_end4_clarification_request_reaches_the_customer_with_the_question() -> None:
    ticket = History()
    _, [mail] = replay(ticket.opened(), ticket.move(ev.ClarificationRequested, status=Status.AWAITING_CUSTOMER,
                                                    comment="Какая модель принтера?"))
    assert (mail.recipient_id, mail.template, mail.context["question"]) == (
        REQUESTER, "clarification_requested", "Какая модель принтера?")


def test_imc8_solution_reaches_the_customer_with_the_acceptance_window_of_the_policy() -> None:
    ticket = History()
    opened = ticket.opened(policy="imc", category=Category.SUPPORT)
    proposed = ticket.move(ev.SolutionProposed, status=Status.CUSTOMER_TESTING, comment="Обновите драйвер")
    _, [mail] = replay(opened, proposed,
                       windows=PolicyWindows(load_policies()))
    assert (mail.template, mail.context["solution"]) == ("solution_proposed", "Обновите драйвер")
    until = dt.datetime.fromisoformat(mail.context["acceptance_until"])
    assert until - proposed.time >= dt.timedelta(days=5)  # 5 business days (IMC-8 support/normal)
    assert until.utcoffset() == dt.timedelta(hours=3)  # told in the policy's time zone (Moscow)


def test_ks6_a_solution_without_a_policy_window_is_still_delivered() -> None:
    ticket = History()
    _, [mail] = replay(ticket.opened(policy=None),
                       ticket.move(ev.SolutionProposed, status=Status.CUSTOMER_TESTING, comment="Готово"))
    assert mail.context["acceptance_until"] is None and mail.recipient_id == REQUESTER


def test_end4_automatic_close_says_no_response_and_lists_what_was_done_so_far() -> None:
    ticket = History()
    _, [mail] = replay(
        ticket.opened(), ticket.assign(),
        ticket.move(ev.Accepted),
        ticket.comment("Смотрим журнал"),
        ticket.comment("internal", visibility="internal"),
        ticket.move(ev.ClarificationRequested, status=Status.AWAITING_CUSTOMER, comment="Пришлите журнал"),
        ticket.move(ev.Rejected, Role.SERVICE, status=Status.REJECTED, from_status=Status.AWAITING_CUSTOMER,
                    reason="нет ответа от клиента", automatic=True))
    assert (mail.recipient_id, mail.template) == (REQUESTER, "rejected")
    assert mail.context["automatic"] is True and mail.context["reason"] == "нет ответа от клиента"
    assert [(s["what"], s["note"]) for s in mail.context["done_so_far"]] == [
        ("accepted", None), ("comment_added", "Смотрим журнал"),
        ("clarification_requested", "Пришлите журнал")]


def test_agent_rejection_reaches_the_customer_with_its_reason() -> None:
    ticket = History()
    rejected = ticket.move(ev.Rejected, status=Status.REJECTED, reason="вне договора")
    _, [mail] = replay(ticket.opened(), rejected)
    assert (mail.template, mail.context["reason"]) == ("rejected", "вне договора")
    assert mail.context["done_so_far"] == []


def test_customer_withdrawal_reaches_the_responsible_agent() -> None:
    ticket = History()
    _, [mail] = replay(ticket.opened(), ticket.assign(),
                       ticket.move(ev.Rejected, Role.CUSTOMER, status=Status.REJECTED, reason="сами починили"))
    assert (mail.recipient_id, mail.template) == (AGENT, "withdrawn")


def test_automatic_close_after_the_acceptance_window_reaches_the_customer() -> None:
    ticket = History()
    _, [mail] = replay(ticket.opened(), ticket.move(ev.SolutionAccepted, Role.SERVICE, status=Status.DONE,
                                                    reason="срок проверки истёк", automatic=True))
    assert (mail.recipient_id, mail.template) == (REQUESTER, "closed_automatically")


def test_customer_acceptance_and_return_reach_the_responsible_agent() -> None:
    ticket = History()
    _, [accepted] = replay(ticket.opened(), ticket.assign(),
                           ticket.move(ev.SolutionAccepted, Role.CUSTOMER, status=Status.DONE))
    _, [returned] = replay(ticket.opened(), ticket.assign(),
                           ticket.move(ev.ReturnedToWork, Role.CUSTOMER, comment="не работает"))
    assert (accepted.recipient_id, accepted.template) == (AGENT, "solution_accepted")
    assert (returned.recipient_id, returned.template, returned.context["comment"]) == (
        AGENT, "returned_to_work", "не работает")


def test_bookkeeping_events_mail_nobody() -> None:
    ticket = History()
    for event in (ticket.assign(), ticket.event(ev.PriorityChanged, priority="high"),
                  ticket.event(ev.TimeLogged, entry_id="e", minutes=5, billed_minutes=30)):
        assert replay(ticket.opened(), event)[1] == []


def test_every_mail_of_a_ticket_threads_under_its_root_message_id() -> None:
    ticket = History(ticket_id="7d1c0a4e-6b1e-4d8e-9a6a-3f1f0c2b9e11")
    view, [mail] = replay(ticket.opened())
    assert view.root_message_id == mail.context["root_message_id"] == (
        "<ticket-7d1c0a4e-6b1e-4d8e-9a6a-3f1f0c2b9e11@helpdesk>")
    assert root_message_id("a.b@c") .startswith("<ticket-") and "@c" not in root_message_id("a.b@c")


def test_message_id_is_derived_from_the_dedup_key_so_a_resend_carries_the_same_one() -> None:
    assert message_id("evt-1:user") == message_id("evt-1:user") != message_id("evt-1:other")


def test_backoff_doubles_then_gives_up_into_the_dead_letter_state() -> None:
    backoff = Backoff(max_attempts=4, first=1.0, longest=3.0)
    assert [backoff.after_failure(n, permanent=False) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, None]
    assert backoff.after_failure(1, permanent=True) is None
