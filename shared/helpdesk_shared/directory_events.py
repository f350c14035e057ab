"""Directory facts: customers and users, on ``helpdesk.customer.<id>.<event>`` and ``helpdesk.user.<id>.<event>``.

Intake owns customers (their policy and contract) and users; other services keep
their own copies from these facts instead of asking intake: the SLA service
re-plans a customer's open tickets when its policy changes (CONTRACT §5), notify
learns whom to write to. Secrets (passwords) are never facts. ``sequence`` is the
global event-store position, as for ticket events.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from helpdesk_shared.events import Actor, CloudEvent, Family


class DirectoryFact(msgspec.Struct, frozen=True, kw_only=True):
    version: int  # the customer's or user's aggregate version
    actor: Actor
    occurred_at: dt.datetime


class CustomerFact(DirectoryFact, frozen=True, kw_only=True):
    customer_id: str


class CustomerRegistered(CustomerFact, frozen=True, kw_only=True):
    """A client organisation was provisioned with its SLA policy and contract."""

    name: str
    email: str
    client_code: str | None = None
    policy: str
    monthly_hours: float | None = None
    paid_support: bool = False
    active: bool = True


class CustomerPolicyChanged(CustomerFact, frozen=True, kw_only=True):
    """The customer moved to another SLA policy; its open tickets follow it from their history."""

    policy: str
    previous_policy: str


class CustomerContractChanged(CustomerFact, frozen=True, kw_only=True):
    """The contract changed; ``active = false`` blocks the customer's users (MED-4)."""

    monthly_hours: float | None = None
    paid_support: bool = False
    active: bool = True


class CustomerLanguageChanged(CustomerFact, frozen=True, kw_only=True):
    """The customer's default language of mail and pages (``ru`` or ``en``) for users who chose none."""

    language: str


class UserFact(DirectoryFact, frozen=True, kw_only=True):
    user_id: str


class UserRegistered(UserFact, frozen=True, kw_only=True):
    """A customer's employee (``customer_id`` set) or a member of staff was provisioned."""

    name: str
    email: str
    login: str
    role: str
    customer_id: str | None = None
    department: str | None = None
    phone: str | None = None


class SessionsEnded(UserFact, frozen=True, kw_only=True):
    """A change after which the user's tokens issued under a lower ``sessions`` stop working."""

    sessions: int  # tokens carry the value they were issued under (claim ``ses``)


class UserBlocked(SessionsEnded, frozen=True, kw_only=True):
    """An admin blocked the user (MED-4): no sign-in, and every token of theirs stops working."""

    reason: str | None = None


class UserUnblocked(UserFact, frozen=True, kw_only=True):
    """The user may sign in again; tokens from before the block stay revoked."""


class UserDeactivated(SessionsEnded, frozen=True, kw_only=True):
    """The customer no longer names this user (IMC-2): no sign-in, every token stops working."""


class UserReactivated(UserFact, frozen=True, kw_only=True):
    """A deactivated user was brought back; tokens from before stay revoked."""


class UserContactChanged(UserFact, frozen=True, kw_only=True):
    """The user's name, address or phone as they are now."""

    name: str
    email: str
    phone: str | None = None


class UserLanguageChanged(UserFact, frozen=True, kw_only=True):
    """The language (``ru`` or ``en``) of the user's mail and pages."""

    language: str


class UserPasswordChanged(SessionsEnded, frozen=True, kw_only=True):
    """The user changed their own password (never the password itself): their other tokens stop working."""


class UserPasswordReset(SessionsEnded, frozen=True, kw_only=True):
    """An admin set the user a new password (never the password itself): all their tokens stop working."""


DIRECTORY_EVENT_TYPES: dict[type[DirectoryFact], str] = {
    CustomerRegistered: "helpdesk.customer.registered",
    CustomerPolicyChanged: "helpdesk.customer.policy_changed",
    CustomerContractChanged: "helpdesk.customer.contract_changed",
    UserRegistered: "helpdesk.user.registered",
    CustomerLanguageChanged: "helpdesk.customer.language_changed",
    UserBlocked: "helpdesk.user.blocked",
    UserUnblocked: "helpdesk.user.unblocked",
    UserDeactivated: "helpdesk.user.deactivated",
    UserReactivated: "helpdesk.user.reactivated",
    UserContactChanged: "helpdesk.user.contact_changed",
    UserLanguageChanged: "helpdesk.user.language_changed",
    UserPasswordChanged: "helpdesk.user.password_changed",
    UserPasswordReset: "helpdesk.user.password_reset",
}

FAMILY = Family(DIRECTORY_EVENT_TYPES, CloudEvent, __name__)
ENVELOPES = FAMILY.envelopes
DirectoryEvent = FAMILY.union
event_type = FAMILY.event_type
decode = FAMILY.decode


def subject_id(fact: DirectoryFact) -> str:
    """The customer's or user's id: the CloudEvent ``subject``."""
    return fact.customer_id if isinstance(fact, CustomerFact) else fact.user_id  # type: ignore[attr-defined]


def wrap(fact: DirectoryFact, *, event_id: str, sequence: int) -> CloudEvent:
    return FAMILY.envelope(fact, event_id=event_id, subject=subject_id(fact), sequence=sequence)
