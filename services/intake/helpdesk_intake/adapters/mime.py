"""Reading real-world mail: raw bytes → ``ParsedMail``, or ``Unreadable`` — never anything else.

The standard library's modern API (``BytesParser`` with ``email.policy.default``) does
the MIME work: multipart/alternative and mixed, quoted-printable and base64, RFC 2047
encoded words and RFC 2231 filenames. What is added makes it fit for hostile input:
- every header value is cut to ``MAX_HEADER_CHARS`` *before* the header parser sees it
  (that parser is super-linear: 200 KB of words take seconds, 2 MB of encoded words
  exhaust memory);
- nesting, the number of parts, of boundary lines and of header lines are capped;
- charsets: the declared one, else UTF-8, else the one the other parts declare, else
  windows-1251 — so 8-bit headers and undeclared Russian text come out readable; a few bad
  bytes (most non-ASCII ones valid) keep the charset and become U+FFFD, so one broken byte
  never turns a UTF-8 part into windows-1251 mojibake;
- HTML-only mail becomes text (``html_text``); texts are capped (``MAX_TEXT``);
- decoded headers lose CR/LF and control characters (no header injection downstream),
  and lone surrogates, which neither JSON nor PostgreSQL can store; header blocks lose
  control bytes before parsing (``mail_text``): mail is cleaned, never refused, for them.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import EmailPolicy
from typing import Any

from helpdesk_intake.adapters.html_text import html_to_text
from helpdesk_intake.adapters.mail_text import clean_header, clean_header_blocks, clean_text, header_block_end
from helpdesk_intake.domain.mail import MailAttachment, ParsedMail

MAX_HEADER_CHARS = 8192
MAX_SUBJECT = 500
MAX_TEXT = 100_000
MAX_HTML = 1_000_000
MAX_DEPTH = 30
MAX_PARTS = 500
MAX_BOUNDARY_LINES = 2000
MAX_HEADER_LINES = 20_000  # in all header blocks together; a block is read up to HEADER_BLOCK_BYTES
HEADER_BLOCK_BYTES = 256 * 1024
MAX_FILENAME = 200
MAX_REFERENCES = 100
FALLBACK_CHARSET = "windows-1251"
_ASCII = bytes(range(128))

_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"\\@]{1,64}@[^\s<>()\[\],;:\"\\@]{1,253}")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")
_BOUNDARY_LINE = re.compile(rb"\n--[^\r\n]*\r?\n")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


class Unreadable(Exception):
    """The bytes are not a mail that can be read; what could still be read comes along."""

    def __init__(self, detail: str, *, digest: str, sender: str | None = None,
                 message_id: str | None = None, subject: str | None = None) -> None:
        super().__init__(detail)
        self.detail, self.digest = detail, digest
        self.sender, self.message_id, self.subject = sender, message_id, subject


class _Policy(EmailPolicy):
    """``email.policy.default``, with every header value capped as it is read from the source."""

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        name, value = super().header_source_parse(sourcelines)
        return name[:200], value[:MAX_HEADER_CHARS]


POLICY = _Policy()


def parse(raw: bytes) -> ParsedMail:
    """Read a mail; raises ``Unreadable`` (and nothing else) for what cannot be read."""
    digest = content_digest(raw)
    # Checked first, on the bytes: every part and every header line costs the parser memory.
    if raw.count(b"\n--") > MAX_BOUNDARY_LINES:
        raise _unreadable(raw, digest, f"more than {MAX_BOUNDARY_LINES} MIME boundary lines")
    if _header_lines(raw) > MAX_HEADER_LINES:
        raise _unreadable(raw, digest, f"more than {MAX_HEADER_LINES} header lines")
    try:
        message = BytesParser(policy=POLICY).parsebytes(clean_header_blocks(raw, HEADER_BLOCK_BYTES))
        return _read(message, digest)
    except Unreadable:
        raise
    except Exception as error:  # noqa: BLE001 - hostile input may make the library throw anything
        raise _unreadable(raw, digest, f"the message cannot be read: {type(error).__name__}") from None


def content_digest(raw: bytes) -> str:
    """SHA-256 (hex) of the mail with CRLF line endings and one line end after its last line: a mail
    posted with LF endings over HTTP, and sent over SMTP (CRLF, or LF with a CRLF added), is one mail."""
    canonical = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip(b"\n").replace(b"\n", b"\r\n")
    return hashlib.sha256(canonical + b"\r\n").hexdigest()


def _header_lines(raw: bytes) -> int:
    """Lines in the header blocks: the message's, and each one after a boundary-like line."""
    starts = (0, *(m.end() for m in _BOUNDARY_LINE.finditer(raw)))
    return sum(raw.count(b"\n", start, header_block_end(raw, start, HEADER_BLOCK_BYTES)) for start in starts)


