"""A close without a solution mails the customer what was done so far (END-4, IMC-6), as intake listed it.

intake, its relay and notify as real processes, mailing a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.notify.mail import html_of, start_stack, text_of

pytestmark = [pytest.mark.e2e]


def test_end4_imc6_an_agents_close_mails_the_customer_what_was_done_so_far(services: Any, smtp_catcher: Any) -> None:
    desk = start_stack(services).desk
    ticket = desk.open(subject="Выгрузка", description="Не выгружается отчёт")
    assert desk.act(ticket["id"], "accept", comment="Взяли в работу").status_code == 200
    for body, visibility in (("Проверили журнал сервера", "public"), ("не для клиента", "internal")):
        response = desk.client.post(f"/v1/tickets/{ticket['id']}/comments",
                                    json={"body": body, "visibility": visibility}, headers=desk.agent)
        assert response.status_code == 201, response.text
    closed = desk.act(ticket["id"], "reject", reason="ответ от клиента не получен")
    assert closed.status_code == 200, closed.text
    mails = smtp_catcher.wait(3)
    [mail] = [m for m in mails if "отклонена" in m["Subject"]]
    assert mail["X-RcptTo"] == "user@acme.test"
    text = text_of(mail)
    assert "Причина: ответ от клиента не получен" in text
    listed = text.split("Что было сделано по заявке:", 1)[1]
    assert "принята в работу: Взяли в работу" in listed
    assert "комментарий поддержки: Проверили журнал сервера" in listed
    assert "не для клиента" not in mail.as_string()
    assert "Проверили журнал сервера" in html_of(mail)
