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
from helpdesk_shared.policies.model import AutoTransition, CompiledPolicy, Policy, Release, compiled
from helpdesk_shared.policies.releases import ReleaseDate, bind
from helpdesk_shared.policies.rules import reopen_until as reopen_window_end
from helpdesk_shared.sla_events import CUSTOMER_SIDE, TargetKind
from helpdesk_shared.vocabulary import Status

from helpdesk_sla.domain.history import Run, TicketTrack, track

TargetState = Literal["running", "paused", "at_risk", "met", "breached", "unplanned"]
KINDS: tuple[TargetKind, ...] = ("first_response", "resolution", "acceptance", "remark_fix", "customer_reply",
                                 "follow_up", "development_reaction", "callback")


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One deadline of a ticket (CONTRACT §4); a release-bound one is due at its release, unplanned without one."""

    kind: TargetKind
    state: TargetState
    due_at: dt.datetime | None
    remaining_seconds: int | None  # business time left; at stop for met/breached targets
    warn_at: dt.datetime | None = None  # when a running target turns at_risk
    started_at: dt.datetime
    stopped_at: dt.datetime | None = None
    release: Release | None = None
    release_id: str | None = None  # the release a release-bound target is bound to (IMC-9)
    provisional: bool = False  # due in a year whose production calendar is not yet published


_REOPENABLE = frozenset({Status.DONE, Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL})
REOPEN_WINDOW_ENDED = "the time to return the solution has run out (KS-8)"


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
    untriaged: bool = False  # open, and without the category/priority its resolution target needs (IMC-8)


def evaluate(history: Sequence[TicketFact], policy: Policy, now: dt.datetime,
             releases: Sequence[ReleaseDate] = ()) -> SlaState:
    """The SLA state of the ticket whose events are ``history`` at ``now``, with the known ``releases``."""
    ticket = track(history, policy)
    view = _View(ticket, compiled(policy), to_us(now), releases)
    calendar = view.calendar
    reopen_until = _reopen_until(ticket, policy)
    return SlaState(
        policy=policy.id,
        status=ticket.status,
        paused=view.paused,
        targets=[t for kind in KINDS if kind in ticket.runs and (t := view.target(kind))],
        next_transition=_next_transition(ticket, policy, calendar),
        **_next_reminder(ticket, policy, calendar, now),
        reopen_until=reopen_until,
        reopen_open=reopen_until is not None and now <= reopen_until,
        untriaged=_untriaged(ticket, view.compiled),
    )


def _untriaged(ticket: TicketTrack, policy: CompiledPolicy) -> bool:
    """An open ticket whose policy times resolution by category × priority, but has no rule for its own."""
    return (policy.resolution_by_rule and ticket.status.is_open
            and policy.rule("resolution", ticket.category, ticket.priority) is None)


class _View:
    """The targets of one ticket at one instant; times are epoch microseconds."""

    def __init__(self, ticket: TicketTrack, policy: CompiledPolicy, now: int,
                 releases: Sequence[ReleaseDate] = ()) -> None:
        self.ticket, self.compiled, self.calendar, self.now = ticket, policy, policy.calendar, now
        self.releases = releases
        self.paused = ticket.paused
        self.pauses = [(to_us(a), to_us(b) if b else now) for a, b in ticket.pauses]

    def target(self, kind: TargetKind) -> Target | None:
        run = self.ticket.runs.get(kind)
        if run is None:
            return None
        duration, release, warning = self._terms(kind, run)
        if duration is None and release is None:
            return None
        start = to_us(run.start)
        stop = to_us(run.stop) if run.stop else None
        end = self.now if stop is None else stop
        executor_side = kind not in CUSTOMER_SIDE
        release_id, due = self._due(run, duration, release, start, end, executor_side)
        if due is None:  # release-bound, and no release binds it (IMC-9)
            return Target(kind=kind, state="met" if run.stop else "unplanned", due_at=None, remaining_seconds=None,
                          started_at=run.start, stopped_at=run.stop, release=release)
        warn = warning.before_us(self.calendar, due) if warning and run.stop is None else None
        return Target(
            kind=kind, state=self._state(stop, due, warn, executor_side and release_id is None), due_at=from_us(due),
            remaining_seconds=self.calendar.between_us(end, due) // 1_000_000,
            warn_at=from_us(warn) if warn is not None else None,
            started_at=run.start, stopped_at=run.stop, release=release, release_id=release_id,
            provisional=duration is not None and duration.is_business and self.calendar.is_provisional_us(due))

    def _due(self, run: Run, duration: Duration | None, release: Release | None, start: int, end: int,
             executor_side: bool) -> tuple[str | None, int | None]:
        """The bound release (if any) and the due time: after ``duration``, or at the release's date."""
        if duration is None:  # a release's date does not move with pauses (IMC-9)
            bound = bind(release, self.ticket.release, self.releases, run.start, self.calendar)  # type: ignore[arg-type]
            return bound if bound is not None else (None, None)
        due = duration.after_us(self.calendar, start)
        if executor_side and self.pauses:
            due = self._extend(duration, due, start, end)
        return None, due

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
        return _reopen_window_close(ticket, policy)
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


def _reopen_until(ticket: TicketTrack, policy: Policy) -> dt.datetime | None:
    """KS-8: the window counts from the solution's delivery, in testing or done (the one window intake
    enforces: ``rules.reopen_until``)."""
    if ticket.status not in _REOPENABLE or ticket.delivered_at is None:
        return None
    return reopen_window_end(policy, ticket.category, ticket.delivered_at)


def _reopen_window_close(ticket: TicketTrack, policy: Policy) -> Transition | None:
    """KS-8: a ticket still in customer testing when its reopen window ends closes as done."""
    if ticket.status is not Status.CUSTOMER_TESTING or not policy.reopen.close_when_over:
        return None
    until = _reopen_until(ticket, policy)
    if until is None:
        return None
    return Transition(status=ticket.status, due_at=until, action="accept_solution", reason=REOPEN_WINDOW_ENDED)
