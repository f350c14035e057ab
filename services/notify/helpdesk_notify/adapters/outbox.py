"""The delivery log in PostgreSQL: claim due mail, record each attempt, list and retry for admins.

A row moves ``pending → sending → sent``; a failed attempt goes back to ``pending``
with a later ``next_attempt_at``, or to ``dead`` when given up; to ``skipped`` when its
recipient's account is blocked or deactivated (MED-4, IMC-2), which an admin may retry. ``sending`` is
committed when a sender claims a few rows, and ``sent`` right after the server takes
each one, so after a crash the rows still ``sending`` are in doubt: all but at most
one per SMTP connection were never handed over; all are sent again with the same
Message-ID, on which receivers deduplicate the one that may have arrived.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from helpdesk_notify.adapters.schema import SCHEMA
from helpdesk_notify.application import Job

STATES = ("pending", "sending", "sent", "dead", "skipped")
_CLAIM = f"""
UPDATE {SCHEMA}.outbox o SET state = 'sending', attempts = o.attempts + 1, updated_at = now()
FROM (SELECT id FROM {SCHEMA}.outbox WHERE state = 'pending' AND next_attempt_at <= now()
      ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) due
WHERE o.id = due.id
RETURNING o.id, o.recipient_id, o.template, o.context, o.message_id, o.attempts, o.traceparent
"""
_SENT = (f"UPDATE {SCHEMA}.outbox SET state = 'sent', sent_at = now(), updated_at = now(),"
         " last_error = NULL WHERE id = %s")
_FAILED = (f"UPDATE {SCHEMA}.outbox SET updated_at = now(), last_error = %(error)s,"
           " state = CASE WHEN %(retry)s::float8 IS NULL THEN 'dead' ELSE 'pending' END,"
           " next_attempt_at = now() + make_interval(secs => coalesce(%(retry)s::float8, 0))"
           " WHERE id = %(id)s")
_SKIPPED = (f"UPDATE {SCHEMA}.outbox SET state = 'skipped', last_error = %s, updated_at = now()"
            " WHERE id = %s")
_IN_DOUBT = (f"UPDATE {SCHEMA}.outbox SET state = 'pending', in_doubt = in_doubt + 1,"
             " next_attempt_at = now(), updated_at = now() WHERE state = 'sending'")
_COUNTS = f"SELECT state, count(*) FROM {SCHEMA}.outbox WHERE state <> 'sent' GROUP BY state"
_RETRY = (f"UPDATE {SCHEMA}.outbox SET state = 'pending', attempts = 0, next_attempt_at = now(),"
          " updated_at = now() WHERE id = %s AND state IN ('dead', 'pending', 'skipped') RETURNING id")
_COLUMNS = ("id, dedup_key, event_id, ticket_id, recipient_id, template, message_id, position, state,"
            " attempts, in_doubt, next_attempt_at, last_error, created_at, updated_at, sent_at,"
            " context->>'number' AS number")


class NotRetryable(Exception):
    """Only mail that has not gone out (dead, skipped or still pending) can be retried."""


class PostgresOutbox:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def claim(self, limit: int) -> list[Job]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_CLAIM, (limit,))).fetchall()
        return sorted((Job(*row) for row in rows), key=lambda job: job.id)

    async def sent(self, job_id: int) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_SENT, (job_id,))

    async def failed(self, job_id: int, error: str, retry_in: float | None) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_FAILED, {"retry": retry_in, "error": error[:2000], "id": job_id})

    async def skipped(self, job_id: int, reason: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_SKIPPED, (reason, job_id))

    async def recover_in_doubt(self) -> int:
        """Put mail left ``sending`` by a crashed process back in line; how many there were."""
        async with self._pool.connection() as conn:
            return (await conn.execute(_IN_DOUBT)).rowcount

    async def counts(self) -> dict[str, int]:
        """Rows per unsent state (sent rows are not counted: there are many)."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_COUNTS)).fetchall()
        return {"pending": 0, "sending": 0, "dead": 0, "skipped": 0, **{r[0]: int(r[1]) for r in rows}}

    async def list(self, state: str | None, ticket_id: str | None, limit: int,
                   after: int) -> list[dict[str, Any]]:
        where, args = ["id > %s"], [after]
        if state:
            where.append("state = %s")
            args.append(state)
        if ticket_id:
            where.append("ticket_id = %s")
            args.append(ticket_id)
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM {SCHEMA}.outbox WHERE {' AND '.join(where)}"
                              " ORDER BY id LIMIT %s", (*args, limit))
            return await cur.fetchall()

    async def get(self, delivery_id: int) -> dict[str, Any] | None:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM {SCHEMA}.outbox WHERE id = %s", (delivery_id,))
            return await cur.fetchone()

    async def retry(self, delivery_id: int) -> dict[str, Any] | None:
        """Send a dead, skipped (or waiting) mail again now, with a fresh allowance of attempts."""
        async with self._pool.connection() as conn:
            if await (await conn.execute(_RETRY, (delivery_id,))).fetchone() is None:
                row = await self.get(delivery_id)
                if row is not None:
                    raise NotRetryable(f"delivery {delivery_id} is {row['state']}")
                return None
        return await self.get(delivery_id)

    async def ping(self) -> bool:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT 1")
        return True
