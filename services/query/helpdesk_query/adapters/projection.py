"""Writing ticket facts into one generation of the read model, exactly once.

A batch of stream messages becomes one transaction: the rows of every ticket it
touches, the comments it adds and the tracking position all commit together. An
event at or below the tracked position was applied already and is skipped, so
redelivery, duplicates and restarts change nothing (the tracking-recorder pattern).
The live projection (``TicketProjection``, driven by the stream runner) refuses a
message it cannot apply, and the runner parks it; a rebuild parks it here itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import Json

from helpdesk_shared import events as ev
from helpdesk_shared.parking import Parking, Rejected, StreamMessage

from helpdesk_query.adapters.eventstore import StoredMessage
from helpdesk_query.adapters.schema import (COMMENT_COLUMNS, CONTROL, POSITION_CHANNEL, SEARCH_VECTOR,
                                            TICKET_COLUMNS)
from helpdesk_query.domain.hours import HoursDelta, hours_deltas
from helpdesk_query.domain.ticket import Comment, TicketReopened, TicketView, UnknownTicket, evolve

SEARCHED = ("subject", "description")  # the ``search`` vector's inputs
KEPT_COLUMNS = tuple(c for c in TICKET_COLUMNS if c != "id" and c not in SEARCHED)

# One statement per batch writes every changed ticket and its new comments: the views, and the
# comments beside them, travel as msgspec-encoded JSON arrays that PostgreSQL unpacks
# (json_populate_recordset), so no Python code formats a column; keys that are no column are
# ignored. The comments are an array of their own, zipped (ROWS FROM) with an array of their
# tickets' ids: no JSON is parsed twice. Tickets new to the table (or whose searchable text
# changed) are upserted, and their search vectors (``search``, a table of its own) computed from the
# upserted rows; the others are updated without touching ``subject`` and ``description`` or their
# vector (no to_tsvector, and no word of it fed to the GIN index again, as a rewritten row with the
# vector in it did); their ids as an array let the planner find the rows by key.
# Arrays of ids travel as JSON too: one msgspec call, where psycopg dumps a list element by element.
# The same statement ends by moving the tracking (and notifying the readers): at the live edge a batch
# is one event, and each statement is a message PostgreSQL wakes up for and psycopg's Python drives.
_WRITE = """WITH tickets AS (INSERT INTO {{g}}.tickets ({cols})
    SELECT {cols} FROM json_populate_recordset(NULL::{{g}}.tickets, %(views)s) {on_ticket}
    RETURNING id, subject, description),
searched AS (INSERT INTO {{g}}.search (id, search) SELECT id, {vector} FROM tickets
    ON CONFLICT (id) DO UPDATE SET search = EXCLUDED.search),
kept AS (UPDATE {{g}}.tickets t SET ({kept_cols}) = ({kept_values})
    FROM json_populate_recordset(NULL::{{g}}.tickets, %(kept)s) v
    WHERE t.id = ANY(ARRAY(SELECT json_array_elements_text(%(kept_ids)s))) AND t.id = v.id),
