"""What every aggregate shares: who acts, when, and the errors every command can raise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from eventsourcing.domain import Aggregate

from helpdesk_shared.vocabulary import Role

STAFF_ROLES = frozenset({Role.ADMIN, Role.AGENT, Role.SERVICE})


@dataclass(frozen=True)
class Context:
    """The circumstances of one command: the actor, the instant, the trace it belongs to."""

    actor_id: str
    role: Role
    now: dt.datetime
    customer_id: str | None = None
    traceparent: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def event_fields(self) -> dict[str, object]:
        """The fields every stored event records about its cause."""
        return {
            "actor_id": self.actor_id,
            "actor_role": self.role.value,
            "traceparent": self.traceparent,
            "timestamp": self.now,
        }


class DomainError(Exception):
    """A command that the rules refuse."""


class NotPermitted(DomainError):
    """The actor's role may not give this command."""


class InvalidInput(DomainError):
    """A command's data breaks a rule of the domain (a required field, a range)."""

    def __init__(self, detail: str, field: str | None = None,
                 fields: list[tuple[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.field = field
        self.fields = fields or ([(field, detail)] if field else [])  # every offending field, with why


class HelpdeskEvent(Aggregate.Event):
    """Base of every stored event: it records who caused it and the trace it belongs to."""

    actor_id: str
    actor_role: str
    traceparent: str | None
