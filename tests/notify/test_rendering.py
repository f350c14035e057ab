"""Every template in Russian and English, text and HTML; the wording rules ask for; the headers."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from typing import Any

import pytest

from helpdesk_notify.adapters.rendering import Envelope, Renderer, compose
from helpdesk_notify.domain.threading import thread_headers

TICKET = {"ticket_id": "t1", "number": "HD-7", "subject": "Принтер", "status": "in_progress",
          "channel": "email", "occurred_at": "2026-03-02T09:00:00+00:00",
          "root_message_id": "<ticket-t1@helpdesk>"}
MAIL = {"sender": "ann@acme.test", "received_at": "2026-03-02T09:00:00+00:00", "language": "ru"}
REASONS = ("no_subject", "customer_blocked", "unknown_sender", "unknown_ticket", "ticket_closed", "too_large",
           "malformed", "channel_closed", "user_blocked")
CONTEXTS: dict[str, dict[str, Any]] = {
    "sla_at_risk": {**TICKET, "kind": "resolution", "due_at": "2026-03-03T18:00:00+03:00", "priority": "high",
                    "category": "error", "department": None, "escalated": None},
    "sla_breached": {**TICKET, "kind": "first_response", "due_at": "2026-03-03T18:00:00+03:00",
                     "priority": "normal", "category": None, "department": "L2", "escalated": "department"},
    "reminder": {**TICKET, "question": "Какая модель?", "asked_at": "2026-03-02T12:00:00+03:00"},
    "mail_refused": {**MAIL, "reason": "no_subject", "detail": "", "original_subject": ""},
    "mail_forwarded": {**MAIL, "original_subject": "Help", "text": "строка 1\nстрока 2",
                       "attachments": [{"filename": "a.png", "size": 123456}]},
    "acknowledgement": {**TICKET, "description": "d", "attachments": [{"filename": "s.png", "size": 2048}]},
    "processing_started": TICKET,  # TEL-6
    "solution_callback": {**TICKET, "solution": "Перезапустите службу"},  # KS-6
    "sla_at_risk_customer": {**TICKET, "kind": "acceptance", "due_at": "2026-03-03T18:00:00+03:00"},  # IMC-8
}
renderer = Renderer()


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_new_template_renders_in_both_languages_with_text_and_html(template: str, language: str) -> None:
    rendered = renderer.render(template, language, CONTEXTS[template])
    assert rendered.text.strip() and f'lang="{language}"' in rendered.html
    has_ticket = "number" in CONTEXTS[template]
    assert rendered.subject.startswith("[#HD-7] ") is has_ticket  # TEL-6: the number wherever there is one
    assert "http" not in rendered.text  # plain descriptions, no links


@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_refusal_reason_has_its_own_explanation(reason: str, language: str) -> None:
    text = renderer.render("mail_refused", language, {**CONTEXTS["mail_refused"], "reason": reason}).text
    fallback = {"ru": "Ваше обращение не зарегистрировано.\n", "en": "Your request was not registered.\n"}
    assert fallback[language] not in text


def test_ks1_refusal_says_the_request_was_not_registered_for_lack_of_a_subject() -> None:
    en = renderer.render("mail_refused", "en", CONTEXTS["mail_refused"])
    assert "your request was not registered because it has no subject; please resend it with a subject" in (
        en.text.lower())
    ru = renderer.render("mail_refused", "ru", CONTEXTS["mail_refused"])
    assert "не зарегистрировано, потому что в письме нет темы" in ru.text and "указав тему" in ru.text
    assert ru.subject == "Обращение не зарегистрировано: в письме нет темы"


def test_med4_refusal_says_the_contract_is_not_active() -> None:
    text = renderer.render("mail_refused", "ru", {**CONTEXTS["mail_refused"], "reason": "customer_blocked",
                                                  "original_subject": "Счёт"}).text
    assert "нет действующего договора" in text and "«Счёт»" in text


def test_imc3_forward_names_the_sender_quotes_the_text_and_lists_attachments() -> None:
    rendered = renderer.render("mail_forwarded", "ru", CONTEXTS["mail_forwarded"])
    assert "ann@acme.test" in rendered.text and "не зарегистрирован" in rendered.text
    assert "> строка 1\n> строка 2" in rendered.text and "- a.png (120,6 КБ)" in rendered.text
    assert "строка 1<br>" in rendered.html and "<li>a.png (120,6 КБ)</li>" in rendered.html


def test_sla_warning_tells_the_kind_and_due_time_in_the_policys_zone() -> None:
    rendered = renderer.render("sla_at_risk", "ru", CONTEXTS["sla_at_risk"])
    assert rendered.subject == "[#HD-7] Срок под угрозой (решение): Принтер"
    assert "03.03.2026 18:00 (UTC+03:00)" in rendered.text and "предупредите клиента" in rendered.text
    escalated = renderer.render("sla_breached", "en", CONTEXTS["sla_breached"])
    assert "staff of the L2 department" in escalated.text


def test_acknowledgement_lists_the_attachments_that_came() -> None:
    assert "- s.png (2 KB)" in renderer.render("acknowledgement", "en", CONTEXTS["acknowledgement"]).text


def _headers(context: dict[str, Any], **envelope: Any) -> Any:
    in_reply_to, references = thread_headers(context)
    rendered = renderer.render("mail_refused", "en", CONTEXTS["mail_refused"])
    raw = compose(rendered, Envelope("Desk <desk@test>", "ann@acme.test", "", "<mail-1@helpdesk>", in_reply_to,
                                     references, **envelope), dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_refusal_is_an_automatic_reply_to_the_refused_message() -> None:
    message = _headers({"in_reply_to": "<in-1@acme.test>"}, auto_replied=True)
    assert (message["In-Reply-To"], message["References"]) == ("<in-1@acme.test>", "<in-1@acme.test>")
    assert message["Auto-Submitted"] == "auto-replied"


def test_a_forward_answers_nothing() -> None:
    message = _headers({})
    assert message["In-Reply-To"] is None and message["References"] is None
    assert message["Auto-Submitted"] == "auto-generated"
