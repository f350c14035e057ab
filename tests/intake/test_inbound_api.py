"""POST /v1/inbound/email in-process, over the real PostgreSQL and NATS: every outcome, as recorded."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import IntakeSettings
from tests.support.desk import Desk, provision
from tests.support.mail import (RFC822, assert_no_half_written_outcome, deliver, mail_events, message,
                                ticket_events)
from tests.support.tokens import session_keys_dir
from tests.support.processes import ADMIN_TOKEN
from tests.support.stream import fetch_attachment

ANN = "user@acme.test"  # acme's user in the provisioned desk; globex's is user@globex.test


def registered(response) -> dict:
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "registered", body
    return body


def refused(response, reason: str) -> dict:
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["outcome"], body.get("reason")) == ("refused", reason), body
    return body


def test_tel_6_mail_from_a_customer_user_opens_a_ticket_on_channel_email_with_a_number(desk: Desk, database_url):
    raw = message("Ann <User@ACME.test>", "Не печатает принтер", "С утра ошибка E-17.", message_id="<q1@acme.test>")
    body = registered(deliver(desk.client, raw))
    assert body["number"].startswith("HD-") and "comment_id" not in body and body["duplicate"] is False
    (opened,) = ticket_events(database_url, body["ticket_id"])
    assert (opened["kind"], opened["channel"], opened["number"]) == ("Opened", "email", body["number"])
    assert (opened["subject"], opened["description"]) == ("Не печатает принтер", "С утра ошибка E-17.")
    assert opened["message_id"] == "<q1@acme.test>" and opened["actor_role"] == "customer"
    assert opened["customer_id"] == desk.customer_id and opened["requester_id"] == opened["actor_id"]
    (outcome,) = mail_events(database_url)
    assert (outcome["kind"], outcome["ticket_id"], outcome["sender"]) == ("Registered", body["ticket_id"], ANN)


def test_ks_1_mail_without_subject_is_refused_and_sender_told(desk: Desk, database_url):
    for subject in (None, "  ", "Re: "):
        body = refused(deliver(desk.client, message(ANN, subject)), "no_subject")
        assert body["customer_id"] == desk.customer_id
    events = mail_events(database_url)
    assert [e["kind"] for e in events] == ["Refused"] * 3
    assert all(e["sender"] == ANN and e["language"] == "ru" and "KS-1" in e["detail"] for e in events)
    assert_no_half_written_outcome(database_url)


def test_imc_3_unknown_sender_forwarded_to_customer_address(desk: Desk, database_url, nats_url):
    png = b"\x89PNG" + bytes(range(200))
    raw = message("Boss <boss@acme.test>", "Please look", "From the boss.",
                  attachments=(("screen.png", "image/png", png),))
    body = deliver(desk.client, raw).json()
    assert (body["outcome"], body["forward_to"], body["customer_id"]) == ("forwarded", "it@acme.test", desk.customer_id)
    (forwarded,) = mail_events(database_url)
    assert forwarded["text"] == "From the boss."
    (attachment,) = forwarded["attachments"]
    assert attachment["_data_"]["id"] == hashlib.sha256(png).hexdigest()
    assert fetch_attachment(nats_url, attachment["_data_"]["id"]) == png
    refused(deliver(desk.client, message("someone@nowhere.test")), "unknown_sender")
    refused(deliver(desk.client, message("stranger@gmail.com")), "unknown_sender")  # a public domain names nobody


def test_the_ticket_number_in_the_subject_adds_a_public_comment_by_the_sender(desk: Desk, database_url):
    ticket = desk.open()
    body = registered(deliver(desk.client, message(ANN, f"Re: [#{ticket['number']}] Printer", "Still broken.")))
    assert (body["ticket_id"], body["number"]) == (ticket["id"], ticket["number"]) and body["comment_id"]
    comment = ticket_events(database_url, ticket["id"])[-1]
    assert (comment["kind"], comment["body"], comment["visibility"]) == ("CommentAdded", "Still broken.", "public")
    assert comment["comment_id"] == body["comment_id"] and comment["actor_role"] == "customer"
    assert_no_half_written_outcome(database_url)


def test_med_6_clarification_by_mail_resumes_ticket(client: TestClient, database_url):
    desk = provision(client, policy="medis")
    for thread in ("subject", "references"):
        ticket = desk.open()
        assert desk.act(ticket["id"], "accept").status_code == 200
        assert desk.act(ticket["id"], "request_clarification", comment="Which printer?").status_code == 200
        reply = (message(ANN, f"Re: [#{ticket['number']}] Printer", "The red one.") if thread == "subject" else
                 message(ANN, "Re: Printer", "The red one.",
                         headers={"In-Reply-To": "<mail-1@helpdesk>", "References": f"<ticket-{ticket['id']}@helpdesk>"}))
        registered(deliver(client, reply))
        *_, comment, received = ticket_events(database_url, ticket["id"])
        assert (comment["kind"], received["kind"]) == ("CommentAdded", "ClarificationReceived")
        assert (received["from_status"], received["to_status"]) == ("awaiting_customer", "new")  # MED-6


def test_ks_4_clarification_by_mail_resumes_a_keysystems_ticket(desk: Desk, database_url):
    ticket = desk.open()
    desk.act(ticket["id"], "accept")
    desk.act(ticket["id"], "request_clarification", comment="Which printer?")
    registered(deliver(desk.client, message(ANN, f"[#{ticket['number']}]", "The red one.")))
    assert ticket_events(database_url, ticket["id"])[-1]["kind"] == "ClarificationReceived"


def test_another_customers_ticket_is_unknown_and_a_closed_one_takes_no_mail(desk: Desk):
    theirs = desk.open(headers=desk.other_customer)
    refused(deliver(desk.client, message(ANN, f"Re: [#{theirs['number']}]")), "unknown_ticket")
    refused(deliver(desk.client, message(ANN, "Re: [#HD-999999]")), "unknown_ticket")
    mine = desk.open()
    assert desk.act(mine["id"], "reject", reason="duplicate").status_code == 200
    refused(deliver(desk.client, message(ANN, f"Re: [#{mine['number']}]")), "ticket_closed")


def test_med_4_blocked_customer_refused(desk: Desk, database_url):
    assert desk.client.patch(f"/v1/customers/{desk.customer_id}", json={"contract": {"active": False}},
                             headers=desk.admin).status_code == 200
    refused(deliver(desk.client, message(ANN)), "customer_blocked")
    assert [e["kind"] for e in mail_events(database_url)] == ["Refused"]


def test_a_duplicate_delivery_answers_the_first_outcome_and_records_nothing(desk: Desk, database_url, event_count):
    raw = message(ANN, "Once only", message_id="<once@acme.test>")
    first = registered(deliver(desk.client, raw))
    events = event_count()
    again = deliver(desk.client, raw.replace(b"It hangs.", b"It hangs!"))  # same Message-ID, resent
    assert again.status_code == 200 and again.json() == {**first, "duplicate": True}
    assert event_count() == events
    no_id = message(ANN, "No id", message_id=None)
    first = deliver(desk.client, no_id).json()
    assert deliver(desk.client, no_id).json() == {**first, "duplicate": True}  # same bytes, same mail
    keyed = {**RFC822, "Idempotency-Key": "mail-1"}
    once = deliver(desk.client, message(ANN, "Keyed", message_id="<keyed@acme.test>"), headers=keyed)
    twice = deliver(desk.client, message(ANN, "Keyed", message_id="<keyed@acme.test>"), headers=keyed)
    assert (once.status_code, once.json()) == (twice.status_code, twice.json()) == (201, once.json())


def test_attachments_are_stored_before_and_referenced_from_the_ticket_with_their_digest(desk: Desk, database_url,
                                                                                        nats_url):
    files = (("скриншот.png", "image/png", b"\x89PNG" + bytes(range(256)) * 40),
             ("журнал.txt", "text/plain", "строка 1\n".encode()))
    opened = registered(deliver(desk.client, message(ANN, "With files", attachments=files)))
    reply = registered(deliver(desk.client, message(ANN, f"[#{opened['number']}]", "one more",
                                                    attachments=files[:1])))
    opened_event, comment = ticket_events(database_url, opened["ticket_id"])
    assert comment["comment_id"] == reply["comment_id"]
    for event, sent in ((opened_event, files), (comment, files[:1])):
        stored = [a["_data_"] for a in event["attachments"]]
        assert [(a["filename"], a["content_type"], a["size"]) for a in stored] == [
            (name, kind, len(content)) for name, kind, content in sent]
        for attachment, (_, _, content) in zip(stored, sent):
            assert attachment["id"] == hashlib.sha256(content).hexdigest()
            assert fetch_attachment(nats_url, attachment["id"]) == content


def test_russian_encodings_koi8_and_windows_1251_by_base64_and_qp_and_html_only_mail(desk: Desk, database_url):
    subject = "=?koi8-r?B?" + base64.b64encode("Сломалась печать".encode("koi8-r")).decode() + "?="
    cases = [
        (message(ANN, "Счёт", "Не печатается счёт.", charset="windows-1251", cte="base64"),
         "Счёт", "Не печатается счёт."),
        (message(ANN, "Счёт", "Не печатается счёт.", charset="koi8-r", cte="quoted-printable"),
         "Счёт", "Не печатается счёт."),
        (f"From: {ANN}\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=windows-1251\r\n"
         "Content-Transfer-Encoding: 8bit\r\n\r\n".encode() + "Текст в cp1251".encode("cp1251"),
         "Сломалась печать", "Текст в cp1251"),
        (message(ANN, "HTML", "", html="<div>Добрый <b>день</b>!<br>Вторая строка</div>"),
         "HTML", "Добрый день!\nВторая строка"),
    ]
    for raw, subject_text, description in cases:
        body = registered(deliver(desk.client, raw))
        (opened,) = ticket_events(database_url, body["ticket_id"])
        assert (opened["subject"], opened["description"]) == (subject_text, description)


def test_who_may_deliver_and_what_is_not_a_message(desk: Desk, event_count):
    events = event_count()
    assert deliver(desk.client, message(ANN), headers={**desk.customer, "Content-Type": "message/rfc822"}
                   ).status_code == 403
    assert deliver(desk.client, message(ANN), headers={**desk.agent, "Content-Type": "message/rfc822"}
                   ).status_code == 403
    wrong_type = deliver(desk.client, message(ANN), headers={**desk.admin, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and wrong_type.json()["code"] == "unsupported_media_type"
    no_sender = deliver(desk.client, b"Subject: who am I\r\n\r\nbody")
    assert no_sender.status_code == 400 and no_sender.json()["code"] == "validation_failed"
    assert event_count() == events


@pytest.fixture
def small_limits(database_url: str, nats_url: str) -> Iterator[TestClient]:
    settings = IntakeSettings(database_url=database_url, nats_url=nats_url, admin_token=ADMIN_TOKEN,
                              jwt_keys_dir=str(session_keys_dir()), inbound_max_message_bytes=200_000,
                              inbound_max_attachment_bytes=10_000)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_too_large_attachments_are_refused_and_a_too_large_message_is_413(small_limits: TestClient, database_url):
    provision(small_limits)
    body = refused(deliver(small_limits, message(ANN, attachments=(("big.bin", "application/octet-stream",
                                                                      b"x" * 20_000),))), "too_large")
    assert "big.bin" in body["detail"]
    huge = deliver(small_limits, message(ANN, body="x" * 300_000))
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    assert [e["kind"] for e in mail_events(database_url)] == ["Refused"]
    assert small_limits.post("/v1/tickets", headers=RFC822, content=b"x" * 2_000_000).status_code == 413
