"""notify's webhook delivery log (CONTRACT §10): list a webhook's deliveries with their attempts, retry one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.openapi import problems
from helpdesk_shared.web.problems import Problem

from helpdesk_notify.adapters.webhook_outbox import STATES, InFlight, WebhookOutbox

BIGINT = 2**63 - 1  # delivery ids are bigserial: a larger number names none


@dataclass(frozen=True)
class WebhookAdmin:
    """What the routes work on; ``wake`` tells the senders a retried delivery is due."""

    outbox: WebhookOutbox
    wake: Callable[[], None]


class WebhookDeliveryRoutes(Controller):
    path = "/v1/webhooks/{webhook_id:str}/deliveries"
    tags = ["webhooks"]

    @get("/")
    async def deliveries(self, webhook_id: str, principal: Principal, webhooks: WebhookAdmin,
                         state_filter: Annotated[str | None, Parameter(query="state")] = None,
                         limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
                         after: Annotated[int, Parameter(ge=0, le=BIGINT)] = 0) -> dict[str, Any]:
        """A webhook's deliveries, oldest first: state, attempts (each with its status or error), next try.

        ``id`` is the ``n`` of ``POST …/deliveries/{n}/retry``; page with ``after``.
        """
        principal.require(Role.ADMIN, Role.AUDITOR)
        if state_filter is not None and state_filter not in STATES:
            raise Problem(400, "validation_failed", f"state must be one of {', '.join(STATES)}",
                          errors=[{"field": "state", "message": f"one of {list(STATES)}"}])
        if not await webhooks.outbox.known(webhook_id):
            raise Problem(404, "not_found", f"no webhook {webhook_id} (or notify has not seen it yet)")
        items = await webhooks.outbox.log(webhook_id, state_filter, limit, after)
        return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}

    @post("/{n:int}/retry", status_code=202, responses=problems(409))
    async def retry(self, webhook_id: str, n: Annotated[int, Parameter(ge=1, le=BIGINT)], principal: Principal,
                    webhooks: WebhookAdmin) -> dict[str, Any]:
        """Try delivery ``n`` again now, with a fresh allowance of attempts (a delivered one is sent again)."""
        principal.require(Role.ADMIN)
        try:
            row = await webhooks.outbox.retry(webhook_id, n)
        except InFlight as error:
            raise Problem(409, "invalid_transition", str(error)) from None
        if row is None:
            raise Problem(404, "not_found", f"no delivery {n} of webhook {webhook_id}")
        webhooks.wake()
        return row
