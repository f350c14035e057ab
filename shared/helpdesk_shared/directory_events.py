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


DIRECTORY_EVENT_TYPES: dict[type[DirectoryFact], str] = {
    CustomerRegistered: "helpdesk.customer.registered",
    CustomerPolicyChanged: "helpdesk.customer.policy_changed",
    CustomerContractChanged: "helpdesk.customer.contract_changed",
    UserRegistered: "helpdesk.user.registered",
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
