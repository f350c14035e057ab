"""notify's admin API: contact overrides over the directory, and the delivery log (list, retry dead mail).

The directory fills itself from intake's user and customer facts; an admin overrides
what it says (``PUT``: each field given wins, the others come from the directory), for
example a user's language, or a customer's, which its users then default to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.params import Parameter

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.openapi import problems
from helpdesk_shared.web.problems import Problem

from helpdesk_notify.adapters.directory import ContactsTable
from helpdesk_notify.adapters.outbox import STATES, NotRetryable, PostgresOutbox

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+$")]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    """An override: each field given wins over the directory; one left out is the directory's."""

    email: Email | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    language: Literal["ru", "en"] | None = None


@dataclass(frozen=True)
class Admin:
    """What the admin routes work on; ``wake`` tells the senders a retried mail is due."""

    outbox: PostgresOutbox
    contacts: ContactsTable
    wake: Callable[[], None]


def _readers(principal: Principal) -> None:
    principal.require(Role.ADMIN, Role.AUDITOR)


class AdminRoutes(Controller):
    path = "/v1/admin"
    tags = ["admin"]

    @put("/contacts/{user_id:str}")
    async def put_contact(self, user_id: Annotated[str, Parameter(max_length=200)], data: ContactIn,
                          principal: Principal, admin: Admin) -> dict[str, Any]:
        """Override where a user (or a customer, by its id) gets mail, and in which language (ru, en).

        Answers the contact as mail will use it: the override over the directory's entry.
        """
        principal.require(Role.ADMIN)
        await admin.contacts.put(user_id, data.email, data.name or None, data.language)
        return await admin.contacts.get(user_id) or {}

    @get("/contacts/{user_id:str}")
    async def get_contact(self, user_id: str, principal: Principal, admin: Admin) -> dict[str, Any]:
        """The contact mail uses (``email`` null: none yet), what the directory knows and the override."""
        _readers(principal)
        contact = await admin.contacts.get(user_id)
        if contact is None:
            raise Problem(404, "not_found", f"no contact for {user_id}")
        return contact

    @delete("/contacts/{user_id:str}", status_code=204)
    async def delete_contact(self, user_id: str, principal: Principal, admin: Admin) -> None:
        """Drop the override: the directory's address, name and language apply again."""
        principal.require(Role.ADMIN)
        if not await admin.contacts.delete(user_id):
            raise Problem(404, "not_found", f"no override for {user_id}")

    @get("/deliveries")
    async def deliveries(self, principal: Principal, admin: Admin,
                         state_filter: Annotated[str | None, Parameter(query="state")] = None,
                         ticket_id: str | None = None,
                         limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
                         after: Annotated[int, Parameter(ge=0)] = 0) -> dict[str, Any]:
        """The delivery log, oldest first; ``state=dead`` is the dead-letter list. Page with ``after``."""
        _readers(principal)
        if state_filter is not None and state_filter not in STATES:
            raise Problem(400, "validation_failed", f"state must be one of {', '.join(STATES)}",
                          errors=[{"field": "state", "message": f"one of {list(STATES)}"}])
        items = await admin.outbox.list(state_filter, ticket_id, limit, after)
        return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}

    @get("/deliveries/{delivery_id:int}")
    async def delivery(self, delivery_id: int, principal: Principal, admin: Admin) -> dict[str, Any]:
        """One delivery of the log: its mail, state, attempts and last error (admin, auditor)."""
        _readers(principal)
        row = await admin.outbox.get(delivery_id)
        if row is None:
            raise Problem(404, "not_found", f"no delivery {delivery_id}")
        return row

    @post("/deliveries/{delivery_id:int}/retry", status_code=202, responses=problems(409))
    async def retry(self, delivery_id: int, principal: Principal, admin: Admin) -> dict[str, Any]:
        """Send a dead mail again now (fresh attempts); a sent one answers 409."""
        principal.require(Role.ADMIN)
        try:
            row = await admin.outbox.retry(delivery_id)
        except NotRetryable as error:
            raise Problem(409, "invalid_transition", str(error)) from None
        if row is None:
            raise Problem(404, "not_found", f"no delivery {delivery_id}")
        admin.wake()
        return row


ENUMS = {"state": STATES}  # parameters whose values the OpenAPI document lists
CONTROLLERS = [AdminRoutes]
