"""SQL of the ``sla`` schema: tickets with their histories, timers, the outbox and commands.

Every function runs in the caller's transaction; the caller decides what commits together.
Every array parameter goes in binary (``%b``): as text, psycopg quotes and escapes each element
into an array literal in Python (ids, kinds and timestamps: 4-16 times the CPU; the top entry of
the timer wheel's profile at a restart with 100,000 overdue).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import psycopg
from prometheus_client import Counter
from psycopg import pq

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from helpdesk_shared.vocabulary import Status

from helpdesk_sla.adapters.schema import SCHEMA
from helpdesk_sla.domain.planning import (
    Announced,
    BreachTimer,
    Command,
    ReminderTimer,
    Timer,
    TransitionTimer,
    WarnTimer,
)

# Deadlines computed by the law alone (their year's production calendar is not yet published);
# counted as recorded, re-planned at start when newer holiday data publishes the year.
PROVISIONAL = Counter("helpdesk_sla_provisional_deadlines_total",
                      "Deadlines set in a year whose production calendar is not yet published (provisional)")

Conn = psycopg.AsyncConnection[Any]
Traces = Mapping[str, str]  # ticket id → the traceparent of the fact that caused what is written for it
_history = msgspec.json.Decoder(list[ev.TicketEvent])  # type: ignore[valid-type]
_announced = msgspec.json.Decoder(Announced)


class _StoredTimer(msgspec.Struct, frozen=True, kw_only=True):
    """A timer as the ``timers`` table keeps it (``timer`` column; ``kind`` is also its own column):
    ``kind`` is ``warn:<target>``, ``breach:<target>``, ``transition`` or ``reminder``. Rows already
    stored in this form must still fire, so the domain's timer variants are mapped to it here."""

    kind: str
    due_at: dt.datetime
    planned_version: int
    action: str | None = None
    reason: str | None = None
    status: Status | None = None
    to: Literal["customer", "agent"] = "customer"  # a reminder's audience


_stored_timer = msgspec.json.Decoder(_StoredTimer)


def _kind(timer: Timer) -> str:
    """The timer's ``kind`` column: with the ticket and due time, what identifies a planned timer."""
    match timer:
        case WarnTimer(target=target):
            return f"warn:{target}"
        case BreachTimer(target=target):
            return f"breach:{target}"
        case TransitionTimer():
            return "transition"
        case ReminderTimer():
            return "reminder"


def _encode_timer(timer: Timer) -> bytes:
    """The timer's ``timer`` column, in the stored form."""
    match timer:
        case TransitionTimer(status=status, action=action, reason=reason):
            stored = _StoredTimer(kind="transition", due_at=timer.due_at, planned_version=timer.planned_version,
                                  action=action, reason=reason, status=status)
        case ReminderTimer(status=status, to=to):
            stored = _StoredTimer(kind="reminder", due_at=timer.due_at, planned_version=timer.planned_version,
                                  status=status, to=to)
        case _:
            stored = _StoredTimer(kind=_kind(timer), due_at=timer.due_at, planned_version=timer.planned_version)
    return msgspec.json.encode(stored)


def _decode_timer(data: bytes) -> Timer:
    """The timer a ``timer`` column holds; raises ``ValueError`` for a kind this service never plans."""
    stored = _stored_timer.decode(data)
    kind, _, target = stored.kind.partition(":")
    due_at, version = stored.due_at, stored.planned_version
    match kind:
        case "warn" | "breach" if target:
            variant = WarnTimer if kind == "warn" else BreachTimer
            return msgspec.convert({"target": target, "due_at": due_at, "planned_version": version}, variant)
        case "transition" if stored.status is not None:
            return TransitionTimer(due_at=due_at, planned_version=version, status=stored.status,
                                   action=stored.action or "", reason=stored.reason or "")
        case "reminder" if stored.status is not None:
            return ReminderTimer(due_at=due_at, planned_version=version, status=stored.status, to=stored.to)
    raise ValueError(f"a stored timer of unknown kind {stored.kind!r}")


class _Numbered(msgspec.Struct):
    """Just the ``ticketnumber`` of a stored CloudEvent: the rest of the envelope is skipped unread."""

    ticketnumber: str | None = None


_numbers = msgspec.json.Decoder(list[_Numbered])


