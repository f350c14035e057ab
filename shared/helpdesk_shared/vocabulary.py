"""The words of the public contract: statuses, categories, priorities, channels, roles.

Every service and every integration event uses these; they are part of the
contract (CONTRACT.md §3), so values are only ever added, never renamed.
"""

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    AWAITING_CUSTOMER = "awaiting_customer"
    IN_DEVELOPMENT = "in_development"
    READY_TO_INSTALL = "ready_to_install"
    CUSTOMER_TESTING = "customer_testing"
    DEFERRED = "deferred"  # set aside with a reason from the policy's list (TEL-9)
    DONE = "done"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self not in (Status.DONE, Status.REJECTED)


class Category(StrEnum):
    ERROR = "error"
    SUPPORT = "support"
    IMPROVEMENT = "improvement"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Queue rank: a higher rank is served first (MED-2, TEL-2)."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Channel(StrEnum):
    PORTAL = "portal"
    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    API = "api"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    AUDITOR = "auditor"
    CUSTOMER = "customer"
    SERVICE = "service"  # another helpdesk service acting on its own (e.g. sla)


OPEN_STATUSES = frozenset(s for s in Status if s.is_open)


LANGUAGES = ("ru", "en")  # the languages of mail and pages; Russian is the default
