"""The command sender: automatic transitions from ``sla.commands`` to intake, after their commit.

A command is claimed with a lease (``FOR UPDATE SKIP LOCKED``; 8 s, longer than the
5 s call timeout), so two SLA processes never send it at once; a crash between claim
and answer only means the lease runs out and it is sent again with the same Idempotency-Key, which intake
answers with its first answer. Refusals (409/412: the customer or an agent got
there first) are final; network errors and 5xx are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from prometheus_client import Counter

from helpdesk_shared.locked_loop import LockedLoop

from helpdesk_sla.adapters.intake import Answer, IntakeClient
from helpdesk_sla.adapters.schema import SCHEMA

log = logging.getLogger("helpdesk.sla.commands")
SENT = Counter("helpdesk_sla_commands_total", "Automatic transitions sent to intake", ["answer"])

_CLAIM = f"""
UPDATE {SCHEMA}.commands SET lease_until = now() + interval '8 seconds', attempts = attempts + 1
WHERE idempotency_key IN (
    SELECT idempotency_key FROM {SCHEMA}.commands
    WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until < now())
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING idempotency_key, ticket_id, action, reason, expected_version, attempts, id, traceparent
"""


class CommandSender(LockedLoop):
    """Sends the automatic transitions to intake; replicas share the work (rows leased with SKIP LOCKED)."""

    name = "SLA command sender"
    lock_id = None

    def __init__(self, conninfo: str, intake: IntakeClient, wake: asyncio.Event, on_done: Any,
                 concurrency: int = 16, interval: float = 0.2) -> None:
        super().__init__(conninfo)
        self._intake, self._wake, self._on_done = intake, wake, on_done
        self._concurrency, self._interval = concurrency, interval

    def stop(self) -> None:
        super().stop()
        self._wake.set()

    async def work(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while not self._stopping.is_set():
            if not await self._send_batch(conn):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)

    async def _send_batch(self, conn: psycopg.AsyncConnection[Any]) -> int:
        self._wake.clear()
        claimed = await (await conn.execute(_CLAIM, (self._concurrency * 4,))).fetchall()
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self._concurrency)

        async def send(row: tuple[Any, ...]) -> tuple[Answer, str]:
            async with gate:
                return await self._intake.act(row[1], row[2], row[3], row[4], row[0], row[7])

        # in claim (due) order; one ticket never has two automatic transitions pending
        answers = await asyncio.gather(*(send(r) for r in sorted(claimed, key=lambda r: r[6])))
        for row, (answer, detail) in zip(sorted(claimed, key=lambda r: r[6]), answers, strict=True):
            SENT.labels(answer.value).inc()
            if answer is Answer.RETRY:
                log.warning("command %s: %s; retrying", row[0], detail)
                await conn.execute(
                    f"UPDATE {SCHEMA}.commands SET lease_until = now() + make_interval(secs => %s)"
                    " WHERE idempotency_key = %s", (min(0.2 * 2 ** row[5], 10.0), row[0]))
                continue
            if answer is Answer.FAILED:
                log.error("command %s failed for good: %s", row[0], detail)
            await conn.execute(f"UPDATE {SCHEMA}.commands SET done_at = now(), outcome = %s"
                               " WHERE idempotency_key = %s", (f"{answer.value}: {detail}"[:500], row[0]))
        self._on_done()
        return len(claimed)
