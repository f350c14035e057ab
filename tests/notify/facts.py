"""Ticket facts in CloudEvent envelopes, as the relay publishes them, for notify's tests."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Channel, Role, Status, Visibility

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REQUESTER, CUSTOMER_ID, AGENT, SERVICE = "user-requester", "customer-acme", "user-agent", "service:sla"


class History:
    """One ticket's events with increasing positions, versions and times."""

    _positions = itertools.count(1)

    def __init__(self, number: str = "HD-1001", ticket_id: str | None = None) -> None:
        self.ticket_id = ticket_id or uuid.uuid4().hex
        self.number = number
        self.version = 0

    def event(self, kind: type[ev.TicketFact], role: Role = Role.AGENT, actor: str | None = None,
              status: Status = Status.IN_PROGRESS, **fields: Any) -> ev.CloudEvent:
        self.version += 1
        position = next(self._positions)
        who = actor or {Role.CUSTOMER: REQUESTER, Role.SERVICE: SERVICE}.get(role, AGENT)
        fact = kind(ticket_id=self.ticket_id, customer_id=CUSTOMER_ID, version=self.version, status=status,
                    actor=ev.Actor(who, role), occurred_at=T0 + dt.timedelta(hours=position), **fields)
        return ev.wrap(fact, event_id=f"evt-{position}", sequence=position, number=self.number)

    def opened(self, requester: str | None = REQUESTER, policy: str | None = "keysystems",
               channel: Channel = Channel.EMAIL, **fields: Any) -> ev.CloudEvent:
        return self.event(ev.TicketOpened, Role.CUSTOMER, status=Status.NEW, number=self.number,
                          subject="Принтер не печатает", description="Горит", channel=channel,
                          requester_id=requester, policy=policy, **fields)

    def move(self, kind: type[ev.StatusChange], role: Role = Role.AGENT, status: Status = Status.IN_PROGRESS,
             from_status: Status = Status.NEW, **fields: Any) -> ev.CloudEvent:
        return self.event(kind, role, status=status, from_status=from_status, **fields)

    def comment(self, body: str, role: Role = Role.AGENT, visibility: str = "public") -> ev.CloudEvent:
        return self.event(ev.CommentAdded, role, comment_id=uuid.uuid4().hex, body=body,
                          visibility=Visibility(visibility))

    def assign(self, responsible: str = AGENT) -> ev.CloudEvent:
        return self.event(ev.AssigneesChanged, responsible_id=responsible)
