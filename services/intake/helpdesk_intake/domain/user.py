"""The User aggregate: a customer's employee or a member of the executor's staff (MED-4, TEL-7).

Passwords are not facts of the domain and never enter the event store: an
immutable, replayable log is the wrong place for a secret. The application keeps
the credential beside the events, written in the same transaction.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from helpdesk_intake.domain.base import Context, HelpdeskEvent, InvalidInput, NotPermitted
from helpdesk_shared.vocabulary import Role

STAFF_KINDS = frozenset({Role.AGENT, Role.ADMIN, Role.AUDITOR})


class User(Aggregate):
    TOPIC = "helpdesk:User"

    class Event(HelpdeskEvent):
        pass

    class Registered(Aggregate.Created, Event):
        TOPIC = "helpdesk:User.Registered"
        name: str
        email: str
        login: str
        role: str
        customer_id: str | None
        department: str | None
        phone: str | None

    Created = Registered

    def __init__(self, name: str, email: str, login: str, role: str, customer_id: str | None,
                 department: str | None, phone: str | None, **_: Any) -> None:
        self.name = name
        self.email = email
        self.login = login
        self.role = Role(role)
        self.customer_id = customer_id
        self.department = department
        self.phone = phone

    @classmethod
    def register(cls, ctx: Context, *, id: UUID, role: Role, name: str, email: str, login: str,
                 customer_id: str | None = None, department: str | None = None,
                 phone: str | None = None) -> User:
        """Provision a customer user (with ``customer_id``) or a staff member (admin only)."""
        if ctx.role is not Role.ADMIN:
            raise NotPermitted("only an admin provisions users")
        if role is Role.CUSTOMER and not customer_id:
            raise InvalidInput("a customer user belongs to a customer", field="customer_id")
        if role is not Role.CUSTOMER and role not in STAFF_KINDS:
            raise InvalidInput(f"{role.value} is not a staff role", field="role")
        for field, value in (("name", name), ("email", email), ("login", login)):
            if not value.strip():
                raise InvalidInput(f"{field} is required", field=field)
        return cls._create(cls.Registered, id=id, name=name, email=email, login=login.strip(),
                           role=role.value, customer_id=customer_id, department=department,
                           phone=phone, **ctx.event_fields())
