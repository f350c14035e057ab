"""``GET /v1/admin/parked`` and ``POST /v1/admin/parked/retry``: what a service's consumers parked.

Each service names its consumers' projections; the routes list their parked messages
and, once the cause is fixed, replay them in order through the same apply path
(``parking.retry``). Admins only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from litestar import Controller, get, post
from litestar.params import Parameter

from helpdesk_shared.parking import Projection, retry
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal


@dataclass(frozen=True)
class ParkedConsumers:
    """A service's consumers by name, the database they write, and who to tell after a retry."""

    conninfo: str
    projections: Mapping[str, Projection]
    retried: Callable[[], None] | None = None


class ParkedRoutes(Controller):
    path = "/v1/admin/parked"
    tags = ["admin"]

    @get("/")
    async def parked(self, principal: Principal, parked: ParkedConsumers,
                     limit: Annotated[int, Parameter(ge=1, le=1000)] = 1000) -> dict[str, Any]:
        """The parked messages of each consumer, oldest first, with why they were parked."""
        principal.require(Role.ADMIN)
        items: list[dict[str, Any]] = []
        async with await psycopg.AsyncConnection.connect(parked.conninfo, autocommit=True) as conn:
            for name, projection in parked.projections.items():
                items += [{"consumer": name, **row} for row in await projection.parking.rows(conn, limit)]
        return {"items": items}

    @post("/retry", status_code=200)
    async def retry(self, principal: Principal, parked: ParkedConsumers) -> dict[str, Any]:
        """Replay the parked messages in order; answers those applied and those still parked."""
        principal.require(Role.ADMIN)
        applied: list[dict[str, Any]] = []
        remaining: list[dict[str, Any]] = []
        async with await psycopg.AsyncConnection.connect(parked.conninfo, autocommit=True) as conn:
            for name, projection in parked.projections.items():
                done = await retry(conn, projection)
                applied += [{"consumer": name, "stream_seq": seq} for seq in done.applied]
                remaining += [{"consumer": name, **row} for row in done.remaining]
        if parked.retried is not None:
            parked.retried()
        return {"applied": applied, "remaining": remaining}
