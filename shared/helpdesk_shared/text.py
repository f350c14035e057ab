"""The one rule for text the desk keeps: which characters have no place in it.

PostgreSQL's text and jsonb cannot hold U+0000 or a lone surrogate, and no other
control character but tab, line feed and carriage return belongs in a ticket,
a name or a file name. Commands refuse such text (``check_text``: a 422 naming the
field); mail, which its sender cannot be asked to fix, is cleaned (``clean_text``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Unicode's control characters (C0, DEL, C1) but tab, LF and CR; and the surrogates,
# which only ever arrive alone ("\ud800" in JSON): a str never holds a valid pair.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class BadText(ValueError):
    """Text holding a character no stored text may hold (a control character or a lone surrogate)."""

    def __init__(self, field: str, character: str) -> None:
        kind = "a lone surrogate" if _SURROGATES.match(character) else "a control character"
        super().__init__(f"{field or 'the text'} contains U+{ord(character):04X}, {kind}: "
                         "only tab, line feed and carriage return are allowed among control characters")
        self.field = field


def check_text(value: str, field: str = "") -> str:
    """``value`` unchanged, or ``BadText`` naming ``field`` if it holds a refused character."""
    if found := _REFUSED.search(value):
        raise BadText(field, found.group())
    return value


def clean_text(value: str) -> str:
    """``value`` fit to keep: lone surrogates become U+FFFD, other refused characters are dropped."""
    if not _REFUSED.search(value):
        return value
    return _REFUSED.sub(lambda m: REPLACEMENT if _SURROGATES.match(m.group()) else "", value)


def bad_text(data: Any, field: str = "") -> Iterator[BadText]:
    """Every refused string in decoded data (dicts, their keys, lists), named by its path: ``details.steps``,
    ``items[2]``. Iterative, so no nesting a decoder accepts can exhaust the stack."""
    pending: list[tuple[str, Any]] = [(field, data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if found := _REFUSED.search(value):
                yield BadText(path, found.group())
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                named = f"{path}.{clean_text(str(key))}" if path else clean_text(str(key))
                children += [(named, key), (named, item)]
            pending += reversed(children)
        elif isinstance(value, (list, tuple)):
            pending += reversed([(f"{path}[{n}]", item) for n, item in enumerate(value)])
