"""``compose`` writes mail byte for byte as ``email.mime`` and its compat32 generator would.

The reference below is how notify built its mail before (``MIMEMultipart`` of two utf-8
``MIMEText`` parts, ``as_bytes``); with the same boundary both must give the same bytes, for
every template and language and for headers that fold (long, non-ASCII, blanks at their edges).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import itertools
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from helpdesk_notify.adapters.rendering import Envelope, Rendered, Renderer, compose
from tests.notify.test_rendering import CONTEXTS

BOUNDARY = "===============4324183459754319335=="
WHEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
renderer = Renderer()


def reference(rendered: Rendered, envelope: Envelope, date: dt.datetime) -> bytes:
    message = MIMEMultipart("alternative")
    name, address = email.utils.parseaddr(envelope.sender)
    message["From"] = email.utils.formataddr((name, address), charset="utf-8") if address else envelope.sender
    message["To"] = email.utils.formataddr((envelope.recipient_name, envelope.recipient), charset="utf-8")
    message["Subject"] = Header(rendered.subject, "utf-8")
    message["Date"] = email.utils.format_datetime(date)
    message["Message-ID"] = envelope.message_id
    if envelope.in_reply_to:
        message["In-Reply-To"] = envelope.in_reply_to
    if envelope.references:
        message["References"] = envelope.references
    message["Auto-Submitted"] = "auto-replied" if envelope.auto_replied else "auto-generated"
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    message.set_boundary(BOUNDARY)
    return message.as_bytes()


ENVELOPES = [
    Envelope("Helpdesk <helpdesk@localhost>", "u@b.test", "u", "<mail-1@helpdesk>", "<ticket-t1@helpdesk>",
             "<ticket-t1@helpdesk>"),
    Envelope("Служба поддержки <desk@example.test>", "anna@acme.test", "Анна Петрова",
             "<mail-2@helpdesk>", "<in-1@acme.test>", "<in-1@acme.test> <ticket-t1@helpdesk>",
             auto_replied=True),
    Envelope("desk@example.test", "x@y.test", "", "<mail-3@helpdesk>"),
    Envelope("Helpdesk <helpdesk@localhost>", "long.name@customer.example.test", "A" * 70,
             "<mail-" + "a" * 40 + "@helpdesk>", "<" + "b" * 60 + "@customer.example.test>",
             " ".join(f"<ref-{n}-{'c' * 30}@customer.example.test>" for n in range(4))),
    Envelope("Helpdesk  Team <helpdesk@localhost>", "q@b.test", "Name, with comma", "<m@h>", " <lead@blank>",
             "<tail@blank> "),
]


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_template_composes_as_email_mime_does(template: str, language: str) -> None:
    rendered = renderer.render(template, language, CONTEXTS[template])
    for envelope in ENVELOPES:
        assert compose(rendered, envelope, WHEN, BOUNDARY) == reference(rendered, envelope, WHEN)


@pytest.mark.parametrize("width", range(60, 82))
def test_headers_at_the_folding_width_compose_as_email_mime_does(width: int) -> None:
    """Values around the 78-column line, ASCII and not, with and without blanks to fold at."""
    for filler, subject in itertools.product(("x", "x y", "ж"), ("S", "Тема", "[#HD-1] " + "word " * 20)):
        value = (filler * width)[:width]
        envelope = Envelope("Desk <d@t.test>", "r@t.test", value, f"<{value.replace(' ', '.')}@h>",
                            f"<{value.replace(' ', '')}@h>", value)
        rendered = Rendered(subject + value[: width // 4], f"{value}\n" * 3, "")
        assert compose(rendered, envelope, WHEN, BOUNDARY) == reference(rendered, envelope, WHEN)


def test_a_composed_mail_parses_with_its_parts_and_a_fresh_boundary_each_time() -> None:
    rendered = renderer.render("acknowledgement", "ru", CONTEXTS["acknowledgement"])
    first, second = (compose(rendered, ENVELOPES[1], WHEN) for _ in range(2))
    message = email.message_from_bytes(first, policy=email.policy.default)
    assert message["To"] == "Анна Петрова <anna@acme.test>"
    assert message["Subject"] == rendered.subject
    assert message.get_body(("plain",)).get_content() == rendered.text  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == rendered.html  # type: ignore[union-attr]
    assert message.get_boundary() != email.message_from_bytes(second).get_boundary()
