"""SLA state as a pure function of a ticket's history, its policy and an instant.

Nothing is stored between calls: a changed policy re-applies to an open ticket the
next time it is evaluated, so no deadline goes stale. ``history`` holds the ticket's
integration events, oldest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from helpdesk_shared.calendar import from_us, to_us
from helpdesk_shared.events import TicketFact
from helpdesk_shared.policies.duration import Duration
from helpdesk_shared.policies.history import CUSTOMER_SIDE, Run, TicketTrack, track
from helpdesk_shared.policies.model import AutoTransition, CompiledPolicy, Policy, Release, compiled
from helpdesk_shared.vocabulary import Status

TargetKind = Literal["first_response", "resolution", "acceptance", "remark_fix", "customer_reply"]
TargetState = Literal["running", "paused", "at_risk", "met", "breached"]
KINDS: tuple[TargetKind, ...] = ("first_response", "resolution", "acceptance", "remark_fix", "customer_reply")


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One deadline of a ticket (CONTRACT §4); release-bound targets have no due time."""

    kind: TargetKind
    state: TargetState
    due_at: dt.datetime | None
    remaining_seconds: int | None  # business time left; at stop for met/breached targets
    warn_at: dt.datetime | None = None  # when a running target turns at_risk
    started_at: dt.datetime
    stopped_at: dt.datetime | None = None
    release: Release | None = None


class Transition(msgspec.Struct, frozen=True, kw_only=True):
    """The automatic transition the SLA service is to fire at ``due_at``."""

    status: Status
    due_at: dt.datetime
    action: str
    reason: str


class SlaState(msgspec.Struct, frozen=True, kw_only=True):
    """The SLA block of a ticket at one instant."""

    policy: str
    status: Status
    paused: bool
    targets: list[Target]
    next_transition: Transition | None = None
    next_reminder: dt.datetime | None = None
    reminder_to: Literal["customer", "agent"] | None = None  # whom the next reminder is for
    reopen_until: dt.datetime | None = None
    reopen_open: bool = False


def evaluate(history: Sequence[TicketFact], policy: Policy, now: dt.datetime) -> SlaState:
    """The SLA state of the ticket whose events are ``history`` at ``now``."""
    ticket = track(history, policy)
    view = _View(ticket, compiled(policy), to_us(now))
    calendar = view.calendar
    reopen_until = _reopen_until(ticket, policy, calendar)
    return SlaState(
        policy=policy.id,
        status=ticket.status,
        paused=view.paused,
        targets=[t for kind in KINDS if (t := view.target(kind))],
        next_transition=_next_transition(ticket, policy, calendar),
        **_next_reminder(ticket, policy, calendar, now),
        reopen_until=reopen_until,
        reopen_open=reopen_until is not None and now <= reopen_until,
    )


