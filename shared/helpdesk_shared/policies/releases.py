"""Release-bound targets (IMC-8, IMC-9): which release a target is bound to, and when it is due.

A target whose rule names a release kind (``next_scheduled``…) is due at a release's
date, not after a duration: at the close of business of that date in the policy's
calendar (of the last working day before it, when the release falls on a day off).
It binds to the release the ticket is promised for (``PATCH … {release}``), if that
one was not dated before the target started; otherwise to the first release of the
rule's kind dated after the day the target started (the end of primary analysis),
``later_scheduled`` to the second scheduled one. With no such release it is unplanned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.policies.model import Release

_KIND = {Release.NEXT_SCHEDULED: ("scheduled", 0), Release.LATER_SCHEDULED: ("scheduled", 1),
         Release.NEXT_UNSCHEDULED: ("unscheduled", 0)}


class ReleaseDate(msgspec.Struct, frozen=True):
    """A release as the SLA needs it: its id, kind (``scheduled``/``unscheduled``) and date."""

    id: str
    kind: str
    date: dt.date


def bind(rule: Release, promised: str | None, releases: Sequence[ReleaseDate], started: dt.datetime,
         calendar: BusinessCalendar) -> tuple[str, int] | None:
    """The release a target started at ``started`` is bound to and its due time (epoch µs), or None: unplanned."""
    day = started.astimezone(calendar.zone).date()
    chosen = next((r for r in releases if r.id == promised and r.date >= day), None)
    if chosen is None:
        kind, skip = _KIND[rule]
        later = sorted((r for r in releases if r.kind == kind and r.date > day), key=lambda r: (r.date, r.id))
        chosen = later[skip] if len(later) > skip else None
    return None if chosen is None else (chosen.id, close_of_business_us(calendar, chosen.date))


def close_of_business_us(calendar: BusinessCalendar, day: dt.date) -> int:
    """The end of the last working interval on ``day``, or on the last working day before it (epoch µs)."""
    for _ in range(370):
        hours = [(start, end) for start, end in calendar.day_hours(day) if start < end]
        if hours:
            midnight = dt.datetime.combine(day, dt.time(), calendar.zone)
            return int((midnight + dt.timedelta(minutes=hours[-1][1])).timestamp()) * 1_000_000
        day -= dt.timedelta(days=1)
    midnight = dt.datetime.combine(day, dt.time(), calendar.zone)  # a calendar without working days
    return int((midnight + dt.timedelta(days=1)).timestamp()) * 1_000_000