def _unreadable(raw: bytes, digest: str, detail: str) -> Unreadable:
    """Unreadable, with the sender, id and subject if the header block alone can be read."""
    try:
        head = BytesHeaderParser(policy=POLICY).parsebytes(
            clean_header_blocks(raw[:512 * 1024], HEADER_BLOCK_BYTES))
        return Unreadable(detail, digest=digest, sender=_sender(head), message_id=_message_id(head),
                          subject=_subject(head, None))
    except Exception:  # noqa: BLE001 - not even the headers: nobody to tell
        return Unreadable(detail, digest=digest)


def _read(message: EmailMessage, digest: str) -> ParsedMail:
    sender = _sender(message)
    if sender is None:
        raise Unreadable("no readable From address", digest=digest, message_id=_message_id(message))
    leaves = _leaves(message, digest, sender)
    hint = next((c for part in leaves if (c := _charset(part))), None)
    bodies = [p for p in leaves if _is_body(p)]
    plain = [p for p in bodies if p.get_content_type() == "text/plain"]
    text = _joined(_decode(_payload(p), _charset(p), hint) for p in plain) or _joined(
        html_to_text(clean_text(_decode(_payload(p), _charset(p), hint)[:MAX_HTML]))  # a NUL hides a <script>
        for p in bodies if p not in plain)
    return ParsedMail(
        digest=digest, sender=sender, message_id=_message_id(message),
        subject=_subject(message, hint), text=clean_text(text[:MAX_TEXT]),
        references=_references(message),
        automatic=_automatic(message),
        attachments=tuple(a for n, part in enumerate(p for p in leaves if not _is_body(p))
                          if (a := _attachment(part, n + 1)) is not None),
    )


def _joined(texts: Any) -> str:
    return "\n\n".join(t.strip() for t in texts if t.strip())


def _leaves(message: Message, digest: str, sender: str) -> list[Message]:
    """The message's non-multipart parts in document order; an attached message is one leaf."""
    leaves: list[Message] = []
    stack: list[tuple[Message, int]] = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_PARTS:
            raise Unreadable(f"more than {MAX_DEPTH} nested or {MAX_PARTS} MIME parts", digest=digest,
                             sender=sender, message_id=_message_id(message), subject=_subject(message, None))
        children = part.get_payload() if part.get_content_maintype() == "multipart" else None
        if isinstance(children, list):
            stack.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
        else:
            leaves.append(part)
    return leaves


def _is_body(part: Message) -> bool:
    return (part.get_content_type() in ("text/plain", "text/html")
            and part.get_content_disposition() != "attachment" and not _filename(part))