@dataclass
class TicketRow:
    """A ticket as the SLA service keeps it: its facts so far and what was announced.

    The stored history stays undecoded JSON until something reads it: firing a timer needs
    only the ticket's number, which is read from the JSON without decoding the events.
    """

    ticket_id: str
    customer_id: str
    policy: str
    version: int
    status: Status
    _history: list[ev.CloudEvent] | bytes
    announced: Announced = field(default_factory=Announced)

    @property
    def history(self) -> list[ev.CloudEvent]:
        if isinstance(self._history, bytes):
            self._history = _history.decode(self._history)
        return self._history

    def history_json(self) -> bytes:
        """The history as stored: the JSON it was read as, unless it was decoded (and so may have grown)."""
        return self._history if isinstance(self._history, bytes) else msgspec.json.encode(self._history)

    @property
    def facts(self) -> list[ev.TicketFact]:
        return [e.data for e in self.history]  # type: ignore[attr-defined]

    @property
    def number(self) -> str | None:
        """The ticket's human-readable number, as its events carry it (``ticketnumber``)."""
        events = _numbers.decode(self._history) if isinstance(self._history, bytes) else self._history
        return next((e.ticketnumber for e in events if e.ticketnumber), None)


_COLUMNS = "ticket_id, customer_id, policy, version, status, history, announced"


def _row(r: tuple[Any, ...]) -> TicketRow:
    return TicketRow(r[0], r[1], r[2], r[3], Status(r[4]), bytes(r[5]), _announced.decode(r[6]))


