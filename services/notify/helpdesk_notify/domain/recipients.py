"""Who can receive mail: people of the directory, by id, or raw addresses that are nobody's.

A recipient id is a directory id (a user, or a customer for its own address), whose
address and language are looked up when the mail is sent; or ``mailto:<address>`` for
someone who is not a user: the sender of an inbound mail that was not registered
(KS-1, MED-4), or a customer's address that unregistered senders' mail is forwarded
to (IMC-3). The directory is filled from intake's ``helpdesk.user``/``helpdesk.customer``
facts; ``Staff`` is the part of it that SLA warnings escalate to when a ticket has
nobody responsible for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import msgspec

from helpdesk_shared import directory_events as directory
from helpdesk_shared.vocabulary import Role

ADDRESS_PREFIX = "mailto:"
_ADDRESS = re.compile(r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,253}$")


def address(value: str | None) -> str | None:
    """The recipient id of a raw address; None for anything that is not one bare address."""
    value = (value or "").strip()
    return f"{ADDRESS_PREFIX}{value}" if _ADDRESS.match(value) else None


def address_of(recipient_id: str) -> str | None:
    """The address a ``mailto:`` recipient id names; None for a directory id."""
    return recipient_id.removeprefix(ADDRESS_PREFIX) if recipient_id.startswith(ADDRESS_PREFIX) else None


class DirectoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A user or a customer as notify knows it from intake's facts."""

    id: str
    kind: str  # "user" or "customer"
    email: str
    name: str = ""
    role: str | None = None
    customer_id: str | None = None  # a customer user's organisation (its language override applies)
    department: str | None = None


def entry(fact: directory.DirectoryFact) -> DirectoryEntry | None:
    """The directory entry a fact (re)defines; None for facts that change no address."""
    match fact:
        case directory.UserRegistered():
            return DirectoryEntry(id=fact.user_id, kind="user", email=fact.email, name=fact.name,
                                  role=fact.role, customer_id=fact.customer_id, department=fact.department)
        case directory.CustomerRegistered():
            return DirectoryEntry(id=fact.customer_id, kind="customer", email=fact.email, name=fact.name)
    return None


@dataclass
class Staff:
    """Staff by department and the admins: who hears an SLA warning nobody else would (IMC-8)."""

    by_department: dict[str, list[str]] = field(default_factory=dict)
    admins: list[str] = field(default_factory=list)

    def add(self, person: DirectoryEntry) -> None:
        if person.kind != "user" or person.customer_id or person.role not in (Role.AGENT, Role.ADMIN):
            return
        if person.department:
            self.by_department.setdefault(person.department, []).append(person.id)
        if person.role == Role.ADMIN:
            self.admins.append(person.id)

    def escalation(self, department: str | None) -> tuple[str, list[str]]:
        """("department", its staff) when it has any, else ("admins", every admin); ids sorted."""
        if members := self.by_department.get(department or ""):
            return "department", sorted(set(members))
        return "admins", sorted(set(self.admins))
