"""Parked messages: those a consumer cannot apply for a reason that will not pass, kept with it.

A parked message holds back its aggregate (the ticket, user or customer its subject
names): every later message of that aggregate is parked behind it, in order, so
nothing is applied on top of a gap. Parked messages are replayed in order, through
the projection's own apply, once the cause is fixed (``retry``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import psycopg
from psycopg.types.json import Json

from helpdesk_shared.stream import POSITION_HEADER

Conn = psycopg.AsyncConnection[Any]
REASON_LENGTH = 1000


class Rejected(Exception):
    """The projection refuses this message for good (it does not decode, a rule rejects it)."""


# Failures that the same message will meet again on every retry: the message is parked.
# Anything else (the database or NATS away, a lock timeout) is retried, never parked.
PERMANENT: tuple[type[BaseException], ...] = (
    Rejected, msgspec.DecodeError, msgspec.ValidationError, psycopg.DataError, psycopg.IntegrityError,
    ValueError, TypeError, LookupError, AttributeError)


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One message of the stream, undecoded: its place, its subject, its bytes and store position."""

    stream_seq: int
    subject: str
    payload: bytes
    position: int | None = None  # the Helpdesk-Position header, for facts from intake's store
    traceparent: str | None = None  # the producer's W3C trace context (the traceparent header)
    msg_id: str | None = None  # the Nats-Msg-Id header: the CloudEvent's id
    # what the projection's ``ahead`` made of the payload while the batch before was applied (None: not yet)
    decoded: Any = field(default=None, compare=False, repr=False)

    @property
    def aggregate(self) -> str:
        """The id in ``helpdesk.<family>.<id>.<event>`` ('' for another shape)."""
        parts = self.subject.split(".")
        return parts[2] if len(parts) >= 4 else ""


def from_nats(msg: Any, ahead: Callable[[bytes], Any] | None = None) -> StreamMessage:
    """A JetStream message as the runner hands it on; ``ahead``: the projection's decoding of its payload."""
    headers = msg.headers or {}
    header = headers.get(POSITION_HEADER)
    position = int(header) if header is not None and header.isdigit() else None
    return StreamMessage(stream_seq(msg), msg.subject, msg.data, position, headers.get("traceparent"),
                         headers.get("Nats-Msg-Id"), ahead(msg.data) if ahead is not None else None)


def stream_seq(msg: Any) -> int:
    """A JetStream message's stream sequence, read from its ack subject alone (nats.py's ``metadata``
    also parses a timestamp into a datetime: a fifth of a consumer's cost per message at scale).

    ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...`` (9 tokens) or, with a domain and an
    account hash, ``$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>...``.
    """
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS" and tokens[1] == "ACK":
        return int(tokens[5])
    return int(msg.metadata.sequence.stream)


class Projection(Protocol):
    """What a service supplies to the stream runner: its apply path and its bookmark.

    It may also have ``ahead(payload: bytes) -> Any``: the runner then decodes each fetched batch
    with it while the batch before is applied, and hands the result on as ``StreamMessage.decoded``.
    It must not raise (a poison message decodes to what says why, and ``apply`` refuses it).
    """

    parking: Parking

    async def tracked(self, conn: Conn) -> int:
        """The stream sequence the projection's rows are at (the runner resumes after it)."""

    async def apply(self, conn: Conn, msgs: Sequence[StreamMessage], replay: bool = False) -> int:
        """Apply ``msgs`` in the caller's transaction and track them; the number applied.

        Raises (``Rejected`` or a database error) to refuse a message. ``replay``: parked
        messages, applied although the tracking is past them (it never goes back).
        """

    async def advance(self, conn: Conn, stream_seq: int, position: int | None) -> None:
        """Move the tracking past messages that were parked, not applied."""


def reason_of(error: BaseException) -> str:
    """Why a message was parked, storable as text (no NUL, no lone surrogate)."""
    text = str(error) if isinstance(error, Rejected) else f"{type(error).__name__}: {error}"
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()[:REASON_LENGTH]