async def lock_tickets(conn: Conn, ids: Iterable[str], skip_locked: bool = False) -> dict[str, TicketRow]:
    """The tickets with these ids, locked for this transaction (in id order: no deadlocks)."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.tickets WHERE ticket_id = ANY(%b) ORDER BY ticket_id"
        f" FOR UPDATE{' SKIP LOCKED' if skip_locked else ''}", (sorted(set(ids)),))
    return {r[0]: _row(r) for r in await cursor.fetchall()}


async def customer_policies(conn: Conn, customer_ids: Iterable[str]) -> dict[str, str]:
    """The policy each customer last moved to (only customers that ever changed policy)."""
    cursor = await conn.execute(f"SELECT customer_id, policy FROM {SCHEMA}.customer_policies"
                                " WHERE customer_id = ANY(%b)", (sorted(set(customer_ids)),))
    return dict(await cursor.fetchall())  # type: ignore[arg-type]


async def set_customer_policy(conn: Conn, customer_id: str, policy: str) -> None:
    await conn.execute(f"INSERT INTO {SCHEMA}.customer_policies (customer_id, policy) VALUES (%s, %s)"
                       " ON CONFLICT (customer_id) DO UPDATE SET policy = EXCLUDED.policy", (customer_id, policy))


async def open_tickets(conn: Conn, where: str, value: str) -> list[str]:
    cursor = await conn.execute(f"SELECT ticket_id FROM {SCHEMA}.tickets WHERE open AND {where} = %s", (value,))
    return [r[0] for r in await cursor.fetchall()]


async def save_tickets(conn: Conn, rows: Sequence[TicketRow]) -> None:
    """Insert or update the tickets (one row each), in one statement for the batch.

    The JSON columns especially: as text, each value would be escaped into an array literal in
    Python (a third of this call's CPU at a bulk load)."""
    if not rows:
        return
    await conn.execute(
        f"INSERT INTO {SCHEMA}.tickets ({_COLUMNS}, open) SELECT * FROM unnest(%b::text[], %b::text[], %b::text[],"
        " %b::integer[], %b::text[], %b::bytea[], %b::bytea[], %b::boolean[])"
        " ON CONFLICT (ticket_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,"
        " policy = EXCLUDED.policy, version = EXCLUDED.version, status = EXCLUDED.status,"
        " history = EXCLUDED.history, announced = EXCLUDED.announced, open = EXCLUDED.open",
        ([r.ticket_id for r in rows], [r.customer_id for r in rows], [r.policy for r in rows],
         [r.version for r in rows], [r.status.value for r in rows], [r.history_json() for r in rows],
         [msgspec.json.encode(r.announced) for r in rows], [r.status.is_open for r in rows]))


async def save_announced(conn: Conn, rows: Sequence[TicketRow]) -> None:
    """What each ticket's facts said so far, in one statement for the batch."""
    if rows:
        await conn.execute(
            f"UPDATE {SCHEMA}.tickets t SET announced = u.announced"
            " FROM unnest(%b::text[], %b::bytea[]) AS u(ticket_id, announced) WHERE t.ticket_id = u.ticket_id",
            ([r.ticket_id for r in rows], [msgspec.json.encode(r.announced) for r in rows]))


async def replace_timers(conn: Conn, ticket_ids: Sequence[str], timers: Sequence[tuple[str, Timer]],
                         traces: Traces | None = None) -> None:
    """Drop the tickets' unfired timers and plan ``timers``; one that already fired stays fired."""
    if ticket_ids:
        await conn.execute(f"DELETE FROM {SCHEMA}.timers WHERE ticket_id = ANY(%b) AND fired_at IS NULL",
                           (list(ticket_ids),))
    await add_timers(conn, timers, traces)


async def add_timers(conn: Conn, timers: Sequence[tuple[str, Timer]], traces: Traces | None = None) -> None:
    """Plan the timers (one already planned stays as it is), in one statement for the batch."""
    if timers:
        traces = traces or {}
        await conn.execute(
            f"INSERT INTO {SCHEMA}.timers (ticket_id, kind, due_at, timer, traceparent)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::timestamptz[], %b::bytea[], %b::text[])"
            " ON CONFLICT DO NOTHING",
            ([tid for tid, _ in timers], [_kind(t) for _, t in timers], [t.due_at for _, t in timers],
             [_encode_timer(t) for _, t in timers], [traces.get(tid) for tid, _ in timers]))


async def due_timers(conn: Conn, now: dt.datetime, limit: int) -> tuple[list[tuple[str, Timer]], dict[str, str]]:
    """Unfired timers due by ``now``, oldest first, that no other process is firing (locked), and
    the trace context of the fact that planned each ticket's timers."""
    cursor = await conn.execute(
        f"SELECT ticket_id, timer, traceparent FROM {SCHEMA}.timers WHERE fired_at IS NULL AND due_at <= %s"
        " ORDER BY due_at, ticket_id, kind LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit))
    rows = await cursor.fetchall()
    return [(r[0], _decode_timer(r[1])) for r in rows], {r[0]: r[2] for r in rows if r[2]}


async def mark_fired(conn: Conn, timers: Sequence[tuple[str, Timer]], at: dt.datetime) -> None:
    """Mark the batch's timers fired, in one statement."""
    if timers:
        await conn.execute(
            f"UPDATE {SCHEMA}.timers t SET fired_at = %s"
            " FROM unnest(%b::text[], %b::text[], %b::timestamptz[]) AS f(ticket_id, kind, due_at)"
            " WHERE (t.ticket_id, t.kind, t.due_at) = (f.ticket_id, f.kind, f.due_at)",
            (at, [tid for tid, _ in timers], [_kind(t) for _, t in timers], [t.due_at for _, t in timers]))


async def next_due(conn: Conn) -> dt.datetime | None:
    row = await (await conn.execute(
        f"SELECT min(due_at) FROM {SCHEMA}.timers WHERE fired_at IS NULL")).fetchone()
    return row[0] if row else None


async def record(conn: Conn, facts: Sequence[sla.SlaFact], tickets: Mapping[str, TicketRow],
                 traces: Traces | None = None, urgent: bool = False) -> None:
    """Put SLA facts into the outbox; each gets its outbox id as CloudEvent id and sequence, its
    ticket's number (from ``tickets``, by id) as ``ticketnumber``, and the trace that caused it.
    ``urgent``: fired by a timer that is due now; the publisher sends them (after their tickets'
    earlier facts) ahead of the backlog."""
    if not facts:
        return
    cursor = await conn.execute(
        f"SELECT nextval(pg_get_serial_sequence('{SCHEMA}.outbox', 'id')) FROM generate_series(1, %s)",
        (len(facts),))
    ids = [r[0] for r in await cursor.fetchall()]
    PROVISIONAL.inc(sum(isinstance(f, sla.TargetSet) and f.provisional for f in facts))
    rows, traces = [], traces or {}
    for outbox_id, fact in zip(ids, facts, strict=True):
        ticket = tickets.get(fact.ticket_id)
        envelope = sla.wrap(fact, event_id=f"sla-{outbox_id}", sequence=outbox_id,
                            number=ticket.number if ticket else None)
        rows.append((outbox_id, fact.ticket_id, subjects.sla_subject(fact.ticket_id, sla.event_type(fact)),
                     msgspec.json.encode(envelope), traces.get(fact.ticket_id), urgent))
    await _insert_outbox(conn, rows)


_OUTBOX = f"{SCHEMA}.outbox (id, ticket_id, subject, payload, traceparent, urgent)"
_OUTBOX_TYPES = ("int8", "text", "text", "bytea", "text", "bool")
_OUTBOX_ROWS = (f"INSERT INTO {_OUTBOX} SELECT * FROM unnest(%b::int8[], %b::text[], %b::text[], %b::bytea[],"
                " %b::text[], %b::bool[])")


async def _insert_outbox(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """The rows in the outbox, in the caller's transaction, by binary COPY: the payloads go as they
    are, where an ``unnest`` over ``bytea[]`` escaped each into an array literal (the top of the
    consumer's profile at scale). Pipeline mode has no COPY: there (a live batch's few facts, the
    consumer's ``PIPELINE_UP_TO``) one ``INSERT`` of binary arrays, which travels with the batch."""
    if conn.info.pipeline_status != pq.PipelineStatus.OFF:
        await conn.execute(_OUTBOX_ROWS, tuple(list(column) for column in zip(*rows, strict=True)))
        return
    async with conn.cursor() as cursor, cursor.copy(f"COPY {_OUTBOX} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_OUTBOX_TYPES)
        for row in rows:
            await copy.write_row(row)


async def add_commands(conn: Conn, commands: Sequence[Command], traces: Traces | None = None) -> None:
    if commands:
        traces = traces or {}
        async with conn.cursor() as cur:
            await cur.executemany(
                f"INSERT INTO {SCHEMA}.commands (idempotency_key, ticket_id, action, reason, expected_version,"
                " traceparent) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(c.idempotency_key, c.ticket_id, c.action, c.reason, c.expected_version, traces.get(c.ticket_id))
                 for c in commands])


async def tracking(conn: Conn, lock: bool = False) -> tuple[int, int]:
    row = await (await conn.execute(
        f"SELECT position, stream_seq FROM {SCHEMA}.tracking{' FOR UPDATE' if lock else ''}")).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def track(conn: Conn, position: int, stream_seq: int) -> None:
    await conn.execute(f"UPDATE {SCHEMA}.tracking SET position = %s, stream_seq = %s", (position, stream_seq))


async def advance(conn: Conn, position: int | None, stream_seq: int) -> None:
    """Track past messages that were parked: the tracking only moves forward."""
    await conn.execute(f"UPDATE {SCHEMA}.tracking SET stream_seq = greatest(stream_seq, %s),"
                       " position = greatest(position, coalesce(%s, position))", (stream_seq, position))


async def outbox_head(conn: Conn, limit: int) -> tuple[int, list[str], bool]:
    """For the publisher, in one statement: the tracked position, the tickets of the oldest urgent facts
    (among the oldest ``limit`` urgent rows) and whether the outbox holds anything. One snapshot: every
    fact caused up to that position is in this outbox, or was published and deleted."""
    row = await (await conn.execute(
        f"SELECT t.position, ARRAY(SELECT DISTINCT ticket_id FROM (SELECT ticket_id FROM {SCHEMA}.outbox"
        f" WHERE urgent ORDER BY id LIMIT %s) AS u), EXISTS (SELECT FROM {SCHEMA}.outbox) FROM {SCHEMA}.tracking t",
        (limit,))).fetchone()
    return (int(row[0]), list(row[1]), bool(row[2])) if row else (0, [], False)


async def unsettled(conn: Conn, now: dt.datetime) -> bool:
    """Whether anything due by ``now`` is still unfired, unsent or unpublished."""
    row = await (await conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.timers WHERE fired_at IS NULL AND due_at <= %s)"
        f" OR EXISTS (SELECT 1 FROM {SCHEMA}.commands WHERE done_at IS NULL)"
        f" OR EXISTS (SELECT 1 FROM {SCHEMA}.outbox)", (now,))).fetchone()
    return bool(row and row[0])
