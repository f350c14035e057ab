"""HTML mail bodies as plain text, in linear time whatever the input.

Deliberately not ``html.parser``: on Python 3.11 it is quadratic on some malformed
input (a megabyte of ``</`` takes minutes), and mail HTML is attacker-controlled.
A tag here is ``<`` up to the next ``>`` that comes before any other ``<``, so every
character is looked at a bounded number of times.
"""

from __future__ import annotations

import html
import re

_TOKEN = re.compile(r"<[^<>]*>|[^<]+|<")
_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)")
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})
_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr",
                     "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer", "dd", "dt"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(markup: str) -> str:
    """The readable text of an HTML document: no tags, scripts or styles; blocks on their own lines."""
    out: list[str] = []
    skipping: str | None = None
    for token in _TOKEN.finditer(markup):
        chunk = token.group()
        if len(chunk) > 1 and chunk[0] == "<" and chunk[-1] == ">":
            tag = _NAME.match(chunk)
            if tag is None:  # a comment, a doctype, a conditional comment: no text
                continue
        elif skipping is None:
            out.append(html.unescape(chunk))
            continue
        else:
            continue
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if skipping is not None:
            skipping = None if closing and name == skipping else skipping
        elif name in _SKIPPED and not closing and not chunk.endswith("/>"):
            skipping = name
        elif name == "li":
            out.append("" if closing else "\n- ")
        elif name in _BLOCKS:
            out.append("\n")
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(out).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