comments AS (INSERT INTO {{g}}.comments ({comment_cols})
    SELECT c.of, {comment_values} FROM ROWS FROM (json_array_elements_text(%(comment_tickets)s),
        json_populate_recordset(NULL::{{g}}.comments, %(comments)s)) AS c(of) ON CONFLICT DO NOTHING)
{{track}}""".format(
    cols=", ".join(TICKET_COLUMNS), comment_cols=", ".join(COMMENT_COLUMNS),
    kept_cols=", ".join(KEPT_COLUMNS), kept_values=", ".join(f"v.{c}" for c in KEPT_COLUMNS),
    comment_values=", ".join(f"c.{c}" for c in COMMENT_COLUMNS[1:]), vector=SEARCH_VECTOR,
    on_ticket="ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in TICKET_COLUMNS[1:]))
# The projector's statements are prepared (psycopg does after 5 executions, PostgreSQL then plans
# them once), so planning costs nothing per batch. A generic plan is costed on the table as it is
# when it is made, and a projector that began on a quiet, small table went on scanning the whole
# grown table per batch; so the projector's transaction disables sequential scans (``_BY_KEY``,
# local to it) and asks for the generic plan at once: every plan of its statements finds the
# tickets by key, whatever the size of the table when it was made (the bench at the live edge:
# PostgreSQL 530 µs per event against 1,215 µs planning each batch).
_BY_KEY = ("set_config('enable_seqscan', 'off', true),"
           " set_config('plan_cache_mode', 'force_generic_plan', true)")
# The tracking, locked, and the rows of the batch's tickets as one JSON array (decoded by msgspec straight
# into the views), in one statement. Its snapshot is taken before the lock is granted; no writer of the
# generation's rows can commit in between: every one holds the parking lock first (the stream runner's
# ``_step``, an admin's retry) and a rebuild's switch is waited for by ``_active`` before.
_READ = ("SELECT r.position, r.stream_seq, (SELECT json_agg(t)::text FROM (SELECT {cols} FROM {{g}}.tickets"
         " WHERE id = ANY(ARRAY(SELECT json_array_elements_text(%s)))) t) FROM {{g}}.tracking r FOR UPDATE OF r"
         ).format(cols=", ".join(TICKET_COLUMNS))
_TRACK = "UPDATE {g}.tracking SET position = %(position)s, stream_seq = %(stream_seq)s"
_NOTIFY = " RETURNING pg_notify(%(channel)s, %(at)s)"
_json = msgspec.json.Encoder()
_read_views = msgspec.json.Decoder(list[TicketView])
_HOURS = ("INSERT INTO {g}.hours (customer_id, month, policy, budget_minutes, planned_minutes, used_minutes)"
          " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (customer_id, month) DO UPDATE SET"
          " policy = EXCLUDED.policy, budget_minutes = coalesce(EXCLUDED.budget_minutes, {g}.hours.budget_minutes),"
          " planned_minutes = {g}.hours.planned_minutes + EXCLUDED.planned_minutes,"
          " used_minutes = {g}.hours.used_minutes + EXCLUDED.used_minutes")
_PARK = (f"INSERT INTO {CONTROL}.parked (stream_seq, subject, position, reason, payload)"
         " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (stream_seq) DO NOTHING")


@dataclass
class Outcome:
    """What a batch did: the tracked position after it, and how many events it applied or parked."""

    position: int
    stream_seq: int
    applied: int = 0
    parked: list[tuple[StoredMessage, str]] = field(default_factory=list)
    held: dict[str, int] = field(default_factory=dict)  # ticket → its first parked stream sequence
    hours: list[HoursDelta] = field(default_factory=list)  # norm-hours the applied facts consumed


def decode(msg: StoredMessage) -> ev.CloudEvent | str:
    """The message's CloudEvent, or why it cannot be decoded (as the stream runner decoded it ahead, if it did)."""
    return msg.decoded if msg.decoded is not None else decode_payload(msg.payload)


def decode_payload(payload: bytes) -> ev.CloudEvent | str:
    """A payload's CloudEvent, or why it cannot be decoded: a poison message is refused when applied,
    so decoding it ahead (``TicketProjection.ahead``) raises nothing."""
    try:
        return ev.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return f"undecodable: {error}"


def view_from_row(row: dict[str, Any], comments: Sequence[Comment] = ()) -> TicketView:
    return msgspec.convert({**row, "comments": comments}, TicketView)


def fold_messages(tickets: dict[str, TicketView], msgs: Sequence[StoredMessage], outcome: Outcome,
                  on_change: Any = None, strict: bool = False, replay: bool = False) -> None:
    """Fold the fresh messages into ``tickets`` in place, advancing ``outcome``; park the rest.

    ``strict``: raise ``Rejected`` instead of parking. ``replay``: parked messages, folded
    although the tracked position is past them.
    """
    for msg in msgs:
        outcome.stream_seq = max(outcome.stream_seq, msg.stream_seq)
        event = decode(msg)
        if isinstance(event, str):
            _refuse(outcome, msg, event, strict)
            continue
        fact = event.data
        if event.sequence <= outcome.position and (not replay or _has(tickets, fact)):
            continue  # applied before: a redelivery or a duplicate
        if why := _unfit(msg, event, outcome, strict):  # strict: the runner holds the ticket itself
            _refuse(outcome, msg, why, strict)
            outcome.position = max(outcome.position, event.sequence)
            continue
        try:
            tickets[fact.ticket_id] = evolve(tickets.get(fact.ticket_id), fact, event.sequence)
        except (UnknownTicket, TicketReopened) as error:
            _refuse(outcome, msg, f"{type(error).__name__}: {error}", strict)
        else:
            outcome.applied += 1
            outcome.hours += hours_deltas(tickets[fact.ticket_id], fact)
            if on_change is not None:
                on_change(fact.ticket_id)
        outcome.position = max(outcome.position, event.sequence)


