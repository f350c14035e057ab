"""The directory read and managed (CONTRACT §2; MED-4, IMC-2): customers, their users, staff.

Staff (admin, agent, auditor) read the whole directory, a customer's user its own
customer and its colleagues; another customer answers 404. Admins block, unblock,
deactivate and correct users and set their passwords; a user chooses their own
language. No answer carries a secret: passwords live only as hashes beside the events.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.adapters.credentials import new_hash_row
from helpdesk_intake.adapters.directory_index import DirectoryIndex
from helpdesk_intake.adapters.eventstore import user_email_change_row
from helpdesk_intake.adapters.translation import to_message
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.identity import IdentityService
from helpdesk_intake.application.service import Change, NotFound, Outcome, Request
from helpdesk_intake.domain.base import InvalidInput
from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.user import User

READERS = frozenset({Role.ADMIN, Role.AGENT, Role.AUDITOR})


def customer_view(customer: Customer) -> dict[str, Any]:
    return {"id": str(customer.id), "name": customer.name, "email": customer.email,
            "client_code": customer.client_code, "policy": customer.policy, "language": customer.language,
            "contract": {"monthly_hours": customer.monthly_hours, "paid_support": customer.paid_support,
                         "active": customer.active}, "version": customer.version}


def user_view(user: User) -> dict[str, Any]:
    """A user as the directory shows them: never a password or its hash."""
    return {"id": str(user.id), "name": user.name, "email": user.email, "login": user.login,
            "role": user.role.value, "customer_id": user.customer_id, "department": user.department,
            "phone": user.phone, "language": user.language, "blocked": user.blocked, "active": user.active,
            "version": user.version}


class DirectoryService:
    def __init__(self, identity: IdentityService, index: DirectoryIndex) -> None:
        self.identity = identity
        self.index = index

    # -- reads --------------------------------------------------------------------------

    def customers(self, principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
        _require_reader(principal)
        page = self.index.customers(_after(cursor), limit)
        return _paged([customer_view(self.identity.load(Customer, cid)) for cid, _ in page], page, limit)

    def customer(self, principal: Principal, customer_id: str) -> dict[str, Any]:
        return customer_view(self._visible_customer(principal, customer_id))

    def customer_users(self, principal: Principal, customer_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        customer = self._visible_customer(principal, customer_id)
        page = self.index.users(str(customer.id), _after(cursor), limit)
        return _paged([user_view(self.identity.load(User, uid)) for uid, _ in page], page, limit)

    def staff(self, principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
        _require_reader(principal)
        page = self.index.users(None, _after(cursor), limit)
        return _paged([user_view(self.identity.load(User, uid)) for uid, _ in page], page, limit)

    def user(self, principal: Principal, user_id: str) -> dict[str, Any]:
        return user_view(self._visible_user(principal, user_id))

    def history(self, principal: Principal, customer_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        """The public facts of the customer and its users, oldest first: ``{position, type, time, actor, data}``."""
        customer = self._visible_customer(principal, customer_id)
        rows = self.index.history(str(customer.id), _after(cursor), limit)
        items = [entry for row in rows if (entry := self._history_entry(row)) is not None]
        return {"items": items, "next_cursor": str(rows[-1]["notification_id"]) if len(rows) == limit else None}

    def _history_entry(self, row: dict[str, Any]) -> dict[str, Any] | None:
        stored = StoredEvent(originator_id=row["originator_id"], originator_version=row["originator_version"],
                             topic=row["topic"], state=bytes(row["state"]))
        event = self.identity.store.mapper.to_domain_event(stored)
        before = None if event.originator_version == 1 else self.identity.store.repository.get(
            event.originator_id, version=event.originator_version - 1)
        after: Aggregate = event.mutate(copy.copy(before))
        message = to_message(event, before, after, row["notification_id"])
        if message is None:
            return None
        envelope = msgspec.to_builtins(message[1])
        return {"position": row["notification_id"], "type": envelope["type"], "time": envelope["time"],
                "actor": envelope["data"]["actor"], "data": envelope["data"]}

    # -- management ---------------------------------------------------------------------

    def change_user(self, request: Request, user_id: str, command: cmd.ChangeUser) -> Outcome:
        """Block/unblock (MED-4), deactivate/reactivate (IMC-2), correct contacts (admin); a language (self too)."""
        given = command.given()
        if set(given) - {"language"}:
            request.principal.require(Role.ADMIN)

        def decide() -> Change:
            user = self._visible_user(request.principal, user_id)
            ctx = self.identity.context(request)
            if given.get("blocked") is True:
                user.block(ctx, reason=given.get("reason"))
            elif given.get("blocked") is False:
                user.unblock(ctx)
            if "active" in given:
                user.set_active(ctx, given["active"])
            before = user.email
            if given.keys() & {"name", "email", "phone"}:
                user.change_contact(ctx, name=given.get("name"), email=given.get("email"), phone=given.get("phone"),
                                    clear_phone="phone" in given and given["phone"] is None)
            if "language" in given:
                user.choose_language(ctx, given["language"])
            rows = [user_email_change_row(user.id, user.email)] if user.email != before else []
            return Change([user], user_view(user), rows=rows)

        return self.identity.execute(request, decide, key=user_id)

    def set_password(self, request: Request, user_id: str, command: cmd.SetPassword) -> Outcome:
        """An admin sets a user's password: every token of theirs stops working."""
        request.principal.require(Role.ADMIN)

        def decide() -> Change:
            user = self.identity.load(User, user_id)
            user.reset_password(self.identity.context(request))
            row = new_hash_row(user.id, self.identity.passwords.hash(command.password))
            return Change([user], {"id": str(user.id), "version": user.version}, rows=[row])

        return self.identity.execute(request, decide, key=user_id)

    def _visible_customer(self, principal: Principal, customer_id: str) -> Customer:
        if principal.role is Role.CUSTOMER and principal.customer_id != customer_id:
            raise NotFound(f"no customer {customer_id}")
        _require_reader(principal, Role.CUSTOMER)
        return self.identity.load(Customer, customer_id)

    def _visible_user(self, principal: Principal, user_id: str) -> User:
        """A user the principal may see: staff see everyone, a customer's user their colleagues."""
        _require_reader(principal, Role.CUSTOMER)
        user = self.identity.load(User, user_id)
        if principal.role is Role.CUSTOMER and user.customer_id != principal.customer_id:
            raise NotFound(f"no user {user_id}")
        return user


def _require_reader(principal: Principal, *also: Role) -> None:
    principal.require(*READERS, *also)


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput("cursor: use a next_cursor this list gave", field="cursor")
    return int(cursor)


def _paged(items: list[dict[str, Any]], page: list[tuple[str, int]], limit: int) -> dict[str, Any]:
    return {"items": items, "next_cursor": str(page[-1][1]) if len(page) == limit else None}

