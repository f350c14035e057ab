"""The User aggregate: a customer's employee or a member of the executor's staff (MED-4, TEL-7, IMC-2).

An admin blocks a single user who breaks the regulation (MED-4) or deactivates one the
customer no longer names (IMC-2). Every change that must end the user's sessions —
blocking, deactivating, a new password — raises ``sessions``: a token carries the value
it was issued under, and every service refuses tokens below the user's current one.

Passwords are not facts of the domain and never enter the event store: an
immutable, replayable log is the wrong place for a secret. The application keeps
the credential beside the events, written in the same transaction.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from helpdesk_intake.domain.base import Context, DomainError, HelpdeskEvent, InvalidInput, NotPermitted
from helpdesk_shared.vocabulary import LANGUAGES, Role

STAFF_KINDS = frozenset({Role.AGENT, Role.ADMIN, Role.AUDITOR})


class UserBlocked(DomainError):
    """A blocked user may not sign in or renew a token (MED-4)."""


class UserDeactivated(DomainError):
    """A deactivated user may not sign in or renew a token (IMC-2)."""


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

    class SessionsEnded(Event):
        """Base of the events after which the user's earlier tokens stop working (never stored itself)."""

        TOPIC = "helpdesk:User.SessionsEnded"
        sessions: int

        def apply(self, user: User) -> None:
            user.sessions = self.sessions

    class Blocked(SessionsEnded):
        TOPIC = "helpdesk:User.Blocked"
        reason: str | None

        def apply(self, user: User) -> None:
            super().apply(user)
            user.blocked = True

    class Unblocked(Event):
        TOPIC = "helpdesk:User.Unblocked"

        def apply(self, user: User) -> None:
            user.blocked = False

    class Deactivated(SessionsEnded):
        TOPIC = "helpdesk:User.Deactivated"

        def apply(self, user: User) -> None:
            super().apply(user)
            user.active = False

    class Reactivated(Event):
        TOPIC = "helpdesk:User.Reactivated"

        def apply(self, user: User) -> None:
            user.active = True

    class ContactChanged(Event):
        TOPIC = "helpdesk:User.ContactChanged"
        name: str
        email: str
        phone: str | None

        def apply(self, user: User) -> None:
            user.name, user.email, user.phone = self.name, self.email, self.phone

    class LanguageChosen(Event):
        TOPIC = "helpdesk:User.LanguageChosen"
        language: str

        def apply(self, user: User) -> None:
            user.language = self.language

    class PasswordChanged(SessionsEnded):
        """The user changed their own password (the hash is no fact: it stays beside the events)."""

        TOPIC = "helpdesk:User.PasswordChanged"

    class PasswordReset(SessionsEnded):
        """An admin set the user a new password."""

        TOPIC = "helpdesk:User.PasswordReset"

    def __init__(self, name: str, email: str, login: str, role: str, customer_id: str | None,
                 department: str | None, phone: str | None, **_: Any) -> None:
        self.name = name
        self.email = email
        self.login = login
        self.role = Role(role)
        self.customer_id = customer_id
        self.department = department
        self.phone = phone
        self.blocked = False
        self.active = True
        self.language: str | None = None
        self.sessions = 0

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

    def block(self, ctx: Context, *, reason: str | None = None) -> None:
        """Block the user (MED-4): their tokens stop working, they may not sign in (admin only)."""
        _require_admin(ctx)
        if not self.blocked:
            self.trigger_event(self.Blocked, sessions=self.sessions + 1, reason=reason, **ctx.event_fields())

    def unblock(self, ctx: Context) -> None:
        """Let a blocked user sign in again; their old tokens stay revoked (admin only)."""
        _require_admin(ctx)
        if self.blocked:
            self.trigger_event(self.Unblocked, **ctx.event_fields())

    def set_active(self, ctx: Context, active: bool) -> None:
        """Deactivate a user the customer no longer names (IMC-2), or bring one back (admin only)."""
        _require_admin(ctx)
        if active and not self.active:
            self.trigger_event(self.Reactivated, **ctx.event_fields())
        elif not active and self.active:
            self.trigger_event(self.Deactivated, sessions=self.sessions + 1, **ctx.event_fields())

    def change_contact(self, ctx: Context, *, name: str | None = None, email: str | None = None,
                       phone: str | None = None, clear_phone: bool = False) -> None:
        """Correct the user's name, address or phone (admin only)."""
        _require_admin(ctx)
        for field, value in (("name", name), ("email", email)):
            if value is not None and not value.strip():
                raise InvalidInput(f"{field} cannot be blank", field=field)
        after = (name or self.name, email or self.email, None if clear_phone else (phone or self.phone))
        if after != (self.name, self.email, self.phone):
            self.trigger_event(self.ContactChanged, name=after[0], email=after[1], phone=after[2],
                               **ctx.event_fields())

    def choose_language(self, ctx: Context, language: str) -> None:
        """The language of the user's mail and pages: the user themself or an admin."""
        self._require_self_or_admin(ctx)
        if language not in LANGUAGES:
            raise InvalidInput(f"unknown language {language!r}; one of {', '.join(LANGUAGES)}", field="language")
        if language != self.language:
            self.trigger_event(self.LanguageChosen, language=language, **ctx.event_fields())

    def change_password(self, ctx: Context) -> None:
        """Record that the user changed their own password: their other tokens stop working."""
        if ctx.actor_id != str(self.id):
            raise NotPermitted("a user changes only their own password")
        self.trigger_event(self.PasswordChanged, sessions=self.sessions + 1, **ctx.event_fields())

    def reset_password(self, ctx: Context) -> None:
        """Record that an admin set a new password: every token of the user stops working."""
        _require_admin(ctx)
        self.trigger_event(self.PasswordReset, sessions=self.sessions + 1, **ctx.event_fields())

    def may_sign_in(self) -> None:
        """Raise unless the user may sign in or renew a token (MED-4, IMC-2)."""
        if not self.active:
            raise UserDeactivated("this account is deactivated")
        if self.blocked:
            raise UserBlocked("this account is blocked")

    def _require_self_or_admin(self, ctx: Context) -> None:
        if ctx.role is not Role.ADMIN and ctx.actor_id != str(self.id):
            raise NotPermitted("only the user or an admin changes this")


def _require_admin(ctx: Context) -> None:
    if ctx.role is not Role.ADMIN:
        raise NotPermitted("only an admin manages users")
