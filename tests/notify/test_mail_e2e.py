"""intake, its relay and notify as real processes, mailing a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.notify.mail import html_of, start_stack, text_of, user_id
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


def test_tel6_the_requester_gets_an_acknowledgement_with_the_number_in_a_threaded_mail(
        services: Any, smtp_catcher: Any) -> None:
    stack = start_stack(services, {"HELPDESK_MAIL_FROM": "Служба поддержки <support@desk.test>"})
    stack.contact(user_id(stack.desk.customer), "user@acme.test", name="Анна")
    ticket = stack.desk.open(subject="Принтер не печатает", description="Горит")
    [mail] = smtp_catcher.wait(1)
    assert mail["Subject"] == f"[#{ticket['number']}] Заявка зарегистрирована: Принтер не печатает"
    assert mail["To"] == "Анна <user@acme.test>" and "support@desk.test" in mail["From"]
    root = f"<ticket-{ticket['id']}@helpdesk>"
    assert mail["In-Reply-To"] == root and mail["References"] == root
    assert mail["Message-ID"].startswith("<mail-") and mail["Message-ID"] != root
    assert mail.get_content_type() == "multipart/alternative"
    assert ticket["number"] in text_of(mail) and "Анна" in text_of(mail)
    assert "<html" in html_of(mail) and ticket["number"] in html_of(mail)
    [row] = stack.deliveries(ticket_id=ticket["id"])
    assert (row["state"], row["message_id"], row["attempts"]) == ("sent", mail["Message-ID"], 1)


def test_public_comments_reach_the_other_side_and_internal_ones_never_reach_customers(
        services: Any, smtp_catcher: Any) -> None:
    stack = start_stack(services)
    desk, agent_id = stack.desk, user_id(stack.desk.agent)
    stack.contact(user_id(desk.customer), "user@acme.test")
    stack.contact(agent_id, "agent@desk.test")
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


def test_mail_is_in_russian_by_default_and_in_english_when_the_contact_says_en(services: Any,
                                                                                smtp_catcher: Any) -> None:
    stack = start_stack(services)
    desk = stack.desk
    stack.contact(user_id(desk.customer), "user@acme.test")
    stack.contact(user_id(desk.other_customer), "user@globex.test", language="en")
    ru = desk.open(subject="VPN")
    en = desk.open(headers=desk.other_customer, subject="VPN")
    mails = {m["X-RcptTo"]: m for m in smtp_catcher.wait(2)}
    assert mails["user@acme.test"]["Subject"] == f"[#{ru['number']}] Заявка зарегистрирована: VPN"
    assert mails["user@globex.test"]["Subject"] == f"[#{en['number']}] Request registered: VPN"
    assert "Your request has been registered" in text_of(mails["user@globex.test"])
    assert 'lang="en"' in html_of(mails["user@globex.test"])


def test_mail_for_a_recipient_without_a_contact_is_dead_until_an_admin_adds_one_and_retries(
        services: Any, smtp_catcher: Any) -> None:
    stack = start_stack(services)
    ticket = stack.desk.open()
    [dead] = wait_until(lambda: stack.deliveries(state="dead"), timeout=15)
    assert dead["ticket_id"] == ticket["id"] and "no contact" in dead["last_error"]
    stack.contact(user_id(stack.desk.customer), "late@acme.test")
    assert stack.admin.post(f"/v1/admin/deliveries/{dead['id']}/retry").status_code == 202
    [mail] = smtp_catcher.wait(1)
    assert mail["X-RcptTo"] == "late@acme.test"