def _payload(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822" or part.is_multipart():
        inner = part.get_payload()
        return inner[0].as_bytes() if isinstance(inner, list) and inner else b""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _attachment(part: Message, n: int) -> MailAttachment | None:
    try:
        content = _payload(part)
    except Exception:  # noqa: BLE001 - an attached message that cannot be re-serialised is dropped
        return None
    if not content:
        return None
    content_type = attachment_type(part.get_content_type())
    return MailAttachment(attachment_name(_filename(part), content_type, n), content_type, content)


def attachment_type(declared: str) -> str:
    """A file's media type fit to store and serve: the declared one if well-formed, else octet-stream."""
    content_type = declared.lower()
    return content_type if _CONTENT_TYPE.match(content_type) else "application/octet-stream"


def attachment_name(declared: str, content_type: str, n: int) -> str:
    """A file's name fit to store and serve: one line, no path, capped; ``attachment-<n>.<ext>`` if none."""
    filename = clean_header(declared).replace("/", "_").replace("\\", "_").strip(". ")
    if not filename:
        filename = f"attachment-{n}{mimetypes.guess_extension(content_type) or '.bin'}"
    return filename[:MAX_FILENAME]


def _filename(part: Message) -> str:
    try:
        return str(part.get_filename() or "")
    except Exception:  # noqa: BLE001 - a broken RFC 2231/2047 parameter: no name, not no file
        return ""


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        return None
    return charset if charset and charset not in ("us-ascii", "ascii") else None


def _decode(data: bytes, charset: str | None, hint: str | None = None) -> str:
    """Text in the first charset that reads it (declared, UTF-8, the other parts'), else windows-1251."""
    for candidate in (charset, "utf-8", hint):
        if candidate and (text := _decoded(data, candidate)) is not None:
            return text
    return data.decode(FALLBACK_CHARSET, errors="replace")


def _decoded(data: bytes, charset: str) -> str | None:
    """``data`` in ``charset`` with its bad bytes replaced (U+FFFD); None for an unknown or non-text codec,
    or when most non-ASCII bytes are bad — text in another charset than the one tried, not a damaged one."""
    try:
        text = data.decode(charset, errors="replace")
    except Exception:  # noqa: BLE001 - unknown, wrong or non-text codecs: try the next
        return None
    bad = text.count("\ufffd")
    return text if bad * 2 <= len(data.translate(None, _ASCII)) else None


# -- headers ---------------------------------------------------------------------------

def _raw_header(message: Message, name: str) -> list[str]:
    return [str(value) for key, value in message.raw_items() if key.lower() == name]


def _header(message: Message, name: str, hint: str | None) -> str | None:
    """A header decoded: RFC 2047 words by the policy, raw 8-bit bytes by charset guessing."""
    raws = _raw_header(message, name)
    if not raws:
        return None
    raw = raws[0]
    if any("\udc80" <= c <= "\udcff" for c in raw):
        return _decode(raw.encode("utf-8", "surrogateescape"), None, hint)
    try:
        return str(message[name])
    except Exception:  # noqa: BLE001 - the policy choked on it: the raw text is better than nothing
        return raw


def _sender(message: Message) -> str | None:
    try:
        addresses = getattr(message["from"], "addresses", ())
        candidates = [a.addr_spec for a in addresses]
    except Exception:  # noqa: BLE001
        candidates = []
    candidates += [m.group() for raw in _raw_header(message, "from")[:1] for m in _ADDRESS.finditer(raw)]
    for candidate in candidates:
        address = clean_header(candidate).lower()
        if _ADDRESS.fullmatch(address):
            return address
    return None


def _message_id(message: Message) -> str | None:
    raws = _raw_header(message, "message-id")
    found = _MESSAGE_ID.search(raws[0]) if raws else None
    return clean_header(found.group()) if found else None


def _subject(message: Message, hint: str | None) -> str | None:
    subject = _header(message, "subject", hint)
    return None if subject is None else clean_header(subject)[:MAX_SUBJECT]


def _references(message: Message) -> tuple[str, ...]:
    raws = _raw_header(message, "in-reply-to") + _raw_header(message, "references")
    found = [m.group() for raw in raws for m in _MESSAGE_ID.finditer(raw)]
    return tuple(clean_header(f) for f in found[:MAX_REFERENCES])


_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTORESPONDER_MARKS = ("x-autoreply", "x-autorespond")


_MAIL_SYSTEMS = ("mailer-daemon@", "postmaster@")


def _automatic(message: Message) -> bool:
    """Whether a machine sent it on its own: RFC 3834 and the marks autoresponders use, a delivery
    report (RFC 3464, ``multipart/report``), or mail from a mail system's own mailbox."""
    if message.get_content_type() == "multipart/report":
        return True
    sender = _sender(message) or ""
    if sender.startswith(_MAIL_SYSTEMS):
        return True
    def first(name: str) -> str:
        raws = _raw_header(message, name)
        return clean_header(raws[0]).strip().lower() if raws else ""
    auto_submitted = first("auto-submitted")
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return True
    if first("precedence") in _AUTOMATIC_PRECEDENCE:
        return True
    return any(_raw_header(message, name) for name in _AUTORESPONDER_MARKS)
