"""The report use cases (CONTRACT §4): who may read which report, over which period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from helpdesk_shared.clock import Clock
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.problems import Problem

from helpdesk_query.adapters.reports import sla_targets
from helpdesk_query.domain.report import report

REPORT_READERS = (Role.ADMIN, Role.AUDITOR, Role.CUSTOMER)


def month_of(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month (UTC) ``now`` falls in, as ``[start, end)``."""
    start = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


class Reports:
    def __init__(self, pool: AsyncConnectionPool, clock: Clock) -> None:
        self._pool, self._clock = pool, clock

    async def sla(self, principal: Principal, start: dt.datetime | None, end: dt.datetime | None,
                  customer_id: str | None, group_by: Sequence[str]) -> dict[str, Any]:
        """Targets met, breached and open in the period, per group; a customer reads only its own."""
        principal.require(*REPORT_READERS)
        if principal.role == Role.CUSTOMER:
            if not principal.customer_id or customer_id not in (None, principal.customer_id):
                raise Problem(403, "forbidden", "a customer reads only its own report")
            customer_id = principal.customer_id
        now = self._clock.now()
        default_start, default_end = month_of(now)
        start, end = start or default_start, end or default_end
        if end <= start:
            raise Problem(400, "validation_failed", "to must lie after from",
                          errors=[{"field": "to", "message": "after from"}])
        targets = await sla_targets(self._pool, start, end, customer_id)
        return {"from": start.isoformat(), "to": end.isoformat(), "customer_id": customer_id,
                "group_by": list(group_by), "rows": report(targets, group_by, now)}
