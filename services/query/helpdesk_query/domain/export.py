"""The event-log export (CARD-8): a range of the log as NDJSON (CloudEvents, as stored) or as CSV.

A range is a span of store positions (both ends included) and, optionally, a period of
event times (``start`` included, ``end`` excluded). CSV has one row per event: its store
position (empty for an SLA fact, which has none), time, type, subject, who caused it
(the actor's id) and its ``data`` as JSON. A message that is not a CloudEvent is kept
in NDJSON as it is and in CSV with what is known of it; only a time filter leaves it out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from helpdesk_shared.parking import StreamMessage

from helpdesk_query.domain.csvtable import Rows

COLUMNS = ("position", "time", "type", "subject", "actor", "data")


class ExportRangeInvalid(ValueError):
    """The range ends before it starts."""


class _Actor(msgspec.Struct):
    id: str = ""


class _Data(msgspec.Struct):
    actor: _Actor | None = None


class Envelope(msgspec.Struct):
    """What the export reads of a CloudEvent: its header fields, and ``data`` undecoded."""

    type: str = ""
    subject: str = ""
    time: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


_envelope = msgspec.json.Decoder(Envelope)
_data = msgspec.json.Decoder(_Data)


@dataclass(frozen=True)
class ExportRange:
    """Which part of the log an export holds: positions ``[first, last]``, times ``[start, end)``; None is open."""

    first: int | None = None
    last: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None and self.last < self.first:
            raise ExportRangeInvalid("to_position lies before from_position")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ExportRangeInvalid("to lies before from")

    @property
    def by_time(self) -> bool:
        return self.start is not None or self.end is not None

    def holds(self, envelope: Envelope | None) -> bool:
        """Whether an event (None: not a CloudEvent) falls in the period."""
        if not self.by_time:
            return True
        when = _instant(envelope.time) if envelope else None
        return when is not None and (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def decode(payload: bytes) -> Envelope | None:
    try:
        return _envelope.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _instant(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def ndjson(batch: Sequence[StreamMessage], within: ExportRange) -> bytes:
    """The batch's events in the range, one stored CloudEvent a line."""
    if not within.by_time:
        return b"".join(m.payload + b"\n" for m in batch)
    return b"".join(m.payload + b"\n" for m in batch if within.holds(decode(m.payload)))


def row(message: StreamMessage, envelope: Envelope | None) -> dict[str, Any]:
    """One CSV row of an event."""
    if envelope is None:
        return {"position": message.position, "subject": message.subject,
                "data": message.payload.decode("utf-8", "replace")}
    try:
        actor = _data.decode(envelope.data).actor
    except (msgspec.DecodeError, msgspec.ValidationError):
        actor = None
    return {"position": message.position, "time": envelope.time, "type": envelope.type,
            "subject": envelope.subject, "actor": actor.id if actor else None,
            "data": bytes(envelope.data).decode("utf-8", "replace")}


class CsvExport:
    """The CSV text of an export, written batch by batch (the header comes with the first)."""

    def __init__(self, within: ExportRange) -> None:
        self._within, self._rows = within, Rows(COLUMNS)

    def header(self) -> bytes:
        return self._rows.header().encode()

    def batch(self, batch: Sequence[StreamMessage]) -> bytes:
        decoded = ((m, decode(m.payload)) for m in batch)
        return self._rows.rows(row(m, e) for m, e in decoded if self._within.holds(e)).encode()
