"""Reading real-world mail (adapters/mime.py): pure, no I/O. Encodings, structure, hostile input."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest

from helpdesk_intake.adapters.mime import MAX_SUBJECT, MAX_TEXT, Unreadable, parse
from tests.support.mail import message


def raw(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def test_a_plain_utf8_mail_is_read_with_its_ids():
    mail = parse(message("Ann Smith <Ann@Acme.Test>", "Invoices", "Printing hangs.",
                         message_id="<m1@acme.test>", headers={"In-Reply-To": "<a@b>", "References": "<c@d> <e@f>"}))
    assert (mail.sender, mail.subject, mail.text, mail.message_id) == (
        "ann@acme.test", "Invoices", "Printing hangs.", "<m1@acme.test>")
    assert mail.references == ("<a@b>", "<c@d>", "<e@f>")
    assert mail.attachments == ()


@pytest.mark.parametrize("charset", ["koi8-r", "windows-1251", "utf-8"])
@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
def test_russian_bodies_in_every_charset_and_transfer_encoding(charset: str, cte: str):
    text = "Не печатает принтер, ошибка E-17. Спасибо!"
    mail = parse(message("ivan@acme.test", "Принтер", text, charset=charset, cte=cte))
    assert mail.text == text and mail.subject == "Принтер"


@pytest.mark.parametrize("encoding", ["koi8-r", "windows-1251"])
def test_rfc2047_subjects_and_names_in_russian_charsets(encoding: str):
    word = base64.b64encode("Сломался принтер".encode(encoding)).decode()
    qp = "".join(f"={b:02X}" for b in "Иван".encode(encoding))
    mail = parse(raw(f"From: =?{encoding}?Q?{qp}?= <ivan@acme.test>\nSubject: =?{encoding}?B?{word}?=\n"
                     f"Content-Type: text/plain; charset={encoding}\nContent-Transfer-Encoding: 8bit\n\n"
                     "Добрый день", encoding))
    assert (mail.sender, mail.subject, mail.text) == ("ivan@acme.test", "Сломался принтер", "Добрый день")


def test_raw_8bit_headers_follow_the_charset_the_body_declares():
    mail = parse(raw("From: Иван <ivan@acme.test>\nSubject: Привет из КОИ\n"
                     "Content-Type: text/plain; charset=koi8-r\n\nтекст", "koi8-r"))
    assert (mail.subject, mail.text) == ("Привет из КОИ", "текст")


def test_undeclared_or_wrong_charsets_fall_back_to_utf8_then_windows_1251():
    assert parse(raw("From: a@acme.test\nSubject: s\n\nПривет", "windows-1251")).text == "Привет"
    wrong = raw("From: a@acme.test\nSubject: s\nContent-Type: text/plain; charset=x-unknown-42\n\nПривет")
    assert parse(wrong).text == "Привет"


def test_html_only_mail_becomes_text_without_markup_scripts_or_styles():
    html = ("<html><head><style>p {color: red}</style></head><body><p>Добрый&nbsp;день!</p>"
            "<script>alert(1)</script><ul><li>первое</li><li>второе</li></ul>1 &lt; 2</body></html>")
    mail = parse(message("a@acme.test", "s", "", html=html))
    assert mail.text == "Добрый день!\n\n- первое\n- второе\n1 < 2"


def test_alternative_prefers_plain_text_to_html():
    assert parse(message("a@acme.test", "s", "plain words", html="<p>html words</p>")).text == "plain words"


def test_attachments_keep_name_type_and_bytes_rfc2231_and_rfc2047_names_included():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    mail = parse(message("a@acme.test", "s", "see attached", attachments=(
        ("скриншот ошибки.png", "image/png", png), ("log.txt", "text/plain", b"line 1\n"))))
    (screenshot, log) = mail.attachments
    assert (screenshot.filename, screenshot.content_type, screenshot.content) == ("скриншот ошибки.png", "image/png", png)
    assert (log.filename, log.content) == ("log.txt", b"line 1\n")
    encoded = raw("From: a@acme.test\nSubject: s\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n"
                  "Content-Type: text/plain\n\nbody\n--XX\nContent-Type: application/pdf\n"
                  "Content-Disposition: attachment; filename=\"=?koi8-r?B?8NLJ18XU?=.pdf\"\n"
                  "Content-Transfer-Encoding: base64\n\nJVBERi0=\n--XX--\n")
    (pdf,) = parse(encoded).attachments
    assert (pdf.filename, pdf.content) == ("Привет.pdf", b"%PDF-")


def test_header_injection_is_flattened_and_control_characters_dropped():
    mail = parse(raw("From: a@acme.test\nSubject: =?utf-8?Q?hello=0D=0ABcc:_evil@x.test=00?=\n\nbo\x00dy\x07!"))
    assert mail.subject == "hello Bcc: evil@x.test" and mail.text == "body!"


def test_lone_surrogates_never_reach_the_text():
    mail = parse(raw("From: a@acme.test\nSubject: s\nContent-Type: text/plain; charset=utf-8\n\n")
                 + b"\xed\xa0\x80 ok \xff")
    mail.text.encode("utf-8")  # storable


def test_headers_are_capped_before_the_header_parser_sees_them():
    started = time.monotonic()
    mail = parse(raw("From: a@acme.test\nSubject: " + "=?utf-8?q?a?= " * 200_000 + "\n\nbody"))
    assert time.monotonic() - started < 5 and len(mail.subject or "") <= MAX_SUBJECT


def test_text_is_capped():
    assert len(parse(message("a@acme.test", "s", "x" * (MAX_TEXT * 2))).text) == MAX_TEXT


def test_no_subject_header_is_none_and_blank_is_blank():
    assert parse(message("a@acme.test", None)).subject is None
    assert parse(message("a@acme.test", "   ")).subject == ""


def test_deep_nesting_and_broken_structure_are_unreadable_with_the_sender_kept():
    nested = "".join(f"Content-Type: multipart/mixed; boundary=b{n}\n\n--b{n}\n" for n in range(2000))
    for body in (nested, nested[:4000]):
        with pytest.raises(Unreadable) as error:
            parse(raw(f"From: a@acme.test\nSubject: deep\nMessage-ID: <deep@x>\n{body}"))
        assert (error.value.sender, error.value.message_id) == ("a@acme.test", "<deep@x>")


@pytest.mark.parametrize("garbage", [b"", b"\x00\xff" * 100, b"Subject: no sender\r\n\r\nbody",
                                     b"From: nobody\r\n\r\nx", b"From: <>\r\n\r\n"])
def test_no_readable_sender_is_unreadable_without_one(garbage: bytes):
    with pytest.raises(Unreadable) as error:
        parse(garbage)
    canonical = garbage.replace(b"\r\n", b"\n").rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"
    assert error.value.sender is None and error.value.digest == hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"}, {"Auto-Submitted": "auto-generated; type=oof"},
    {"Precedence": "bulk"}, {"Precedence": "auto_reply"}, {"X-Autoreply": "yes"},
])
def test_automatic_messages_are_recognised_rfc_3834(headers: dict[str, str]):
    assert parse(message("ann@acme.test", "Out of office", "Back on Monday.", headers=headers)).automatic


@pytest.mark.parametrize("headers", [{}, {"Auto-Submitted": "no"}, {"Precedence": "first-class"}])
def test_mail_people_write_is_not_automatic(headers: dict[str, str]):
    assert not parse(message("ann@acme.test", "Printer", "It hangs.", headers=headers)).automatic


def test_delivery_reports_and_mail_systems_are_automatic_whatever_their_headers():
    report = message("MAILER-DAEMON@mx.acme.test", "Undelivered Mail Returned to Sender", "No such user.")
    assert parse(report).automatic
    assert parse(message("postmaster@acme.test", "Delivery delayed", "Still trying.")).automatic
    dsn = raw("From: robot@mx.acme.test\nSubject: Delivery Status Notification\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
              "--b\nContent-Type: text/plain\n\nFailed.\n--b--\n")
    assert parse(dsn).automatic


def test_hardening_mail_one_bad_byte_keeps_utf8():
    text = "Не печатается счёт-фактура, ошибка E-17. " * 200
    damaged = text[:2000].encode() + b"\xff" + text[2000:].encode()
    mail = parse(raw("From: a@acme.test\nSubject: s\nContent-Type: text/plain; charset=utf-8\n"
                     "Content-Transfer-Encoding: 8bit\n\n") + damaged)
    assert mail.text == (text[:2000] + "\ufffd" + text[2000:]).strip()
    header = parse(b"From: a@acme.test\r\nSubject: " + "Счёт за май".encode() + b"\xc0!\r\n\r\nbody")
    assert header.subject == "Счёт за май\ufffd!"  # raw 8-bit header: UTF-8 with one bad byte


def test_a_declared_charset_keeps_its_text_around_an_undefined_byte():
    cp1251 = "Счёт".encode("cp1251") + b"\x98" + " готов".encode("cp1251")  # 0x98 is undefined in cp1251
    mail = parse(raw("From: a@acme.test\nSubject: s\nContent-Type: text/plain; charset=windows-1251\n\n") + cp1251)
    assert mail.text == "Счёт\ufffd готов"


def test_a_part_in_another_charset_than_declared_is_still_read():
    mail = parse(raw("From: a@acme.test\nSubject: s\nContent-Type: text/plain; charset=utf-8\n\n")
                 + "Привет, это windows-1251".encode("cp1251"))
    assert mail.text == "Привет, это windows-1251"  # mostly invalid as UTF-8: mis-declared, not damaged


@pytest.mark.parametrize("head", [b"X-Mailer\x00: x\r\n", b"\x00\r\n", b"\x00", b"X-Note: n\r\n\x00 folded\r\n"])
def test_hardening_mail_control_bytes_in_a_header_block_are_dropped_never_fatal(head: bytes):
    mail = parse(head + b"From: ann@acme.test\r\nSubject: s\r\nContent-Type: text/pl\x00ain; charset=utf-8\x07\r\n"
                 b"Content-Transfer-Encoding: base64\x00\r\n\r\n" + base64.b64encode("тело\x00".encode()))
    assert (mail.sender, mail.subject, mail.text) == ("ann@acme.test", "s", "тело")


def test_hardening_mail_a_parts_header_block_is_cleaned_and_its_bytes_kept():
    binary = bytes(range(256))
    mail = parse(raw("From: a@acme.test\nSubject: s\nContent-Type: multipart/mixed; boundary=\"B\x00\"\n\n"
                     "--B\x00\nContent-Type: text/plain\n\nbody\n--B\nContent-\x00Type: application/octet-stream\n"
                     "\x01\nContent-Disposition: attachment; filename=\"a\x00.bin\"\n"
                     "Content-Transfer-Encoding: binary\n\n") + binary + b"\r\n--B--\r\n")
    (attachment,) = mail.attachments
    assert (mail.text, attachment.filename, attachment.content) == ("body", "a.bin", binary)