def _has(tickets: dict[str, TicketView], fact: ev.TicketFact) -> bool:
    """The ticket's row already holds this fact (a replayed message applied since, by a rebuild)."""
    view = tickets.get(fact.ticket_id)
    return view is not None and fact.version <= view.version


def _refuse(outcome: Outcome, msg: StoredMessage, reason: str, strict: bool) -> None:
    if strict:
        raise Rejected(reason)
    outcome.parked.append((msg, reason))
    if msg.aggregate:
        outcome.held.setdefault(msg.aggregate, msg.stream_seq)


def _unfit(msg: StoredMessage, event: ev.CloudEvent, outcome: Outcome, strict: bool) -> str | None:
    """Why this event is refused before writing it: its ticket is held (a rebuild), or its text has
    U+0000 (which no text column takes, and which the batch's JSON would fail on as a whole)."""
    if not strict and msg.aggregate in outcome.held:
        return f"held back: stream message {outcome.held[msg.aggregate]} of {msg.aggregate} is parked"
    if b"\\u0000" in msg.payload and _has_nul(msgspec.to_builtins(event.data)):
        return "DataError: PostgreSQL text fields cannot contain NUL (0x00) bytes"
    return None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    return isinstance(value, list) and any(_has_nul(v) for v in value)


async def apply_batch(conn: psycopg.AsyncConnection[Any], generation: str, msgs: Sequence[StoredMessage],
                      notify: bool = True, strict: bool = False, replay: bool = False,
                      planned: bool = False) -> Outcome:
    """Apply ``msgs`` to ``generation`` in the caller's transaction; returns the new tracking.

    ``planned``: the caller has set this transaction's plan settings already (``_active``)."""
    if not planned:
        await conn.execute("SELECT " + _BY_KEY)  # this transaction's plans find tickets by key
    ids = {_ticket_id(m.subject) for m in msgs}
    cursor = await conn.execute(_READ.format(g=generation), (_as_json(list(ids)),))
    position, stream_seq, rows = await cursor.fetchone()  # type: ignore[misc]
    outcome = Outcome(position, stream_seq)
    if not strict:  # a rebuild's catch-up: tickets parked so far stay held
        outcome.held = await _PARKED.held(conn, ids)
    stored = {view.id: view for view in _read_views.decode(rows)} if rows else {}
    tickets = dict(stored)
    changed: set[str] = set()
    fold_messages(tickets, msgs, outcome, changed.add, strict, replay)
    await write(conn, generation, [tickets[i] for i in sorted(changed)], outcome, notify, stored)
    return outcome


async def write(conn: psycopg.AsyncConnection[Any], generation: str, views: Sequence[TicketView],
                outcome: Outcome, notify: bool = True, stored: Mapping[str, TicketView] | None = None) -> None:
    """Upsert ``views`` (their ``comments`` are the new ones), park, track and notify readers;
    ``stored``: the rows of these tickets as the transaction read them."""
    # notify: delivered on commit, API processes waiting on Helpdesk-Min-Position wake up (in the
    # statement that moves the tracking, itself the end of the statement that writes the views)
    tracking = {"position": outcome.position, "stream_seq": outcome.stream_seq,
                **({"channel": POSITION_CHANNEL, "at": str(outcome.position)} if notify else {})}
    track = _TRACK.format(g=generation) + (_NOTIFY if notify else "")
    async with conn.cursor() as cur:
        if outcome.hours:
            await cur.executemany(_HOURS.format(g=generation), outcome.hours)
        if outcome.parked:
            await cur.executemany(_PARK, [(m.stream_seq, m.subject, m.position, reason, m.payload)
                                          for m, reason in outcome.parked])
        if not await write_views(cur, generation, views, stored=stored or {}, track=(track, tracking)):
            await cur.execute(track, tracking)


