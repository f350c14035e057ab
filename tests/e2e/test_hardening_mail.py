"""Issue #15's mail items against the real intake: ``helpdesk-intake serve`` and ``smtp`` as processes.

Mail goes in as clients really send it: ``smtplib`` to the listener, ``urllib`` and httpx to
``POST /v1/inbound/email``; what came of it is read from the event store.
"""

from __future__ import annotations

import json
import re
import smtplib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.desk import Desk, provision
from tests.support.mail import (RFC822, assert_no_half_written_outcome, mail_events, message, start_listener,
                                ticket_events)

ANN = "user@acme.test"
ACCEPTED = re.compile(r"^2\.0\.0 (registered|refused|forwarded) ([0-9a-f-]{36})$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


@pytest.fixture
def intake(services):
    """intake serving HTTP with its SMTP listener beside it, and a provisioned desk: (desk, smtp port)."""
    process = services.start("intake", "serve")
    _, port = start_listener(services)
    with httpx.Client(base_url=process.url, timeout=60) as client:
        yield provision(client), port


def smtp_send(port: int, raw: bytes) -> tuple[int, str]:
    """One message through smtplib, as Python programs and many MTAs send it: the reply to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo()
        smtp.mail("mta@sender.test")
        smtp.rcpt("support@desk.test")
        code, text = smtp.data(raw)
    return code, text.decode()


def accepted(reply: tuple[int, str]) -> tuple[str, str]:
    code, text = reply
    assert code == 250 and (match := ACCEPTED.match(text)), reply
    return match.group(1), match.group(2)


def opened(database_url: str, mail_id: str) -> dict:
    """The Opened event of the ticket the mail ``mail_id`` registered."""
    (outcome,) = [e for e in mail_events(database_url) if e["mail_id"] == mail_id]
    assert outcome["kind"] == "Registered", outcome
    return ticket_events(database_url, outcome["ticket_id"])[0]


def test_hardening_mail_nul_in_mail_is_cleaned_not_refused(intake: tuple[Desk, int], database_url):
    desk, port = intake
    raw = ("X-Mailer\x00: a broken one\r\n\x00\x01\r\n"  # a NUL before From: ended the header block
           f"From: =?utf-8?Q?A=00nn=07?= <{ANN}>\r\nTo: support@desk.test\r\n"
           "Subject: Prin\x00ter =?utf-8?Q?on=1B_fire=ED=A0=80?=\r\n"
           "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
           "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIt\x00 hangs\x01\x0b\x7f.\tTab kept.\r\n"
           "--B\r\nContent-Type: text/plain\r\n\x00\r\n"
           "Content-Disposition: attachment; filename*=utf-8''log%00%1B%ED%A0%80.txt\r\n"
           "\r\nline\x00\r\n--B--\r\n").encode()
    for delivered in ("http", "smtp"):
        body = raw.replace(b"Subject: ", f"Subject: {delivered} ".encode())
        if delivered == "http":
            response = desk.client.post("/v1/inbound/email", content=body, headers=RFC822)
            assert response.status_code == 201, response.text
            outcome, mail_id = response.json()["outcome"], response.json()["mail_id"]
        else:
            outcome, mail_id = accepted(smtp_send(port, body))
        assert outcome == "registered"
        event = opened(database_url, mail_id)
        assert re.fullmatch(f"{delivered} Printer on fire\ufffd+", event["subject"]), event["subject"]
        assert event["description"] == "It hangs.\tTab kept."
        (attachment,) = [a["_data_"] for a in event["attachments"]]
        assert re.fullmatch("log\ufffd+.txt", attachment["filename"]), attachment["filename"]
        for stored in [event, *mail_events(database_url)]:
            assert not CONTROL.search(json.dumps(stored, ensure_ascii=False)), stored


def test_hardening_mail_http_oversize_answers_413_to_urllib(intake: tuple[Desk, int], database_url):
    desk, _ = intake
    huge = b"From: user@acme.test\r\nSubject: big\r\n\r\n" + b"x" * (26 * 1024 * 1024)
    request = urllib.request.Request(f"{desk.client.base_url}/v1/inbound/email", data=huge, method="POST",
                                     headers=RFC822)

    def post() -> urllib.error.HTTPError:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        return refused.value

    with ThreadPoolExecutor(1) as pool:  # a client thread, as any program posting mail would be
        error = pool.submit(post).result(timeout=120)
    assert error.code == 413 and error.headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(error.read())["code"] == "payload_too_large"
    assert mail_events(database_url) == []
    assert desk.client.get("/readyz").status_code == 200


def test_hardening_mail_smtp_accepts_long_lines(intake: tuple[Desk, int], database_url):
    _, port = intake
    line = "Журнал: " + "ошибка E-17; " * 5000  # ~120 KB on one line, as some mailers send HTML or logs
    raw = (f"From: {ANN}\r\nSubject: A long line\r\nContent-Type: text/plain; charset=utf-8\r\n"
           f"Content-Transfer-Encoding: 8bit\r\n\r\nfirst\r\n{line}\r\nlast\r\n").encode()
    outcome, mail_id = accepted(smtp_send(port, raw))
    assert outcome == "registered"
    assert opened(database_url, mail_id)["description"] == f"first\n{line}\nlast"


def test_hardening_mail_same_mail_without_message_id_over_http_then_smtp_has_one_outcome(
        intake: tuple[Desk, int], database_url):
    desk, port = intake
    raw = message(ANN, "Sent twice, without an id", "First line.\nSecond line.", message_id=None)
    assert b"\r\n" not in raw  # as a file on disk has it; smtplib sends it with CRLF
    first = desk.client.post("/v1/inbound/email", content=raw, headers=RFC822)
    assert first.status_code == 201 and first.json()["outcome"] == "registered", first.text
    assert accepted(smtp_send(port, raw)) == ("registered", first.json()["mail_id"])
    again = desk.client.post("/v1/inbound/email", content=raw.replace(b"\n", b"\r\n"), headers=RFC822)
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    (outcome,) = assert_no_half_written_outcome(database_url)
    assert outcome["mail_id"] == first.json()["mail_id"]


def test_hardening_mail_one_bad_byte_keeps_utf8(intake: tuple[Desk, int], database_url):
    _, port = intake
    paragraph = "Добрый день! После обновления не печатается счёт-фактура, ошибка E-17.\n" * 60
    body = paragraph.encode() + b"\xff" + paragraph.encode()  # 16 KB, one byte of it no UTF-8
    raw = (f"From: {ANN}\r\nSubject: =?utf-8?B?0KHRh9GR0YI=?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + body
    outcome, mail_id = accepted(smtp_send(port, raw))
    assert outcome == "registered"
    event = opened(database_url, mail_id)
    assert event["subject"] == "Счёт"
    assert event["description"] == (paragraph + "\ufffd" + paragraph).strip()
