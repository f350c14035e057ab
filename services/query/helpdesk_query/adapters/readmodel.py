"""Reads of the live read model (the ``query.*`` views onto the active generation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from helpdesk_query.domain.sla import SlaView

from helpdesk_query.adapters.sla_projection import sla_views
from helpdesk_query.adapters.schema import COMMENT_COLUMNS, CONTROL, TICKET_COLUMNS

# Each order is a keyset: its columns are the cursor, all in one direction.
ORDERS: dict[str, tuple[tuple[str, ...], str]] = {
    "queue": (("queue_rank", "created_at", "id"), "ASC"),  # MED-2, TEL-2, KS-3
    "created": (("created_at", "id"), "ASC"),
    "-created": (("created_at", "id"), "DESC"),
    "-updated": (("updated_at", "id"), "DESC"),
}
_COLUMNS = ", ".join(TICKET_COLUMNS)


@dataclass(frozen=True)
class TicketFilter:
    """The list filters of CONTRACT §4; empty ones do not filter."""

    status: Sequence[str] = ()
    priority: Sequence[str] = ()
    category: Sequence[str] = ()
    customer_id: str | None = None
    assignee_id: str | None = None
    sla_state: str | None = None
    q: str | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        sql: list[str] = []
        args: list[Any] = []
        for column in ("status", "priority", "category"):
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
            sql.append("sla_state = %s")
            args.append(self.sla_state)
        if self.q:
            sql.append("search @@ websearch_to_tsquery('russian', %s)")
            args.append(self.q)
        return sql, args


class ReadModel:
    """Ticket lists and details from the active generation."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def ping(self) -> bool:
        async with self._pool.connection() as conn:
            return (await (await conn.execute("SELECT 1")).fetchone()) is not None

    async def tickets(self, where: TicketFilter, order: str, after: Sequence[Any] | None,
                      limit: int) -> list[dict[str, Any]]:
        """One page of tickets in ``order``, strictly after the keyset ``after``."""
        keys, direction = ORDERS[order]
        conditions, args = where.where()
        if after is not None:
            marks = ", ".join(["%s"] * len(keys))
            conditions.append(f"({', '.join(keys)}) {'>' if direction == 'ASC' else '<'} ({marks})")
            args += list(after)
        sql = (f"SELECT {_COLUMNS}, queue_rank FROM {CONTROL}.tickets"
               f"{' WHERE ' + ' AND '.join(conditions) if conditions else ''}"
               f" ORDER BY {', '.join(f'{k} {direction}' for k in keys)} LIMIT %s")
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(sql, [*args, limit])
            return await cursor.fetchall()

    async def ticket(self, ticket_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """A ticket's row and its comments (oldest first), or None."""
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(f"SELECT {_COLUMNS} FROM {CONTROL}.tickets WHERE id = %s", (ticket_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            await cursor.execute(
                f"SELECT {', '.join(COMMENT_COLUMNS[1:])} FROM {CONTROL}.comments WHERE ticket_id = %s"
                " ORDER BY position, id", (ticket_id,))
            return row, await cursor.fetchall()

    async def sla(self, ticket_ids: Sequence[str]) -> dict[str, SlaView]:
        """The folded sla blocks of these tickets (those the SLA service has spoken about)."""
        if not ticket_ids:
            return {}
        async with self._pool.connection() as conn:
            return await sla_views(conn, ticket_ids)

    async def position(self) -> int:
        """The store position the live read model has applied."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(f"SELECT position FROM {CONTROL}.tracking")).fetchone()
            return int(row[0]) if row else 0
