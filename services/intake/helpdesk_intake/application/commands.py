"""The commands intake accepts (CONTRACT §2–3), as strict msgspec structs.

They are the HTTP request bodies too: unknown fields, wrong types and values out
of range are refused at decoding, before any use case runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from helpdesk_shared.vocabulary import Category, Channel, Priority, Visibility

Text = Annotated[str, Meta(min_length=1, max_length=200)]
Subject = Annotated[str, Meta(min_length=1, max_length=500)]
LongText = Annotated[str, Meta(min_length=1, max_length=100_000)]
Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Meta(min_length=8, max_length=200)]
Minutes = Annotated[int, Meta(gt=0, le=100_000)]
Language = Annotated[str, Meta(min_length=1, max_length=10, description="ru or en")]
DetailName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
DetailValue = Annotated[str, Meta(max_length=4000)] | float | int | bool | None
# A request form's fields (KS-7, END-8, TEL-7, MED-11); the policy's form types and requires them.
Details = Annotated[dict[DetailName, DetailValue], Meta(max_length=30)]


class Command(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def given(self) -> dict[str, Any]:
        """The fields the caller actually sent (``UNSET`` ones left out)."""
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET}


class Contract(Command):
    monthly_hours: Annotated[float, Meta(ge=0, le=10_000)] | None | UnsetType = UNSET
    paid_support: bool | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class RegisterCustomer(Command):
    name: Text
    email: Email
    policy: Text
    client_code: Text | None = None
    contract: Contract | None = None


class ChangeCustomer(Command):
    policy: Text | UnsetType = UNSET
    contract: Contract | UnsetType = UNSET
    language: Language | UnsetType = UNSET  # the default of its users' mail and pages


class RegisterCustomerUser(Command):
    name: Text
    email: Email
    login: Text
    password: Password
    phone: Text | None = None
    language: Language | None = None


class RegisterStaff(Command):
    name: Text
    email: Email
    login: Text
    password: Password
    role: Annotated[str, Meta(pattern="^(agent|admin|auditor)$")]
    department: Text | None = None
    language: Language | None = None


class ChangeUser(Command):
    """Block or unblock (MED-4), deactivate or reactivate (IMC-2), correct contacts, choose a language."""

    blocked: bool | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    name: Text | UnsetType = UNSET
    email: Email | UnsetType = UNSET
    phone: Text | None | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    reason: Text | UnsetType = UNSET  # why a user is blocked, kept in the history


class SetPassword(Command):
    password: Password


class ChangeOwnPassword(Command):
    current: Annotated[str, Meta(max_length=200)]
    new: Password


class RegisterWebhook(Command):
    url: Annotated[str, Meta(min_length=1, max_length=2000)]
    subjects: Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]], Meta(min_length=1, max_length=50)]
    secret: Annotated[str, Meta(min_length=1, max_length=500)]


class Login(Command):
    login: Text
    password: Annotated[str, Meta(max_length=200)]


class OpenTicket(Command):
    subject: Subject
    description: LongText
    channel: Channel = Channel.PORTAL
    category: Category | None = None
    priority: Priority = Priority.NORMAL
    service: Text | None = None
    details: Details | None = None
    customer_id: Text | None = None
    requester_id: Text | None = None


class ThirdParty(Command):
    """Whom a ticket waits on and why (END-5); the customer is told both."""

    party: Text
    note: Annotated[str, Meta(max_length=2000)] | None = None


class Triage(Command):
    category: Category | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    service: Text | UnsetType = UNSET
    details: Details | UnsetType = UNSET  # merged into the ticket's; a null value removes a field
    responsible_id: Text | None | UnsetType = UNSET
    owner_id: Text | None | UnsetType = UNSET
    department: Text | None | UnsetType = UNSET
    planned_date: dt.date | None | UnsetType = UNSET
    planned_minutes: Annotated[int, Meta(ge=0, le=100_000)] | None | UnsetType = UNSET
    release: Text | None | UnsetType = UNSET
    third_party: ThirdParty | None | UnsetType = UNSET  # null: no longer waits on one


class PlanRelease(Command):
    """A vendor's release tickets can be promised for (IMC-9)."""

    name: Text
    kind: Literal["scheduled", "unscheduled"]
    date: dt.date


class ChangeRelease(Command):
    """Re-date or rename a release; its kind stays."""

    name: Text | UnsetType = UNSET
    date: dt.date | UnsetType = UNSET


class AddComment(Command):
    body: LongText
    visibility: Visibility = Visibility.PUBLIC
    call: bool = False  # staff: the comment logs a phone call with the customer (IMC-4, KS-6)


class AttachFiles(Command):
    """The text fields of a portal upload (TEL-8); its files come as ``file`` parts beside them."""

    body: LongText | None = None  # None: a line naming the files
    visibility: Visibility = Visibility.PUBLIC


class LogTime(Command):
    minutes: Minutes
    billable: bool | None = None  # None: billable when the customer may be billed (END-7)
    note: Annotated[str, Meta(max_length=2000)] | None = None


class ActOnTicket(Command):
    comment: Annotated[str, Meta(max_length=100_000)] | None = None
    reason: Annotated[str, Meta(max_length=2000)] | None = None
