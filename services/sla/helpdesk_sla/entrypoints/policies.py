"""Following published policy versions: open tickets under a changed policy are re-planned (CONTRACT §5).

The SLA service's ``PolicyBook`` follows ``helpdesk.policy.>``; when a version of a
policy arrives, this loop re-plans the open tickets under every policy whose
fingerprint differs from the one last planned with (``sla.policies``), as a start
does. An advisory lock keeps several SLA processes from re-planning the same change
twice: the second finds the fingerprint already recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable

import msgspec
import psycopg
from prometheus_client import Counter

from helpdesk_shared.clock import Clock
from helpdesk_shared.policies import Policy, calendar_of
from helpdesk_shared.policy_book import PolicyBook

from helpdesk_sla.adapters.schema import SCHEMA
from helpdesk_sla.application import replan_policy

log = logging.getLogger("helpdesk.sla")
REPLANS = Counter("helpdesk_sla_policy_replans_total", "Re-plans after a published policy version")
_POLICY_LOCK = 0x534C4133


async def replan_changed_policies(conninfo: str, policies: dict[str, Policy], clock: Clock) -> None:
    """Open tickets under a policy changed since last planned are re-planned (CONTRACT §5): at start,
    and whenever a published version arrives (``entrypoints/policies.py``)."""
    async with await psycopg.AsyncConnection.connect(conninfo) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_POLICY_LOCK,))
        known = dict(await (await conn.execute(f"SELECT id, fingerprint FROM {SCHEMA}.policies")).fetchall())
        for policy_id, policy in policies.items():
            fingerprint = policy_fingerprint(policy)
            if known.get(policy_id) == fingerprint:
                continue
            if policy_id in known:
                count = await replan_policy(conn, policy_id, policies.get, clock.now())
                log.info("policy %s changed: re-planned %d open tickets", policy_id, count)
            await conn.execute(f"INSERT INTO {SCHEMA}.policies (id, fingerprint) VALUES (%s, %s)"
                               " ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint",
                               (policy_id, fingerprint))


def policy_fingerprint(policy: Policy) -> str:
    """What a changed policy changes: its data, and the last year its production calendar publishes.

    Newer holiday data (a year's transfers published) changes the fingerprint, so the open
    tickets under the policy are re-planned at start and their provisional deadlines settle.
    """
    published = calendar_of(policy).published_through
    suffix = b"" if published is None else f"|published:{published}".encode()
    return hashlib.sha256(msgspec.json.encode(policy, enc_hook=repr) + suffix).hexdigest()


class PolicyReplanner:
    """Re-plans, on each published version, the open tickets of the policies that changed."""

    stuck = False

    def __init__(self, conninfo: str, book: PolicyBook, clock: Clock, committed: Callable[[], None]) -> None:
        self._conninfo, self._book, self._clock, self._committed = conninfo, book, clock, committed
        self._wake = asyncio.Event()
        self._wake.set()  # once more at start: a version may have come while the start's re-plan ran
        self._stopping = False
        book.on_change(lambda _policy_id: self._wake.set())

    async def run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await replan_changed_policies(self._conninfo, self._book, self._clock)
            except Exception:  # noqa: BLE001 - the database away: the next version, or a restart, re-plans
                log.exception("re-planning after a published policy version failed")
                continue
            REPLANS.inc()
            self._committed()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