async def write_views(cur: psycopg.AsyncCursor[Any], generation: str, views: Sequence[TicketView],
                      track: tuple[str, dict[str, Any]], stored: Mapping[str, TicketView] | None = None) -> bool:
    """Upsert the tickets ``views`` show and insert their ``comments``, in one statement
    (a rebuild writes by COPY instead: ``bulkwrite``) that ends with ``track`` (a statement and
    its named parameters); False if there was nothing to write (``track`` was not run).
    A view of a ticket ``stored`` with the same searchable text is a plain update that leaves
    the search vector as it is."""
    if not views:
        return False
    stored = stored or {}
    kept = [v for v in views if _same_text(v, stored.get(v.id))]
    upserted = [v for v in views if not _same_text(v, stored.get(v.id))] if kept else views
    comments = [(v.id, c) for v in views for c in v.comments]
    statement, tracking = track
    await cur.execute(_WRITE.format(g=generation, track=statement), {
        "views": _as_json(_bare(upserted)), "kept": _as_json(_bare(kept)),
        "kept_ids": _as_json([v.id for v in kept]),
        "comment_tickets": _as_json([of for of, _ in comments]), "comments": _as_json([c for _, c in comments]),
        **tracking})
    return True


def _bare(views: Sequence[TicketView]) -> list[TicketView]:
    """The views without their comments (those travel in an array of their own)."""
    return [msgspec.structs.replace(v, comments=()) if v.comments else v for v in views]


def _as_json(value: Any) -> Json:
    """A ``json`` parameter, encoded by msgspec: the bytes go to PostgreSQL as they are."""
    return Json(value, dumps=_json.encode)


def _same_text(view: TicketView, row: TicketView | None) -> bool:
    return row is not None and row.subject == view.subject and row.description == view.description


_PARKED = Parking(f"{CONTROL}.parked", lock_id=0)  # only read here: which tickets are held


def _ticket_id(subject: str) -> str:
    parts = subject.split(".")
    return parts[2] if len(parts) > 3 else ""


class TicketProjection:
    """The live read model as the stream runner drives it: into the active generation."""

    def __init__(self, parking_lock: int) -> None:
        self.parking = Parking(f"{CONTROL}.parked", parking_lock)

    @staticmethod
    def ahead(payload: bytes) -> ev.CloudEvent | str:
        """A fetched message's event, decoded by the stream runner while the batch before is applied."""
        return decode_payload(payload)

    async def tracked(self, conn: psycopg.AsyncConnection[Any]) -> int:
        row = await (await conn.execute(f"SELECT stream_seq FROM {CONTROL}.tracking")).fetchone()
        return int(row[0]) if row else 0

    async def apply(self, conn: psycopg.AsyncConnection[Any], msgs: Sequence[StreamMessage],
                    replay: bool = False) -> int:
        outcome = await apply_batch(conn, await _active(conn, planned=True), msgs, strict=True, replay=replay,
                                    planned=True)
        return outcome.applied

    async def advance(self, conn: psycopg.AsyncConnection[Any], stream_seq: int, position: int | None) -> None:
        generation = await _active(conn)
        await conn.execute(f"UPDATE {generation}.tracking SET stream_seq = greatest(stream_seq, %s),"
                           " position = greatest(position, coalesce(%s, position))", (stream_seq, position))
        await conn.execute(f"SELECT pg_notify(%s, position::text) FROM {generation}.tracking", (POSITION_CHANNEL,))


async def _active(conn: psycopg.AsyncConnection[Any], planned: bool = False) -> str:
    """The active generation. FOR SHARE: a rebuild switching generations waits for this
    transaction, and this one waits for the switch, then writes into the new generation.
    ``planned``: the same statement sets the transaction's plan settings (``_BY_KEY``)."""
    row = await (await conn.execute(f"SELECT active{', ' + _BY_KEY if planned else ''} FROM {CONTROL}.generation"
                                    " FOR SHARE")).fetchone()
    return str(row[0])  # type: ignore[index]
