"""Mail from templates: Jinja2 in Russian (the default) and English, plain text and HTML.

``templates/<lang>/<name>.txt.j2`` holds the subject (block ``subject``) and the text
body; ``<name>.html.j2`` the HTML body, autoescaped. Every subject of a ticket's mail
is prefixed with ``[#<number>]`` here, not in the templates, so that none can lose it
(TEL-6); mail about no ticket (an inbound mail refused or forwarded) has no number.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import functools
import random
import re
import sys
from dataclasses import dataclass
from email.header import Header
from email.policy import compat32
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
_ONE_LINE = re.compile(r"\S+(?: \S+)*")  # no line break, no run of blanks, none at the ends


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


def compose(rendered: Rendered, envelope: Envelope, date: dt.datetime, boundary: str | None = None) -> bytes:
    """An RFC 5322 message, multipart/alternative, threaded as the envelope says.

    Byte for byte what ``email.mime`` (``MIMEMultipart`` of two utf-8 ``MIMEText`` parts) and its
    generator produce under the compat32 policy, written directly: that generator re-folds every
    header and re-walks the parts, most of notify's CPU per mail. Headers longer than a line or not
    plain ASCII still go through the policy's own folding. ``boundary``: random unless given (tests).
    """
    boundary = boundary or f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="
    head = [b'Content-Type: multipart/alternative;\n boundary="%s"\nMIME-Version: 1.0\n' % boundary.encode(),
            _header("From", _address(envelope.sender)),
            _header("To", email.utils.formataddr((envelope.recipient_name, envelope.recipient), charset="utf-8")),
            compat32.fold_binary("Subject", Header(rendered.subject, "utf-8")),
            _header("Date", email.utils.format_datetime(date)),
            _header("Message-ID", envelope.message_id)]
    if envelope.in_reply_to:
        head.append(_header("In-Reply-To", envelope.in_reply_to))
    if envelope.references:
        head.append(_header("References", envelope.references))
    # RFC 3834: no auto-replies to us
    head.append(_header("Auto-Submitted", "auto-replied" if envelope.auto_replied else "auto-generated"))
    # base64 has no "-": no part can contain the boundary line
    delimiter = b"\n--%s" % boundary.encode()
    return b"".join([*head, b"\n", delimiter[1:], b"\n", _part("plain", rendered.text), delimiter, b"\n",
                     _part("html", rendered.html), delimiter, b"--\n"])


def _header(name: str, value: str) -> bytes:
    """``Name: value`` as the compat32 policy folds it; one short ASCII line is itself."""
    if value.isascii() and len(name) + len(value) <= 76 and _ONE_LINE.fullmatch(value):
        return f"{name}: {value}\n".encode()
    return compat32.fold_binary(name, value)


def _part(subtype: str, text: str) -> bytes:
    """A utf-8 text part, base64 in lines of 76, as ``MIMEText(text, subtype, "utf-8")``."""
    return (b'Content-Type: text/%s; charset="utf-8"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n'
            % subtype.encode()) + base64.encodebytes(text.encode())


@functools.lru_cache(maxsize=32)  # the one From of every mail: parsed once
def _address(value: str) -> str:
    name, address = email.utils.parseaddr(value)
    return email.utils.formataddr((name, address), charset="utf-8") if address else value
