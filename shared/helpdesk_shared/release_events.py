"""Release facts (IMC-9): the vendor's releases, on ``helpdesk.release.<release_id>.<event>``.

Intake owns releases; the SLA service keeps its own copy from these facts and binds
release-bound targets to them (a release's date is the deadline, read in each
ticket's policy calendar), re-planning every bound ticket when one is re-dated.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from helpdesk_shared.events import Actor, CloudEvent, Family

ReleaseKind = Literal["scheduled", "unscheduled"]


class ReleaseFact(msgspec.Struct, frozen=True, kw_only=True):
    release_id: str
    version: int  # the release's aggregate version
    actor: Actor
    occurred_at: dt.datetime


class ReleasePlanned(ReleaseFact, frozen=True, kw_only=True):
    """A release was planned: a scheduled release or an unscheduled update, on ``date``."""

    name: str
    kind: ReleaseKind
    date: dt.date


class ReleaseRedated(ReleaseFact, frozen=True, kw_only=True):
    """The release moved to another date; every target bound to it moves with it."""

    date: dt.date
    previous_date: dt.date


class ReleaseRenamed(ReleaseFact, frozen=True, kw_only=True):
    """The release has a new name."""

    name: str


RELEASE_EVENT_TYPES: dict[type[ReleaseFact], str] = {
    ReleasePlanned: "helpdesk.release.planned",
    ReleaseRedated: "helpdesk.release.redated",
    ReleaseRenamed: "helpdesk.release.renamed",
}

FAMILY = Family(RELEASE_EVENT_TYPES, CloudEvent, __name__)
ENVELOPES = FAMILY.envelopes
ReleaseEvent = FAMILY.union
event_type = FAMILY.event_type
decode = FAMILY.decode


def wrap(fact: ReleaseFact, *, event_id: str, sequence: int) -> CloudEvent:
    return FAMILY.envelope(fact, event_id=event_id, subject=fact.release_id, sequence=sequence)
