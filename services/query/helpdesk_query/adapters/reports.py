"""The SLA targets the compliance report counts: the ``sla`` blocks joined with their tickets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg_pool import AsyncConnectionPool

from helpdesk_query.adapters.schema import CONTROL
from helpdesk_query.domain.report import TargetRow

# Each target of each block, with its ticket's customer, category and priority; the due time
# filters the period. A paused block freezes the executor's targets at its pause (not those a
# release's date binds: IMC-9).
_TARGETS = f"""
SELECT t.customer_id, t.category, t.priority, k.kind, (k.v ->> 'due_at')::timestamptz AS due_at,
       k.v ->> 'stopped_at' IS NOT NULL AS stopped, coalesce((k.v ->> 'breached')::boolean, false) AS breached,
       CASE WHEN coalesce((b.j ->> 'paused')::boolean, false)
                 AND NOT coalesce((k.v ->> 'customer_side')::boolean, false)
                 AND k.v ->> 'release_id' IS NULL
            THEN (b.j ->> 'paused_at')::timestamptz END AS frozen_at
FROM {CONTROL}.sla s
CROSS JOIN LATERAL (SELECT convert_from(s.view, 'UTF8')::jsonb AS j) b
CROSS JOIN LATERAL jsonb_each(b.j -> 'targets') AS k(kind, v)
JOIN {CONTROL}.tickets t ON t.id = s.ticket_id
WHERE k.v ->> 'due_at' IS NOT NULL
  AND (k.v ->> 'due_at')::timestamptz >= %s AND (k.v ->> 'due_at')::timestamptz < %s
  AND (%s::text IS NULL OR t.customer_id = %s)
"""


async def sla_targets(pool: AsyncConnectionPool, start: dt.datetime, end: dt.datetime,
                      customer_id: str | None) -> list[TargetRow]:
    """Every target due in ``[start, end)`` (of ``customer_id``'s tickets, if given)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(_TARGETS, (start, end, customer_id, customer_id))
        rows: list[Any] = await cursor.fetchall()
    return [TargetRow(*row) for row in rows]
