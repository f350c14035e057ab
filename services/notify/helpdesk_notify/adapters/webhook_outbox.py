"""Webhook deliveries in PostgreSQL: claim due ones, record each attempt, list and retry for admins.

A row moves ``pending → sending → delivered``; a failed attempt goes back to
``pending`` with a later ``next_attempt_at``, or to ``failed`` when given up. Rows
still ``sending`` when notify starts were in flight in a crashed process: they are
sent again (at least once; the receiver deduplicates on ``ce-id``). Every attempt
is kept in ``webhook_attempts`` — the delivery log. ``retry_base`` is the attempt
count at the last manual retry: the allowance of attempts counts from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from helpdesk_notify.adapters.schema import SCHEMA

STATES = ("pending", "sending", "delivered", "failed")
_T = f"{SCHEMA}.webhook_deliveries"
_CLAIM = f"""
UPDATE {_T} d SET state = 'sending', attempts = d.attempts + 1, updated_at = now()
FROM (SELECT id FROM {_T} WHERE state = 'pending' AND next_attempt_at <= now()
      ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) due, {SCHEMA}.webhooks w
WHERE d.id = due.id AND w.webhook_id = d.webhook_id
RETURNING d.id, d.webhook_id, w.url, d.event_id, d.body, d.attempts - d.retry_base, w.removed
"""
_ATTEMPT = (f"INSERT INTO {SCHEMA}.webhook_attempts (delivery_id, attempt, status, error, duration_ms)"
            f" SELECT id, attempts, %(status)s, %(error)s, %(ms)s FROM {_T} WHERE id = %(id)s"
            " ON CONFLICT DO NOTHING")
_DELIVERED = (f"UPDATE {_T} SET state = 'delivered', delivered_at = now(), updated_at = now(),"
              " last_status = %(status)s, last_error = NULL WHERE id = %(id)s")
_FAILED = (f"UPDATE {_T} SET updated_at = now(), last_status = %(status)s, last_error = %(error)s,"
           " state = CASE WHEN %(retry)s::float8 IS NULL THEN 'failed' ELSE 'pending' END,"
           " next_attempt_at = now() + make_interval(secs => coalesce(%(retry)s::float8, 0)) WHERE id = %(id)s")
_IN_DOUBT = f"UPDATE {_T} SET state = 'pending', next_attempt_at = now(), updated_at = now() WHERE state = 'sending'"
_RETRY = (f"UPDATE {_T} SET state = 'pending', retry_base = attempts, next_attempt_at = now(), updated_at = now()"
          " WHERE id = %s AND webhook_id = %s AND state <> 'sending' RETURNING id")
_COLUMNS = ("id, webhook_id, event_id, subject, stream_seq, state, attempts, next_attempt_at, last_status,"
            " last_error, created_at, updated_at, delivered_at")


@dataclass(frozen=True)
class Delivery:
    """One claimed delivery, marked ``sending``; ``attempt`` counts from the last manual retry."""

    id: int
    webhook_id: str
    url: str
    event_id: str
    body: bytes
    attempt: int
    removed: bool = False


class InFlight(Exception):
    """A delivery being sent right now cannot be retried; wait for its outcome."""


class WebhookOutbox:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def claim(self, limit: int) -> list[Delivery]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_CLAIM, (limit,))).fetchall()
        return sorted((Delivery(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6]) for r in rows), key=lambda d: d.id)

    async def delivered(self, delivery_id: int, status: int, ms: int) -> None:
        args = {"id": delivery_id, "status": status, "error": None, "ms": ms}
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(_ATTEMPT, args)
            await conn.execute(_DELIVERED, args)

    async def failed(self, delivery_id: int, status: int | None, error: str, retry_in: float | None,
                     ms: int) -> None:
        args = {"id": delivery_id, "status": status, "error": error[:2000], "retry": retry_in, "ms": ms}
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(_ATTEMPT, args)
            await conn.execute(_FAILED, args)

    async def recover_in_doubt(self) -> int:
        """Put deliveries left ``sending`` by a crashed process back in line; how many there were."""
        async with self._pool.connection() as conn:
            return (await conn.execute(_IN_DOUBT)).rowcount

    async def log(self, webhook_id: str, state: str | None, limit: int, after: int) -> list[dict[str, Any]]:
        """A webhook's deliveries, oldest first, each with its attempts."""
        where, args = "webhook_id = %s AND id > %s", [webhook_id, after]
        if state:
            where, args = where + " AND state = %s", [*args, state]
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM {_T} WHERE {where} ORDER BY id LIMIT %s", (*args, limit))
            rows = await cur.fetchall()
            if not rows:
                return []
            await cur.execute(f"SELECT delivery_id, attempt, at, status, error, duration_ms FROM"
                              f" {SCHEMA}.webhook_attempts WHERE delivery_id = ANY(%s) ORDER BY delivery_id, attempt",
                              ([r["id"] for r in rows],))
            attempts = await cur.fetchall()
        for row in rows:
            row["attempts_log"] = [{k: v for k, v in a.items() if k != "delivery_id"}
                                   for a in attempts if a["delivery_id"] == row["id"]]
        return rows

    async def retry(self, webhook_id: str, delivery_id: int) -> dict[str, Any] | None:
        """Try a delivery again now, with a fresh allowance of attempts; None when there is no such one."""
        async with self._pool.connection() as conn:
            if await (await conn.execute(_RETRY, (delivery_id, webhook_id))).fetchone() is None:
                exists = await (await conn.execute(f"SELECT state FROM {_T} WHERE id = %s AND webhook_id = %s",
                                                   (delivery_id, webhook_id))).fetchone()
                if exists is not None:
                    raise InFlight(f"delivery {delivery_id} is being sent")
                return None
        rows = await self.log(webhook_id, None, 1, delivery_id - 1)
        return rows[0] if rows else None

    async def known(self, webhook_id: str) -> bool:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(f"SELECT 1 FROM {SCHEMA}.webhooks WHERE webhook_id = %s",
                                            (webhook_id,))).fetchone()
        return row is not None
