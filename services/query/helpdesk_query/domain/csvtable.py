"""CSV as the query service writes it: one writer for the reports and the event-log export.

A header line, then one line a row with the values in the columns' order (a missing or
None value is empty); the line ending is CRLF (RFC 4180) unless a report has always
used another. ``Rows`` writes a table piece by piece, so an export of any size streams.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CRLF = "\r\n"


class Rows:
    """A table's text, written as it is asked for: the header, then rows in as many pieces as wanted."""

    def __init__(self, columns: Sequence[str], newline: str = CRLF) -> None:
        self._out = io.StringIO()
        self._writer = csv.DictWriter(self._out, columns, extrasaction="ignore", lineterminator=newline)

    def header(self) -> str:
        self._writer.writeheader()
        return self._take()

    def rows(self, rows: Iterable[Mapping[str, Any]]) -> str:
        self._writer.writerows(rows)
        return self._take()

    def _take(self) -> str:
        text = self._out.getvalue()
        self._out.seek(0)
        self._out.truncate()
        return text


def table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], newline: str = CRLF) -> str:
    """The whole table: a header line, then each row."""
    writer = Rows(columns, newline)
    return writer.header() + writer.rows(rows)
