"""Mail is cleaned, never refused, for the characters commands refuse (issue #15).

NUL, the other C0 controls but tab and line ends, DEL, bidi overrides and lone
surrogates never reach an event: decoded text loses them (``clean_text``, and
``clean_header`` for one-line values). Before parsing, header blocks lose their C0
controls too (``clean_header_blocks``): there a NUL ends the block, so a ``From:`` or
``Subject:`` after it would be read as body and the mail refused for want of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from helpdesk_shared.text import clean_text as clean_stored_text

_BIDI_OVERRIDES = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\x85\u2028\u2029]+")
# Bytes taken out of header blocks: C0 controls and DEL but tab, CR, LF and ESC (which raw
# ISO-2022-JP headers use; its codec consumes it, and clean_text drops any left).
_HEADER_CONTROLS = bytes(c for c in (*range(32), 127) if c not in b"\t\n\r\x1b")
_ANY_HEADER_CONTROL = re.compile(b"[" + re.escape(_HEADER_CONTROLS) + b"]")
_CONTROL_ONLY_LINE = re.compile(b"(?m)^[" + re.escape(_HEADER_CONTROLS) + b"]+\r?\n")
_BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^"\r\n;]+)', re.IGNORECASE)
_DELIMITER = re.compile(rb"\n--([^\r\n]*)\r?\n")


def clean_text(text: str) -> str:
    """Text fit to store by the one rule commands are held to (``helpdesk_shared.text``), with
    mail's line ends made ``\\n`` and no bidi overrides (which hide what a mail really says)."""
    return _BIDI_OVERRIDES.sub("", clean_stored_text(text.replace("\r\n", "\n").replace("\r", "\n")))


def clean_header(value: Any) -> str:
    """A header value on one line: CR/LF and other breaks become spaces (no header injection)."""
    return " ".join(_LINE_BREAKS.sub(" ", clean_text(str(value))).split())


def clean_header_blocks(raw: bytes, block_bytes: int) -> bytes:
    """``raw`` with control bytes out of its header blocks (the message's, and each part's up to its blank
    line or ``block_bytes``) and boundary lines, a line of nothing else dropped. Bodies are kept as sent."""
    if not _ANY_HEADER_CONTROL.search(raw):
        return raw
    pieces, done = [], 0
    for start, end in _header_spans(raw, block_bytes):
        if start < done:
            continue  # inside the block before: it ran on without a blank line
        pieces += [raw[done:start], _cleaned(_CONTROL_ONLY_LINE.sub(b"", raw[start:end]))]
        done = end
    pieces.append(raw[done:])
    return b"".join(pieces)


def _header_spans(raw: bytes, block_bytes: int) -> Iterator[tuple[int, int]]:
    """Where header blocks are, in order: the message's, then each line of a boundary declared in a block
    before it, with the part's header block after it (only the line for a closing one)."""
    end = header_block_end(raw, 0, block_bytes)
    boundaries = _boundaries(raw[:end])
    yield 0, end
    for line in _DELIMITER.finditer(raw):
        name = _cleaned(line.group(1)).rstrip(b" \t")
        if name in boundaries:
            end = header_block_end(raw, line.end(), block_bytes)
            boundaries |= _boundaries(raw[line.end():end])
            yield line.start() + 1, end
        elif name.endswith(b"--") and name[:-2] in boundaries:
            yield line.start() + 1, line.end()


def _boundaries(block: bytes) -> set[bytes]:
    return {_cleaned(b).strip() for b in _BOUNDARY.findall(block)}


def _cleaned(data: bytes) -> bytes:
    return data.translate(None, _HEADER_CONTROLS)


def header_block_end(raw: bytes, start: int, block_bytes: int) -> int:
    """Where the header block from ``start`` ends: after its last line, before the blank one (at most
    ``block_bytes`` on); the second search stops at the first's find, so a binary body is not scanned twice."""
    if raw.startswith((b"\n", b"\r\n"), start):
        return start
    stop = min(len(raw), start + block_bytes)
    if (crlf := raw.find(b"\n\r\n", start, stop)) >= 0:
        stop = crlf + 1
    lf = raw.find(b"\n\n", start, stop)
    return lf + 1 if lf >= 0 else stop
