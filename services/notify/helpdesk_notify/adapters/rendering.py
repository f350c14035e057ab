"""Mail from templates: Jinja2 in Russian (the default) and English, plain text and HTML.

``templates/<lang>/<name>.txt.j2`` holds the subject (block ``subject``) and the text
body; ``<name>.html.j2`` the HTML body, autoescaped. Every subject of a ticket's mail
is prefixed with ``[#<number>]`` here, not in the templates, so that none can lose it
(TEL-6); mail about no ticket (an inbound mail refused or forwarded) has no number.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Envelope:
    """Who sends, who receives, and the ids that thread the mail."""

    sender: str  # a From header value: "Helpdesk <helpdesk@example>"
    recipient: str  # an address
    recipient_name: str
    message_id: str
    in_reply_to: str | None = None
    references: str | None = None
    auto_replied: bool = False  # RFC 3834: an automatic answer to a message, not a notice of our own


def _when(value: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    if not value:
        return ""
    at = dt.datetime.fromisoformat(value)
    offset = at.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return at.strftime("%d.%m.%Y %H:%M" if lang == "ru" else "%Y-%m-%d %H:%M") + f" ({zone})"


def _quote(value: str) -> str:
    return "\n".join(f"> {line}" for line in str(value).splitlines())


def _paragraphs(value: str) -> Markup:
    return Markup("<br>\n").join(escape(line) for line in str(value).splitlines())


def _size(value: int | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A file size people read: bytes, KB or MB (in Russian: байт, КБ, МБ)."""
    units = ("байт", "КБ", "МБ") if lang == "ru" else ("bytes", "KB", "MB")
    size = float(value or 0)
    if size < 1024:
        return f"{int(size)} {units[0]}"
    unit = 1 if size < 1024 * 1024 else 2
    shown = f"{size / 1024 ** unit:.1f}".removesuffix(".0")
    return f"{shown.replace('.', ',') if lang == 'ru' else shown} {units[unit]}"


class Renderer:
    """Renders a notification's template in a language; templates are compiled once."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("helpdesk_notify", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            undefined=StrictUndefined, keep_trailing_newline=True, auto_reload=False)
        self._env.filters.update(when=_when, quote=_quote, paragraphs=_paragraphs, size=_size)

    def render(self, template: str, language: str, context: dict[str, Any]) -> Rendered:
        lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
        values = {"recipient_name": "", **context, "lang": lang}
        text_template = self._env.get_template(f"{lang}/{template}.txt.j2")
        subject = "".join(text_template.blocks["subject"](text_template.new_context(values))).strip()
        html = self._env.get_template(f"{lang}/{template}.html.j2").render(values)
        subject = " ".join(subject.split())
        number = context.get("number")
        text = _tidy(text_template.render(values))
        return Rendered(f"[#{number}] {subject}" if number else subject, text, html)


def _tidy(text: str) -> str:
    """At most one blank line in a row, and no trailing spaces (except the signature's "-- ")."""
    lines = [line if line == "-- " else line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out) + "\n"


def compose(rendered: Rendered, envelope: Envelope, date: dt.datetime) -> bytes:
    """An RFC 5322 message, multipart/alternative, threaded as the envelope says.

    Built with the ``email.mime`` classes: several times cheaper than ``EmailMessage``'s
    header registry, which matters at hundreds of mails a second.
    """
    message = MIMEMultipart("alternative")
    message["From"] = _address(envelope.sender)
    message["To"] = email.utils.formataddr((envelope.recipient_name, envelope.recipient), charset="utf-8")
    message["Subject"] = Header(rendered.subject, "utf-8")
    message["Date"] = email.utils.format_datetime(date)
    message["Message-ID"] = envelope.message_id
    if envelope.in_reply_to:
        message["In-Reply-To"] = envelope.in_reply_to
    if envelope.references:
        message["References"] = envelope.references
    # RFC 3834: no auto-replies to us
    message["Auto-Submitted"] = "auto-replied" if envelope.auto_replied else "auto-generated"
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    return message.as_bytes()


def _address(value: str) -> str:
    name, address = email.utils.parseaddr(value)
    return email.utils.formataddr((name, address), charset="utf-8") if address else value
