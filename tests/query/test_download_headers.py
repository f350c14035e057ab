"""Download headers for files whose names and types came from anyone's mail (RFC 6266, RFC 5987)."""

from __future__ import annotations

from email.utils import decode_rfc2231
from urllib.parse import unquote

import pytest

from helpdesk_query.entrypoints.http.download import content_disposition, filename, media_type, not_modified


def _parsed(disposition: str) -> str:
    """The name a user agent takes (``filename*`` wins, RFC 6266 §4.3): ``charset'lang'percent-encoded``."""
    value = disposition.split("; filename*=", 1)[1]
    assert ";" not in value and '"' not in value and " " not in value
    charset, _, encoded = decode_rfc2231(value)
    return unquote(encoded, encoding=charset, errors="strict")


@pytest.mark.parametrize("name", ["Акт сверки «март» №5; итог.pdf", 'report "final" 100%.xlsx', "a b,c;d=e.txt",
                                  "日本語.doc", "emoji 📎.png"])
def test_filename_survives_the_header_exactly_and_the_fallback_is_plain_ascii(name: str) -> None:
    disposition = content_disposition(name)
    assert disposition.isascii() and "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="') and "; filename*=UTF-8''" in disposition
    assert _parsed(disposition) == name


@pytest.mark.parametrize(("raw", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\boss\\счёт.pdf", "счёт.pdf"),
    ("invoice\r\nSet-Cookie: x=1.pdf", "invoiceSet-Cookie: x=1.pdf"),
    ("photo\u202egpj.exe", "photogpj.exe"),  # a right-to-left override would show it as photoexe.jpg
    ("nul\x00byte.txt", "nulbyte.txt"),
    ("  ..hidden.  ", "hidden"),
    ("", "attachment"),
    ("/", "attachment"),
])
def test_hostile_names_lose_paths_control_and_bidi_characters(raw: str, safe: str) -> None:
    assert filename(raw) == safe
    assert _parsed(content_disposition(raw)) == safe


def test_long_names_are_cut_to_200_characters_keeping_the_extension() -> None:
    assert filename("я" * 500 + ".pdf") == "я" * 196 + ".pdf"
    assert len(filename("x" * 500)) == 200


@pytest.mark.parametrize(("raw", "served"), [
    ("application/pdf", "application/pdf"),
    ("text/plain; charset=koi8-r", "text/plain; charset=koi8-r"),
    ('multipart/mixed; boundary="a b"', 'multipart/mixed; boundary="a b"'),
    ("text/html\r\nX-Injected: 1", "application/octet-stream"),
    ("pdf", "application/octet-stream"),
    ("", "application/octet-stream"),
])
def test_content_type_is_served_as_stored_only_when_well_formed(raw: str, served: str) -> None:
    assert media_type(raw) == served


def test_if_none_match_with_the_digest_or_a_star_is_not_modified() -> None:
    tag = '"' + "a" * 64 + '"'
    assert not_modified(tag, tag) and not_modified(f'"x", W/{tag}', tag) and not_modified("*", tag)
    assert not not_modified(None, tag) and not not_modified('"b"', tag)
