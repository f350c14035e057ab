"""The test clock's admin endpoints (CONTRACT §6): ``GET``/``POST /v1/admin/clock``.

Only with ``HELPDESK_CLOCK=simulated``; otherwise both answer 404. A move writes the
shared instant (``helpdesk_shared.clock_sync``) and then waits, bounded, until the
SLA service reports every timer due by then fired and its command applied, and the
SLA has seen every ticket event in the store (so the commands' own effects too), and then
until every durable consumer of the stream (query's projections, notify) has caught up, so
a read after ``settled`` is current without a position.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, get, post

from helpdesk_shared.clock import SystemClock
from helpdesk_shared.clock_sync import SharedClock
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal, TokenIssuer
from helpdesk_shared.web.openapi import problems
from helpdesk_shared.web.problems import Problem


class MoveClock(msgspec.Struct, forbid_unknown_fields=True):
    now: dt.datetime | None = None
    advance_seconds: int | None = None


@dataclass
class ClockAdmin:
    """The shared clock, and how to tell whether the system has settled at its instant."""

    clock: SharedClock | None
    last_ticket_position: Callable[[], int]
    consumers_caught_up: Callable[[], Awaitable[bool]] | None = None
    settle_timeout: float = 60.0

    async def state(self) -> dict[str, Any]:
        clock = self._require()
        now = await clock.shared_now()
        return {"now": now.isoformat(), "settled": await self._settled(clock, now)}

    async def move(self, command: MoveClock) -> dict[str, Any]:
        clock = self._require()
        if (command.now is None) == (command.advance_seconds is None):
            raise Problem(422, "validation_failed", "give exactly one of now and advance_seconds")
        if command.now is not None and command.now.tzinfo is None:
            raise Problem(422, "validation_failed", "now must carry a time zone")
        target = command.now or (await clock.shared_now()) + dt.timedelta(seconds=command.advance_seconds or 0)
        now = await clock.move_to(target)  # ClockMovedBackwards → 409
        deadline = time.monotonic() + self.settle_timeout
        while not (settled := await self._settled(clock, now)) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return {"now": now.isoformat(), "settled": settled}

    async def _settled(self, clock: SharedClock, now: dt.datetime) -> bool:
        report = await clock.settled()
        if report is None or report.now < now:
            return False
        if report.position < await asyncio.to_thread(self.last_ticket_position):
            return False
        return self.consumers_caught_up is None or await self.consumers_caught_up()

    def _require(self) -> SharedClock:
        if self.clock is None:
            raise Problem(404, "not_found", "the test clock is off (HELPDESK_CLOCK=simulated turns it on)")
        return self.clock


class ClockController(Controller):
    path = "/v1/admin/clock"
    tags = ["admin"]

    @get("/", responses=problems(404))
    async def read(self, principal: Principal, clock_admin: ClockAdmin) -> dict[str, Any]:
        """The simulated instant and whether every timer due by then has fired and been applied."""
        clock_admin._require()
        principal.require(Role.ADMIN)
        return await clock_admin.state()

    @post("/", status_code=200, responses=problems(404, 409))
    async def move(self, data: MoveClock, principal: Principal, clock_admin: ClockAdmin) -> dict[str, Any]:
        """Move the simulated clock forward (never back: 409) and wait until settled."""
        clock_admin._require()
        principal.require(Role.ADMIN)
        return await clock_admin.move(data)


class WallClockTokens(TokenIssuer):
    """Under the simulated clock, tokens still live in real time: verifiers check exp/iat on the wall clock."""

    def instant(self, now: dt.datetime) -> dt.datetime:
        return SystemClock().now()
