"""A ticket's ``sla`` block (CONTRACT §4): the fold of its SLA facts, and how it reads at an instant.

The SLA service publishes facts (``helpdesk_shared.sla_events``); ``evolve`` folds
them into an ``SlaView`` that stores deadlines, not remaining times, and ``present``
computes ``remaining_seconds`` and ``state`` at read time on the policy's business
calendar, so the block is right at any instant without a write per second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import msgspec

from helpdesk_shared import sla_events as sla
from helpdesk_shared.calendar import BusinessCalendar

KINDS = ("first_response", "resolution", "acceptance", "remark_fix", "customer_reply",
         "follow_up", "development_reaction", "callback")


class TargetView(msgspec.Struct, kw_only=True):
    due_at: dt.datetime | None
    warn_at: dt.datetime | None = None
    started_at: dt.datetime
    customer_side: bool = False
    release: str | None = None
    release_id: str | None = None  # the release a release-bound target is due at (IMC-9)
    stopped_at: dt.datetime | None = None
    remaining_at_stop: int | None = None
    breached: bool = False
    provisional: bool = False  # computed by the law: the year's production calendar is not yet published


class SlaView(msgspec.Struct, kw_only=True):
    policy: str | None = None
    paused: bool = False
    paused_at: dt.datetime | None = None
    sequence: int = 0  # the last SLA fact folded in (the SLA service's outbox position)
    targets: dict[str, TargetView] = {}
    untriaged: bool = False  # no resolution target until category and priority name one (IMC-8)


def evolve(view: SlaView | None, fact: sla.SlaFact, sequence: int) -> SlaView:
    """The block after ``fact``; a fact at or below the folded sequence changes nothing."""
    view = view or SlaView()
    if sequence <= view.sequence:
        return view
    targets = dict(view.targets)
    paused, paused_at, untriaged = view.paused, view.paused_at, view.untriaged
    match fact:
        case sla.Untriaged():
            untriaged = True
        case sla.Triaged():
            untriaged = False
        case sla.Paused(occurred_at=at):
            paused, paused_at = True, at
        case sla.Resumed():
            paused, paused_at = False, None
        case sla.TargetSet():
            targets[fact.kind] = TargetView(due_at=fact.due_at, warn_at=fact.warn_at, started_at=fact.started_at,
                                            customer_side=fact.customer_side, release=fact.release,
                                            release_id=fact.release_id, provisional=fact.provisional)
        case sla.Met() if fact.kind in targets:
            targets[fact.kind] = msgspec.structs.replace(
                targets[fact.kind], stopped_at=fact.stopped_at, remaining_at_stop=fact.remaining_seconds,
                breached=fact.breached or targets[fact.kind].breached)
        case sla.Breached() if fact.kind in targets:
            targets[fact.kind] = msgspec.structs.replace(targets[fact.kind], breached=True)
    return SlaView(policy=fact.policy, paused=paused, paused_at=paused_at, sequence=sequence, targets=targets,
                   untriaged=untriaged)


def fold(facts: Iterable[tuple[sla.SlaFact, int]], until: dt.datetime | None = None) -> SlaView | None:
    """The block after every ``(fact, sequence)`` that occurred at or before ``until`` (CARD-8).

    A filter, not a cut: a timer's fact carries its due time and may reach the stream
    after a ticket fact that occurred later.
    """
    view = None
    for fact, sequence in facts:
        if until is None or fact.occurred_at <= until:
            view = evolve(view, fact, sequence)
    return view


def present(view: SlaView | None, policy: str | None, calendar: BusinessCalendar | None,
            now: dt.datetime) -> dict[str, Any]:
    """``{policy, paused, untriaged, targets: [{kind, due_at, remaining_seconds, state}]}`` at ``now``."""
    if view is None:
        return {"policy": policy, "paused": False, "untriaged": False, "targets": []}
    targets = [_target(kind, view.targets[kind], view, calendar, now) for kind in KINDS if kind in view.targets]
    return {"policy": view.policy or policy, "paused": view.paused, "untriaged": view.untriaged,
            "targets": targets}


def _target(kind: str, target: TargetView, view: SlaView, calendar: BusinessCalendar | None,
            now: dt.datetime) -> dict[str, Any]:
    due = target.due_at
    body: dict[str, Any] = {"kind": kind, "due_at": due.isoformat() if due else None, "remaining_seconds": None}
    if target.release:
        body.update(release=target.release, release_id=target.release_id)
    if target.provisional:
        body["provisional"] = True
    if target.stopped_at is not None:
        body.update(remaining_seconds=target.remaining_at_stop, state="breached" if target.breached else "met")
        return body
    if due is None:
        body["state"] = "unplanned" if target.release else "running"  # no release to be due at (IMC-9)
        return body
    # a paused executor target stands still, except one bound to a release's date (IMC-9)
    frozen = view.paused and not target.customer_side and not target.release_id and view.paused_at is not None
    at = view.paused_at if frozen else now
    if calendar is not None:
        body["remaining_seconds"] = int(calendar.between(at, due))  # type: ignore[arg-type]
    if target.breached or at > due:  # type: ignore[operator]
        body["state"] = "breached"
    elif frozen:
        body["state"] = "paused"
    elif target.warn_at is not None and now >= target.warn_at:
        body["state"] = "at_risk"
    else:
        body["state"] = "running"
    return body

