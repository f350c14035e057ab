"""notify's admin API: the contacts directory and the delivery log (list, retry dead mail)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post, put
from litestar.params import Parameter

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.problems import Problem

from helpdesk_notify.adapters.directory import ContactsTable
from helpdesk_notify.adapters.outbox import STATES, NotRetryable, PostgresOutbox
from helpdesk_notify.application import Contact

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+$")]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    language: Literal["ru", "en"] = "ru"


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
        """Set where a user (or a customer, by its id) gets mail, and in which language (ru, en)."""
        principal.require(Role.ADMIN)
        contact = await admin.contacts.put(Contact(user_id, data.email, data.name, data.language))
        return {"user_id": contact.user_id, "email": contact.email, "name": contact.name,
                "language": contact.language}

    @get("/contacts/{user_id:str}")
    async def get_contact(self, user_id: str, principal: Principal, admin: Admin) -> dict[str, Any]:
        _readers(principal)
        contact = await admin.contacts.lookup(user_id)
        if contact is None:
            raise Problem(404, "not_found", f"no contact for {user_id}")
        return {"user_id": contact.user_id, "email": contact.email, "name": contact.name,
                "language": contact.language}

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
        _readers(principal)
        row = await admin.outbox.get(delivery_id)
        if row is None:
            raise Problem(404, "not_found", f"no delivery {delivery_id}")
        return row

    @post("/deliveries/{delivery_id:int}/retry", status_code=202)
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


CONTROLLERS = [AdminRoutes]
