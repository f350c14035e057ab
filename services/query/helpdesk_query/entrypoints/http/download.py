"""Serving an attachment: headers that download it safely, whatever name and type it came with.

Filenames and content types arrive from mail, so from anyone: the name is reduced to
one printable path component and sent both as an ASCII fallback and, in full, as
RFC 5987 ``filename*`` (RFC 6266); a type that is not a well-formed media type is
served as ``application/octet-stream``. ``nosniff`` and a sandboxing CSP keep a
browser from running what it downloads as part of this origin.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from litestar import Response

from helpdesk_shared.events import Attachment

FALLBACK_TYPE = "application/octet-stream"
MAX_NAME = 200
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf'{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|"[^"\\\x00-\x1f\x7f]*"))*')


def filename(raw: str) -> str:
    """One path component, without control or format characters (bidi overrides), at most 200 long."""
    name = re.split(r"[/\\]", raw)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C")).strip().strip(".")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and stem and len(ext) <= 16 else ""
        name = name[:MAX_NAME - len(ext) - 1].rstrip() + "." + ext if ext else name[:MAX_NAME]
    return name or "attachment"


def content_disposition(raw_name: str) -> str:
    """``attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded UTF-8>``."""
    name = filename(raw_name)
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def media_type(raw: str) -> str:
    """The stored content type if it is a well-formed media type, else ``application/octet-stream``."""
    return raw if len(raw) <= 255 and _MEDIA_TYPE.fullmatch(raw) else FALLBACK_TYPE


def etag(attachment: Attachment) -> str:
    return f'"{attachment.id}"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weakly compared, RFC 9110 §13.1.2) or is ``*``."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or tag in tags


def headers(attachment: Attachment) -> dict[str, str]:
    """What every answer about this file carries, a 304 as well as the bytes."""
    return {
        "ETag": etag(attachment),
        "Content-Disposition": content_disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-cache",  # the same bytes, but who may read them can change
    }


def download(attachment: Attachment, content: bytes) -> Response[bytes]:
    kind = media_type(attachment.content_type)
    # named in the headers too: the handler's media type and a charset must not replace it
    return Response(content, media_type=kind, headers={**headers(attachment), "Content-Type": kind})
