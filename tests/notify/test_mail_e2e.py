"""intake, its relay and notify as real processes, mailing a real SMTP server (aiosmtpd).

Nobody provisions contacts: notify learns every address from the user and customer
facts intake's relay publishes; an admin only overrides (here: a customer's language).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.notify.mail import html_of, start_stack, text_of, user_id
from tests.support.mail import deliver, message

pytestmark = [pytest.mark.e2e]


def test_tel6_acknowledgement_goes_to_the_address_from_user_registered_with_the_number_in_a_threaded_mail(
        services: Any, smtp_catcher: Any) -> None:
    stack = start_stack(services, {"HELPDESK_MAIL_FROM": "Служба поддержки <support@desk.test>"})
    ticket = stack.desk.open(subject="Принтер не печатает", description="Горит")
    [mail] = smtp_catcher.wait(1)
    assert mail["Subject"] == f"[#{ticket['number']}] Заявка зарегистрирована: Принтер не печатает"
    # name and address as intake registered the user (helpdesk.user.<id>.registered)
    assert mail["To"] == "acme user <user@acme.test>" and "support@desk.test" in mail["From"]
    root = f"<ticket-{ticket['id']}@helpdesk>"
    assert mail["In-Reply-To"] == root and mail["References"] == root
    assert mail["Message-ID"].startswith("<mail-") and mail["Message-ID"] != root
    assert mail.get_content_type() == "multipart/alternative"
    assert ticket["number"] in text_of(mail) and "acme user" in text_of(mail)
    assert "<html" in html_of(mail) and ticket["number"] in html_of(mail)
    [row] = stack.deliveries(ticket_id=ticket["id"])
    assert (row["state"], row["message_id"], row["attempts"]) == ("sent", mail["Message-ID"], 1)


def test_public_comments_reach_the_other_side_and_internal_ones_never_reach_customers(
        services: Any, smtp_catcher: Any) -> None:
    stack = start_stack(services)
    desk, agent_id = stack.desk, user_id(stack.desk.agent)
    ticket = desk.open()
    smtp_catcher.wait(1)
    assert desk.act(ticket["id"], "accept").status_code == 200
    assert desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"responsible_id": agent_id},
                             headers=desk.agent).status_code == 200
    for body, visibility in (("vendor bug: do not tell the customer", "internal"),
                             ("Перезагрузите принтер", "public")):
        response = desk.client.post(f"/v1/tickets/{ticket['id']}/comments",
                                    json={"body": body, "visibility": visibility}, headers=desk.agent)
        assert response.status_code == 201, response.text
    response = desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json={"body": "Не помогло"},
                                headers=desk.customer)
    assert response.status_code == 201, response.text
    mails = smtp_catcher.wait(3)
    by_recipient = {m["X-RcptTo"]: m for m in mails[1:]}
    assert set(by_recipient) == {"user@acme.test", "agent@desk.test"}
    assert "Перезагрузите принтер" in text_of(by_recipient["user@acme.test"])
    assert "Не помогло" in text_of(by_recipient["agent@desk.test"])
    assert all(m["Subject"].startswith(f"[#{ticket['number']}] ") for m in mails)
    assert not any("do not tell" in m.as_string() for m in mails)
    assert sorted(r["template"] for r in stack.deliveries(ticket_id=ticket["id"])) == [
        "acknowledgement", "comment_added", "comment_added"]


def test_mail_is_in_russian_by_default_and_in_english_for_a_customer_an_admin_set_to_en(
        services: Any, smtp_catcher: Any) -> None:
    stack = start_stack(services)
    desk = stack.desk
    stack.override(desk.other_customer_id, language="en")  # the customer's users default to English
    ru = desk.open(subject="VPN")
    en = desk.open(headers=desk.other_customer, subject="VPN")
    mails = {m["X-RcptTo"]: m for m in smtp_catcher.wait(2)}
    assert mails["user@acme.test"]["Subject"] == f"[#{ru['number']}] Заявка зарегистрирована: VPN"
    assert mails["user@globex.test"]["Subject"] == f"[#{en['number']}] Request registered: VPN"
    assert "Your request has been registered" in text_of(mails["user@globex.test"])
    assert 'lang="en"' in html_of(mails["user@globex.test"])


def test_tel6_ks6_ks1_mail_to_the_desk_is_answered_by_mail_in_its_own_thread(services: Any,
                                                                              smtp_catcher: Any) -> None:
    """Through intake's email channel: the acknowledgement and the solution answer the customer's mail
    (TEL-6, END-2, KS-6); a mail without a subject gets a reply saying why (KS-1)."""
    stack = start_stack(services)
    desk = stack.desk
    raw = message("Ann <user@acme.test>", "Не печатает принтер", "С утра ошибка E-17.",
                  message_id="<q1@acme.test>")
    response = deliver(desk.client, raw)
    assert response.status_code == 201, response.text
    ticket_id, number = response.json()["ticket_id"], response.json()["number"]
    [ack] = smtp_catcher.wait(1)
    root = f"<ticket-{ticket_id}@helpdesk>"
    assert ack["Subject"] == f"[#{number}] Заявка зарегистрирована: Не печатает принтер"
    assert (ack["In-Reply-To"], ack["References"]) == ("<q1@acme.test>", f"<q1@acme.test> {root}")

    assert desk.act(ticket_id, "accept").status_code == 200
    assert desk.act(ticket_id, "propose_solution", comment="Обновите драйвер до 5.2").status_code == 200
    solution = smtp_catcher.wait(2)[1]
    assert solution["X-RcptTo"] == "user@acme.test" and solution["Subject"].startswith(f"[#{number}] ")
    assert "> Обновите драйвер до 5.2" in text_of(solution) and "<q1@acme.test>" in solution["References"]

    response = deliver(desk.client, message("user@acme.test", None, "Помогите", message_id="<q2@acme.test>"))
    assert response.status_code == 201 and response.json()["reason"] == "no_subject", response.text
    refusal = smtp_catcher.wait(3)[2]
    assert (refusal["X-RcptTo"], refusal["In-Reply-To"]) == ("user@acme.test", "<q2@acme.test>")
    assert "нет темы" in refusal["Subject"] and "[#" not in refusal["Subject"]
