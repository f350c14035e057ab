"""Reads of the live read model (the ``query.*`` views onto the active generation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from helpdesk_shared.connections import database_pool

from helpdesk_query.domain.sla import SlaView
from helpdesk_query.domain.ticket import TicketView

from helpdesk_query.adapters.schema import COMMENT_COLUMNS, CONTROL, TICKET_COLUMNS

# Each order is a keyset: its columns are the cursor, all in one direction.
ORDERS: dict[str, tuple[tuple[str, ...], str]] = {
    "queue": (("queue_rank", "created_at", "id"), "ASC"),  # MED-2, TEL-2, KS-3
    "created": (("created_at", "id"), "ASC"),
    "-created": (("created_at", "id"), "DESC"),
    "-updated": (("updated_at", "id"), "DESC"),
}
_COLUMNS = ", ".join(TICKET_COLUMNS)

# A target's state at an instant, in SQL: ``helpdesk_query.domain.sla._target`` over the stored
# view (bytea JSON of an SlaView). Parameters: now (twice), then the wanted state.
_SLA_STATE_AT = f"""EXISTS (
    SELECT 1 FROM {CONTROL}.sla s
    CROSS JOIN LATERAL (SELECT convert_from(s.view, 'UTF8')::jsonb AS j) b
    CROSS JOIN LATERAL jsonb_each(b.j -> 'targets') AS t(kind, v)
    CROSS JOIN LATERAL (SELECT CASE WHEN coalesce((b.j ->> 'paused')::boolean, false)
                                     AND NOT coalesce((t.v ->> 'customer_side')::boolean, false)
                                    THEN (b.j ->> 'paused_at')::timestamptz END AS frozen_at) f
    WHERE s.ticket_id = {CONTROL}.tickets.id AND CASE
        WHEN t.v ->> 'stopped_at' IS NOT NULL THEN
            CASE WHEN coalesce((t.v ->> 'breached')::boolean, false) THEN 'breached' ELSE 'met' END
        WHEN t.v ->> 'due_at' IS NULL THEN CASE WHEN t.v ->> 'release' IS NOT NULL THEN 'unplanned' ELSE 'running' END
        WHEN coalesce((t.v ->> 'breached')::boolean, false)
             OR coalesce(f.frozen_at, %s::timestamptz) > (t.v ->> 'due_at')::timestamptz THEN 'breached'
        WHEN f.frozen_at IS NOT NULL THEN 'paused'
        WHEN %s::timestamptz >= (t.v ->> 'warn_at')::timestamptz THEN 'at_risk'
        ELSE 'running' END = %s)"""


# The release-bound targets of a ticket's stored SLA view that are still running, in SQL.
_RELEASE_TARGETS = f"""EXISTS (
    SELECT 1 FROM {CONTROL}.sla s
    CROSS JOIN LATERAL jsonb_each(convert_from(s.view, 'UTF8')::jsonb -> 'targets') AS t(kind, v)
    WHERE s.ticket_id = {CONTROL}.tickets.id AND t.v ->> 'release' IS NOT NULL AND t.v ->> 'stopped_at' IS NULL
      AND t.v ->> 'due_at' IS {{}} NULL)"""
# IMC-7, IMC-9: an open ticket not awaiting the customer with no plan — no planned date, no release
# promised, none its SLA bound it to — or with a release-bound target no release is planned for.
_UNPLANNED = (f"(status NOT IN ('done', 'rejected', 'awaiting_customer') AND ("
              f"(planned_date IS NULL AND release IS NULL AND NOT {_RELEASE_TARGETS.format('NOT')})"
              f" OR {_RELEASE_TARGETS.format('')}))")
# IMC-9: the tickets bound to a release — promised for it, or with an SLA target due at its date.
_BOUND_TO_RELEASE = f"""(release = %s OR EXISTS (
    SELECT 1 FROM {CONTROL}.sla s
    CROSS JOIN LATERAL jsonb_each(convert_from(s.view, 'UTF8')::jsonb -> 'targets') AS t(kind, v)
    WHERE s.ticket_id = {CONTROL}.tickets.id AND t.v ->> 'release_id' = %s))"""


# The ticket page's read as one JSON document: the row with its comments (the view's own fields), the stored
# sla view and the held-back flag, decoded by msgspec in one call (``TicketRead``). Read as columns, the row
# cost the reader its column names, a loader per column and stdlib json for each jsonb one, then a convert
# into the view: about a third of the read's CPU in the process (issue 16). A timestamp in JSON carries the
# session's offset, as the column's value did; the sla view is its stored JSON, as it was.
_TICKET_PAGE = f"""SELECT json_build_object(
    'view', row_to_json(v),
    'sla', (SELECT convert_from(s.view, 'UTF8')::json FROM {CONTROL}.sla s WHERE s.ticket_id = v.id),
    'held_back', EXISTS (SELECT 1 FROM {CONTROL}.parked WHERE aggregate = v.id)
                 OR EXISTS (SELECT 1 FROM {CONTROL}.sla_parked WHERE aggregate = v.id))::text
  FROM (SELECT {', '.join(f't.{c}' for c in TICKET_COLUMNS)},
               (SELECT coalesce(json_agg(c ORDER BY c.position, c.id), '[]')
                  FROM (SELECT {', '.join(COMMENT_COLUMNS[1:])} FROM {CONTROL}.comments WHERE ticket_id = t.id) c
               ) AS comments
          FROM {CONTROL}.tickets t WHERE t.id = %s) v"""
_SLA_OF_ROW = f"(SELECT s.view FROM {CONTROL}.sla s WHERE s.ticket_id = {CONTROL}.tickets.id)"
_sla_view = msgspec.json.Decoder(SlaView)


def reading_pool(url: str, max_size: int, min_size: int = 2) -> AsyncConnectionPool:
    """The pool the reads take their connections from (the caller opens it): autocommit, as every read is
    one statement, its own transaction; in a transaction of the pool's it was three round trips (BEGIN,
    the read, COMMIT), each a wake-up of both processes. A read of several statements that must see one
    generation opens a transaction itself (``ReadModel.ticket``)."""
    return database_pool(url, min_size=min_size, max_size=max_size, autocommit=True)


class TicketRead(msgspec.Struct, frozen=True):
    """What ``ReadModel.ticket_page`` found: the ticket with its comments, its sla view (if the SLA service
    spoke) and whether an event of it is parked."""

    view: TicketView
    sla: SlaView | None
    held_back: bool


_ticket_read = msgspec.json.Decoder(TicketRead)


@dataclass(frozen=True)
class TicketFilter:
    """The list filters of CONTRACT §4; empty ones do not filter."""

    status: Sequence[str] = ()
    priority: Sequence[str] = ()
    category: Sequence[str] = ()
    channel: Sequence[str] = ()  # the channels it came in by (TEL-5: the agents' chat panel)
    customer_id: str | None = None
    assignee_id: str | None = None
    sla_state: str | None = None
    q: str | None = None
    unplanned: bool | None = None  # IMC-7/IMC-9: tickets without a plan (True) or with one (False)
    third_party: bool | None = None  # END-5: only those that wait (or do not wait) on a third party
    release_id: str | None = None  # IMC-9: only the tickets bound to this release
    now: dt.datetime | None = None  # the instant ``sla_state`` is judged at (the service's clock)
    number: str | None = None  # the ticket with this number (an auditor finding one)

    def where(self) -> tuple[list[str], list[Any]]:
        sql: list[str] = []
        args: list[Any] = []
        for column in ("status", "priority", "category", "channel"):
            values = list(getattr(self, column))
            if len(values) == 1:
                sql.append(f"{column} = %s")
                args.append(values[0])
            elif values:
                sql.append(f"{column} = ANY(%s)")
                args.append(values)
        if self.customer_id is not None:
            sql.append("customer_id = %s")
            args.append(self.customer_id)
        if self.assignee_id is not None:
            sql.append("(responsible_id = %s OR owner_id = %s)")
            args += [self.assignee_id, self.assignee_id]
        if self.sla_state is not None:
            now = self.now or dt.datetime.now(dt.UTC)
            sql.append(_SLA_STATE_AT)
            args += [now, now, self.sla_state]
        if self.unplanned is not None:
            sql.append(_UNPLANNED if self.unplanned else f"NOT {_UNPLANNED}")
        if self.q:
            sql.append(f"id IN (SELECT id FROM {CONTROL}.search WHERE search @@ websearch_to_tsquery('russian', %s))")
            args.append(self.q)
        if self.third_party is not None:
            sql.append(f"third_party IS {'NOT ' if self.third_party else ''}NULL")
        if self.release_id is not None:
            sql.append(_BOUND_TO_RELEASE)
            args += [self.release_id, self.release_id]
        if self.number is not None:
            sql.append("number = %s")
            args.append(self.number)
        return sql, args

    def queue(self) -> tuple[list[str], list[Any]]:
        """``where`` for the work queue: a deferred ticket has left it (TEL-9) unless asked for by status."""
        sql, args = self.where()
        if "deferred" not in self.status:
            sql.append("status <> 'deferred'")
        return sql, args


class ReadModel:
    """Ticket lists and details from the active generation, on a ``reading_pool``."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def ping(self) -> bool:
        async with self._pool.connection() as conn:
            return (await (await conn.execute("SELECT 1")).fetchone()) is not None

    async def tickets(self, where: TicketFilter, order: str, after: Sequence[Any] | None,
                      limit: int) -> list[dict[str, Any]]:
        """One page of tickets in ``order``, strictly after the keyset ``after``; each row's ``_sla`` is its
        stored sla view (bytea JSON, or None), read in the same statement (``sla_view`` decodes it)."""
        keys, direction = ORDERS[order]
        conditions, args = where.queue() if order == "queue" else where.where()
        if after is not None:
            marks = ", ".join(["%s"] * len(keys))
            conditions.append(f"({', '.join(keys)}) {'>' if direction == 'ASC' else '<'} ({marks})")
            args += list(after)
        sql = (f"SELECT {_COLUMNS}, queue_rank, {_SLA_OF_ROW} AS _sla FROM {CONTROL}.tickets"
               f"{' WHERE ' + ' AND '.join(conditions) if conditions else ''}"
               f" ORDER BY {', '.join(f'{k} {direction}' for k in keys)} LIMIT %s")
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(sql, [*args, limit])
            return await cursor.fetchall()

    async def ticket(self, ticket_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """A ticket's row and its comments (oldest first), or None; both of one generation (a transaction:
        a rebuild's switch of the views waits for it)."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(f"SELECT {_COLUMNS} FROM {CONTROL}.tickets WHERE id = %s", (ticket_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            await cursor.execute(
                f"SELECT {', '.join(COMMENT_COLUMNS[1:])} FROM {CONTROL}.comments WHERE ticket_id = %s"
                " ORDER BY position, id", (ticket_id,))
            return row, await cursor.fetchall()

    async def ticket_page(self, ticket_id: str) -> TicketRead | None:
        """A ticket with its comments, sla block and whether it is held back, in one statement (one round
        trip: a ticket page reads this on every load)."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_TICKET_PAGE, (ticket_id,))).fetchone()
        return None if row is None else _ticket_read.decode(row[0])

    @staticmethod
    def sla_view(stored: bytes | None) -> SlaView | None:
        """A stored sla view (a list row's ``_sla``) decoded."""
        return _sla_view.decode(stored) if stored is not None else None

    async def hours(self, month: str, customer_id: str | None) -> list[dict[str, Any]]:
        """The norm-hours rows of ``month`` (MED-12), of one customer or all."""
        sql = f"SELECT * FROM {CONTROL}.hours WHERE month = %s"
        args: list[Any] = [month]
        if customer_id is not None:
            sql += " AND customer_id = %s"
            args.append(customer_id)
        async with self._pool.connection() as conn:
            cursor = await conn.cursor(row_factory=dict_row).execute(sql + " ORDER BY customer_id", args)
            return await cursor.fetchall()

    async def position(self) -> int:
        """The store position the live read model has applied."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(f"SELECT position FROM {CONTROL}.tracking")).fetchone()
            return int(row[0]) if row else 0

    async def sla_position(self) -> int:
        """The stream sequence of the newest SLA fact the SLA projection has applied."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(f"SELECT stream_seq FROM {CONTROL}.sla_tracking")).fetchone()
            return int(row[0]) if row else 0

    async def backlog(self, cutoffs: Sequence[tuple[str, dt.datetime]], oldest: str, statuses: Sequence[str],
                      customer_id: str | None) -> dict[tuple[str, str], int]:
        """Tickets in ``statuses`` counted by status and age band (``cutoffs``: youngest band first)."""
        case = " ".join("WHEN created_at > %s THEN %s" for _ in cutoffs)
        args: list[Any] = [v for name, instant in cutoffs for v in (instant, name)] + [oldest, list(statuses)]
        where = "status = ANY(%s)"
        if customer_id is not None:
            where += " AND customer_id = %s"
            args.append(customer_id)
        sql = (f"SELECT status, CASE {case} ELSE %s END AS band, count(*) FROM {CONTROL}.tickets"
               f" WHERE {where} GROUP BY 1, 2")
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(sql, args)).fetchall()
        return {(str(status), str(band)): int(count) for status, band, count in rows}
