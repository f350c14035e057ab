"""The Webhook aggregate: an admin's HTTPS endpoint for the events matching its subject filter (CONTRACT §10).

The signing secret is no fact of the domain and never enters the event store (like a
password): the application keeps it beside the events, written in the same
transaction. Whether the URL's host resolves to an allowed address is I/O, checked
by the application; the form of the URL and the filter are checked here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.webhook_targets import MIN_SECRET_LENGTH, RefusedTarget, check_subjects, check_url

from helpdesk_intake.domain.base import Context, DomainError, HelpdeskEvent, InvalidInput, NotPermitted


class AlreadyRemoved(DomainError):
    """A removed webhook stays removed; register a new one."""


class Webhook(Aggregate):
    TOPIC = "helpdesk:Webhook"

    class Event(HelpdeskEvent):
        pass

    class Registered(Aggregate.Created, Event):
        TOPIC = "helpdesk:Webhook.Registered"
        url: str
        subjects: list[str]

    Created = Registered

    class Removed(Event):
        TOPIC = "helpdesk:Webhook.Removed"

        def apply(self, webhook: Webhook) -> None:
            webhook.removed = True

    def __init__(self, url: str, subjects: list[str], **_: Any) -> None:
        self.url = url
        self.subjects = list(subjects)
        self.removed = False

    @classmethod
    def register(cls, ctx: Context, *, id: UUID, url: str, subjects: list[str], secret: str,
                 allow_loopback: bool) -> Webhook:
        """Register an endpoint for the events matching ``subjects`` (admin only)."""
        _require_admin(ctx)
        try:
            check_url(url, allow_loopback)
            patterns = check_subjects(subjects)
        except RefusedTarget as refused:
            raise InvalidInput(str(refused), field=refused.field) from None
        if len(secret) < MIN_SECRET_LENGTH:
            raise InvalidInput(f"the secret must be at least {MIN_SECRET_LENGTH} characters", field="secret")
        return cls._create(cls.Registered, id=id, url=url, subjects=list(patterns), **ctx.event_fields())

    def remove(self, ctx: Context) -> None:
        """Stop delivering to this endpoint (admin only)."""
        _require_admin(ctx)
        if self.removed:
            raise AlreadyRemoved("this webhook is already removed")
        self.trigger_event(self.Removed, **ctx.event_fields())


def _require_admin(ctx: Context) -> None:
    if ctx.role is not Role.ADMIN:
        raise NotPermitted("only an admin manages webhooks")
