"""The Release aggregate: a vendor's product release tickets can be promised for (IMC-9).

A release is planned with a name, a kind (a scheduled release or an unscheduled
update) and a date; it can be re-dated and renamed, never into the past. Dates
are calendar dates: "the past" is before today's date in UTC, the one zone every
service shares (the SLA reads a release's date in each ticket's policy calendar).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from helpdesk_shared.vocabulary import Role

from helpdesk_intake.domain.base import Context, HelpdeskEvent, InvalidInput, NotPermitted

PLANNERS = frozenset({Role.AGENT, Role.ADMIN})
HORIZON_DAYS = 5 * 366  # a release further out is a typo; deadlines are computed on calendars that far


class ReleaseKind(StrEnum):
    SCHEDULED = "scheduled"
    UNSCHEDULED = "unscheduled"


class ReleaseDatedInPast(InvalidInput):
    """A release is planned, or re-dated, for today or later, never for a day gone by."""


class ReleaseTooFar(InvalidInput):
    """A release is planned within the next five years."""


class Release(Aggregate):
    TOPIC = "helpdesk:Release"

    class Event(HelpdeskEvent):
        pass

    class Planned(Aggregate.Created, Event):
        TOPIC = "helpdesk:Release.Planned"
        name: str
        kind: str
        date: dt.date

    Created = Planned

    class Redated(Event):
        TOPIC = "helpdesk:Release.Redated"
        date: dt.date
        previous_date: dt.date

        def apply(self, release: Release) -> None:
            release.date = self.date

    class Renamed(Event):
        TOPIC = "helpdesk:Release.Renamed"
        name: str

        def apply(self, release: Release) -> None:
            release.name = self.name

    def __init__(self, name: str, kind: str, date: dt.date, **_: Any) -> None:
        self.name = name
        self.kind = ReleaseKind(kind)
        self.date = date

    @classmethod
    def plan(cls, ctx: Context, *, id: UUID, name: str, kind: ReleaseKind, date: dt.date) -> Release:
        """Plan a release (agent, admin); its date is today or later."""
        _require_planner(ctx)
        _check_name(name)
        _check_date(ctx, date)
        return cls._create(cls.Planned, id=id, name=name.strip(), kind=kind.value, date=date,
                           **ctx.event_fields())

    def change(self, ctx: Context, *, name: str | None = None, date: dt.date | None = None) -> None:
        """Rename or re-date the release; re-dating re-plans every ticket bound to it (the SLA follows)."""
        _require_planner(ctx)
        if name is not None:
            _check_name(name)
        if date is not None and date != self.date:
            _check_date(ctx, date)
            self.trigger_event(self.Redated, date=date, previous_date=self.date, **ctx.event_fields())
        if name is not None and name.strip() != self.name:
            self.trigger_event(self.Renamed, name=name.strip(), **ctx.event_fields())


def _check_name(name: str) -> None:
    if not name.strip():
        raise InvalidInput("a release needs a name", field="name")


def _check_date(ctx: Context, date: dt.date) -> None:
    today = ctx.now.astimezone(dt.UTC).date()
    if date < today:
        raise ReleaseDatedInPast(f"{date.isoformat()} is in the past (today is {today.isoformat()} UTC)",
                                 field="date")
    if (date - today).days > HORIZON_DAYS:
        raise ReleaseTooFar(f"{date.isoformat()} is more than five years ahead", field="date")


def _require_planner(ctx: Context) -> None:
    if ctx.role not in PLANNERS:
        raise NotPermitted("only agents and admins plan releases")