class _View:
    """The targets of one ticket at one instant; times are epoch microseconds."""

    def __init__(self, ticket: TicketTrack, policy: CompiledPolicy, now: int) -> None:
        self.ticket, self.compiled, self.calendar, self.now = ticket, policy, policy.calendar, now
        self.paused = ticket.paused
        self.pauses = [(to_us(a), to_us(b) if b else now) for a, b in ticket.pauses]

    def target(self, kind: TargetKind) -> Target | None:
        run = self.ticket.runs.get(kind)
        if run is None:
            return None
        duration, release, warning = self._terms(kind, run)
        if duration is None:
            return None if release is None else Target(
                kind=kind, state="met" if run.stop else "running", due_at=None, remaining_seconds=None,
                started_at=run.start, stopped_at=run.stop, release=release)
        start = to_us(run.start)
        stop = to_us(run.stop) if run.stop else None
        end = self.now if stop is None else stop
        due = duration.after_us(self.calendar, start)
        executor_side = kind not in CUSTOMER_SIDE
        if executor_side and self.pauses:
            due = self._extend(duration, due, start, end)
        warn = warning.before_us(self.calendar, due) if warning and run.stop is None else None
        return Target(
            kind=kind, state=self._state(stop, due, warn, executor_side), due_at=from_us(due),
            remaining_seconds=self.calendar.between_us(end, due) // 1_000_000,
            warn_at=from_us(warn) if warn is not None else None,
            started_at=run.start, stopped_at=run.stop, release=release)

    def _terms(self, kind: TargetKind, run: Run) -> tuple[Duration | None, Release | None, Duration | None]:
        """Duration, release and warning lead of a run under the current policy (memoised)."""
        ticket = self.ticket
        key = (kind, ticket.category, ticket.priority, ticket.channel, run.status)
        terms = self.compiled.memo.get(key)
        if terms is None:
            terms = self.compiled.memo[key] = _terms(kind, run, ticket, self.compiled)
        return terms

    def _extend(self, duration: Duration, due: int, start: int, end: int) -> int:
        """Push ``due`` back by the paused time between ``start`` and ``end`` (KS-4)."""
        paused = 0
        for p_start, p_end in self.pauses:
            lo, hi = max(start, p_start), min(end, p_end)
            if hi > lo:
                paused += self.calendar.between_us(lo, hi) if duration.is_business else hi - lo
        if not paused:
            return due
        return self.calendar.add_us(due, paused) if duration.is_business else due + paused

    def _state(self, stop: int | None, due: int, warn: int | None, executor_side: bool) -> TargetState:
        if stop is not None:
            return "met" if stop <= due else "breached"
        if self.now > due:
            return "breached"
        if self.paused and executor_side:
            return "paused"
        return "at_risk" if warn is not None and self.now >= warn else "running"


def _terms(kind: TargetKind, run: Run, ticket: TicketTrack, compiled_policy: CompiledPolicy):
    policy = compiled_policy.policy
    if run.duration is not None:
        return run.duration, None, None
    if kind == "customer_reply":
        rule = _transition(policy, Status.AWAITING_CUSTOMER, ticket, automatic_only=False)
        return (rule.after if rule else None), None, None
    if kind == "first_response" and ticket.channel in policy.reaction:
        return policy.reaction[ticket.channel], None, None
    rule = compiled_policy.rule(kind, ticket.category, ticket.priority)
    if rule is None:
        fallback = kind == "acceptance" and _transition(policy, run.status, ticket, automatic_only=False)
        return (fallback.after if fallback else None), None, None
    return getattr(rule, kind), getattr(rule, kind + "_release", None), rule.warning


def _transition(policy: Policy, status, ticket: TicketTrack, *, automatic_only: bool) -> AutoTransition | None:
    for rule in policy.transitions:
        if rule.status == status and (rule.automatic or not automatic_only) and (
            rule.categories is None or ticket.category in rule.categories
        ):
            return rule
    return None


def _next_transition(ticket: TicketTrack, policy: Policy, calendar) -> Transition | None:
    rule = _transition(policy, ticket.status, ticket, automatic_only=True) if ticket.status.is_open else None
    if rule is None:
        return None
    due = rule.after.after(calendar, ticket.since)
    return Transition(status=ticket.status, due_at=due, action=rule.action, reason=rule.reason)


def _next_reminder(ticket: TicketTrack, policy: Policy, calendar, now) -> dict[str, Any]:
    """The first reminder strictly after ``now`` for the ticket's current status, and whom it is for."""
    best: dict[str, Any] = {}
    for rule in policy.reminders:
        if rule.status != ticket.status or not ticket.status.is_open:
            continue
        at = rule.every.after(calendar, ticket.since)
        for _ in range(100_000):
            if at > now:
                break
            at = rule.every.after(calendar, at)
        if not best or at < best["next_reminder"]:
            best = {"next_reminder": at, "reminder_to": rule.to}
    return best


def _reopen_until(ticket: TicketTrack, policy: Policy, calendar) -> dt.datetime | None:
    if ticket.status is not Status.DONE:
        return None
    window = policy.reopen.for_category(ticket.category)
    return window.after(calendar, ticket.since) if window else None