def ddl(table: str) -> str:
    """The parked table ``schema.name`` (an older one gains its ``aggregate`` column)."""
    index = table.replace(".", "_") + "_aggregate"
    return f"""
CREATE TABLE IF NOT EXISTS {table} (
    stream_seq bigint PRIMARY KEY, subject text NOT NULL, position bigint, reason text NOT NULL,
    payload bytea NOT NULL, parked_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS aggregate text NOT NULL DEFAULT '';
UPDATE {table} SET aggregate = split_part(subject, '.', 3) WHERE aggregate = '' AND subject LIKE '%.%.%.%';
CREATE INDEX IF NOT EXISTS {index} ON {table} (aggregate);
"""


class Parking:
    """One consumer's parked table."""

    def __init__(self, table: str, lock_id: int) -> None:
        self.table, self._lock_id = table, lock_id

    async def lock(self, conn: Conn) -> None:
        """Serialise this transaction with the consumer's batches and retries."""
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_id,))

    async def held(self, conn: Conn, aggregates: Iterable[str]) -> dict[str, int]:
        """Which of ``aggregates`` have a parked message (→ the first one's stream sequence).

        The ids travel as one JSON array (one msgspec call; psycopg dumps a list element by element).
        """
        wanted = sorted({a for a in aggregates if a})
        if not wanted:
            return {}
        cursor = await conn.execute(
            f"SELECT aggregate, min(stream_seq) FROM {self.table} WHERE aggregate = ANY(ARRAY("
            "SELECT json_array_elements_text(%s))) GROUP BY aggregate", (Json(wanted, dumps=msgspec.json.encode),))
        return {row[0]: int(row[1]) for row in await cursor.fetchall()}

    async def park(self, conn: Conn, parked: Sequence[tuple[StreamMessage, str]]) -> None:
        async with conn.cursor() as cur:
            await cur.executemany(
                f"INSERT INTO {self.table} (stream_seq, subject, aggregate, position, reason, payload)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (stream_seq) DO UPDATE SET reason = EXCLUDED.reason",
                [(m.stream_seq, m.subject, m.aggregate, m.position, reason, m.payload) for m, reason in parked])

    async def count(self, conn: Conn) -> int:
        row = await (await conn.execute(f"SELECT count(*) FROM {self.table}")).fetchone()
        return int(row[0]) if row else 0

    async def rows(self, conn: Conn, limit: int = 1000) -> list[dict[str, Any]]:
        """The parked messages, oldest first, as the admin API lists them."""
        cursor = await conn.execute(
            f"SELECT stream_seq, subject, position, aggregate, reason, parked_at FROM {self.table}"
            " ORDER BY stream_seq LIMIT %s", (limit,))
        names = ("stream_seq", "subject", "position", "aggregate", "reason", "parked_at")
        return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]

    async def messages(self, conn: Conn) -> list[StreamMessage]:
        cursor = await conn.execute(f"SELECT stream_seq, subject, payload, position FROM {self.table}"
                                    " ORDER BY stream_seq FOR UPDATE")
        return [StreamMessage(int(r[0]), r[1], bytes(r[2]), r[3]) for r in await cursor.fetchall()]

    async def release(self, conn: Conn, stream_seq: int) -> None:
        await conn.execute(f"DELETE FROM {self.table} WHERE stream_seq = %s", (stream_seq,))


@dataclass
class Retried:
    """What a retry did: the stream sequences applied, and those still parked (with why)."""

    applied: list[int]
    remaining: list[dict[str, Any]]


async def retry(conn: Conn, projection: Projection) -> Retried:
    """Replay the parked messages in order, each in a savepoint; those that fail again stay parked.

    A message behind one that stays parked stays too (its aggregate is still held).
    """
    parking = projection.parking
    done = Retried([], [])
    async with conn.transaction():
        await parking.lock(conn)
        still: dict[str, int] = {}
        for msg in await parking.messages(conn):
            if msg.aggregate in still:
                await parking.park(conn, [(msg, f"held back: stream message {still[msg.aggregate]} "
                                                f"of {msg.aggregate} is parked")])
                continue
            try:
                async with conn.transaction():
                    await projection.apply(conn, [msg], replay=True)
                    await parking.release(conn, msg.stream_seq)
                done.applied.append(msg.stream_seq)
            except PERMANENT as error:
                await parking.park(conn, [(msg, reason_of(error))])
                if msg.aggregate:
                    still[msg.aggregate] = msg.stream_seq
        done.remaining = await parking.rows(conn)
    return done
