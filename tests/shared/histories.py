"""Building ticket histories from the real integration events, for the policy tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from helpdesk_shared import events as ev
from helpdesk_shared.policies import load_policies
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status, Visibility

MSK = ZoneInfo("Europe/Moscow")
POLICIES = load_policies()
AGENT = ev.Actor(id="agent-1", role=Role.AGENT)
CUSTOMER = ev.Actor(id="user-1", role=Role.CUSTOMER)
SLA = ev.Actor(id="service:sla", role=Role.SERVICE)


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """A Moscow wall-clock instant."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=MSK)


class Ticket:
    """A ticket's history, built one event at a time."""

    def __init__(self, at: dt.datetime, *, channel: Channel = Channel.PORTAL,
                 category: Category | None = None, priority: Priority = Priority.NORMAL) -> None:
        self.status = Status.NEW
        self.events: list[ev.TicketFact] = [ev.TicketOpened(
            **self._common(at, CUSTOMER), number="T-1", subject="s", description="d",
            channel=channel, category=category, priority=priority)]

    def _common(self, at: dt.datetime, actor: ev.Actor) -> dict:
        return dict(ticket_id="t-1", customer_id="c-1", version=len(getattr(self, "events", [])) + 1,
                    status=self.status, actor=actor, occurred_at=at)

    def move(self, event: type[ev.StatusChange], to: Status, at: dt.datetime,
             actor: ev.Actor = AGENT, **fields) -> Ticket:
        """Append a status change to ``to``."""
        old, self.status = self.status, to
        self.events.append(event(**self._common(at, actor), from_status=old, **fields))
        return self

    def comment(self, at: dt.datetime, actor: ev.Actor = AGENT, call: bool = False) -> Ticket:
        self.events.append(ev.CommentAdded(**self._common(at, actor), comment_id=f"c{len(self.events)}",
                                           body="b", visibility=Visibility.PUBLIC, call=call))
        return self

    def triage(self, at: dt.datetime, category: Category, priority: Priority) -> Ticket:
        self.events.append(ev.CategoryChanged(**self._common(at, AGENT), category=category))
        self.events.append(ev.PriorityChanged(**self._common(at, AGENT), priority=priority))
        return self


def target(state, kind: str):
    """The target of ``kind`` in an SlaState (AssertionError if absent)."""
    found = [t for t in state.targets if t.kind == kind]
    assert found, f"no {kind} target in {state.targets}"
    return found[0]
