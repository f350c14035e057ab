"""One pass over a ticket's events: when each SLA clock started and stopped, and the pauses.

Which clocks run is decided by the statuses the ticket moved through; how long each
may run is left to the evaluation, so a policy change re-applies to old starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from helpdesk_shared.events import (
    CategoryChanged,
    CommentAdded,
    PlanChanged,
    PriorityChanged,
    Reopened,
    ReturnedToWork,
    TICKET_EVENT_TYPES,
    StatusChange,
    ThirdPartyAwaited,
    ThirdPartyCleared,
    TicketFact,
    TicketOpened,
)
from helpdesk_shared.policies.duration import Duration
from helpdesk_shared.policies.model import Policy
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status, Visibility
from helpdesk_shared.workflow import delivered_after

_WAITING_ON_CUSTOMER = frozenset({Status.CUSTOMER_TESTING, Status.READY_TO_INSTALL})
_CLOSED = frozenset({Status.DONE, Status.REJECTED})
_STATUS_CHANGES = frozenset(kind for kind in TICKET_EVENT_TYPES if issubclass(kind, StatusChange))
_RETURNS = frozenset({ReturnedToWork, Reopened})
_STAFF = (Role.AGENT, Role.ADMIN)
_REACTIONS = ("first_response", "follow_up", "development_reaction")  # what a staff answer meets


class Run:
    """One run of an SLA clock: started on entering a status, stopped on its outcome."""

    __slots__ = ("start", "stop", "status", "duration")

    def __init__(self, start: dt.datetime, status: Status, duration: Duration | None = None) -> None:
        self.start, self.stop, self.status, self.duration = start, None, status, duration


class TicketTrack:
    """What the evaluation needs to know about a ticket, rebuilt from its events."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.status = Status.NEW
        self.since: dt.datetime | None = None
        self.delivered_at: dt.datetime | None = None  # the solution reached the customer (KS-8)
        self.category: Category | None = None
        self.priority = Priority.NORMAL
        self.channel: Channel | None = None
        self.release: str | None = None
        self.runs: dict[str, Run] = {}
        self.pauses: list[list[dt.datetime | None]] = []
        self.holds: set[str] = set()  # why the executor's clocks stand still now: "status", "third_party"
        self._pausing = frozenset(policy.pause_statuses) | {Status.DEFERRED}  # TEL-9: deferral always pauses
        self._follow_up, self._replies = policy.follow_up_reaction, policy.reply_counts_as_response
        self._dev_reaction = Status.IN_DEVELOPMENT in policy.status_reaction

    @property
    def paused(self) -> bool:
        """Whether the executor's clocks stand still now (a pausing status, or a third party, END-5)."""
        return bool(self.holds) and Status(self.status).is_open

    def apply(self, event: TicketFact) -> None:
        """Fold one event into the track."""
        kind = type(event)
        if kind in _STATUS_CHANGES:
            self._move(event.from_status, event.status, event.occurred_at, kind in _RETURNS)
            if self._follow_up and event.actor.role in _STAFF:
                self._stop("follow_up", event.occurred_at)  # a staff move answers added information
        elif kind is TicketOpened:
            self.channel, self.category, self.priority = event.channel, event.category, event.priority
            self._move(None, event.status, event.occurred_at, False)
            if self.policy.callback:
                self._call_due(self.policy.callback, event.status, event.occurred_at)
        elif kind is CategoryChanged:
            self.category = event.category
        elif kind is PriorityChanged:
            self.priority = event.priority
        elif kind is PlanChanged:
            self.release = event.release  # the release the ticket is promised for (IMC-9), or none
        elif kind is CommentAdded:
            self._comment(event)
        elif kind is ThirdPartyAwaited or kind is ThirdPartyCleared:
            waits = kind is ThirdPartyAwaited and self.policy.third_party_pauses
            self._hold("third_party", waits, event.occurred_at)

    def _comment(self, event: CommentAdded) -> None:
        """A staff answer meets the reactions, a logged call the callback (IMC-4, KS-6); a
        customer's added information starts the follow-up reaction (TEL-3)."""
        role, at = event.actor.role, event.occurred_at
        if role == Role.CUSTOMER:
            if self._follow_up and event.visibility is Visibility.PUBLIC and self.status not in _CLOSED:
                reaction = self.policy.reaction.get(self.channel) if self.channel else None
                running = self.runs.get("follow_up")
                if reaction is not None and (running is None or running.stop is not None):
                    self.runs["follow_up"] = Run(at, self.status, reaction)
            return
        if role not in _STAFF:
            return
        if event.call:
            self._stop("callback", at)
        if self._replies and event.visibility is Visibility.PUBLIC:
            for kind in _REACTIONS:
                self._stop(kind, at)

    def _call_due(self, calls: dict[Channel, Duration], status: Status, at: dt.datetime) -> None:
        """A callback target when the ticket's channel is one the policy calls back on."""
        if self.channel in calls:
            self.runs["callback"] = Run(at, status, calls[self.channel])  # type: ignore[index]

    def _move(self, old: Status | None, new: Status, at: dt.datetime, returned: bool) -> None:
        if old == new:
            return
        self._leave(old, at)
        self._hold("status", new in self._pausing, at)
        if not Status(new).is_open:
            self._hold("third_party", False, at)  # END-5: closing ends the wait (workflow.waiting_on_third_party)
        self._enter(new, at, returned)
        self.delivered_at = delivered_after(self.delivered_at, old, new, at)  # KS-8
        self.status, self.since = new, at

    def _hold(self, why: str, on: bool, at: dt.datetime) -> None:
        """Start or end one reason to pause; a pause lasts while any reason holds."""
        was = bool(self.holds)
        if on:
            self.holds.add(why)
        else:
            self.holds.discard(why)
        if self.holds and not was:
            self.pauses.append([at, None])
        elif was and not self.holds:
            self.pauses[-1][1] = at

    def _leave(self, old: Status | None, at: dt.datetime) -> None:
        self._stop("first_response", at)  # any move is a reaction (MED-10, IMC-5)
        if self._dev_reaction and old == Status.IN_DEVELOPMENT:
            self._stop("development_reaction", at)  # TEL-4
        if old in _WAITING_ON_CUSTOMER:
            self._stop("acceptance", at)
        elif old == Status.AWAITING_CUSTOMER:
            self._stop("customer_reply", at)

    def _enter(self, new: Status, at: dt.datetime, returned: bool) -> None:
        runs = self.runs
        if new == Status.NEW:
            runs["first_response"] = Run(at, new)
        elif new in self.policy.status_reaction:  # TEL-4: beside the first response, not over it
            kind = "development_reaction" if new == Status.IN_DEVELOPMENT else "first_response"
            runs[kind] = Run(at, new, self.policy.status_reaction[new])
        if new == Status.IN_PROGRESS:
            runs.setdefault("resolution", Run(at, new))  # primary analysis ends here (IMC-8)
        elif new in _WAITING_ON_CUSTOMER:
            self._stop("resolution", at)
            self._stop("remark_fix", at)
            runs["acceptance"] = Run(at, new)
            if self.policy.solution_callback:
                self._call_due(self.policy.solution_callback, new, at)  # KS-6: the solution by phone
        elif new == Status.AWAITING_CUSTOMER:
            runs["customer_reply"] = Run(at, new)
        elif new in _CLOSED:
            for kind in runs:
                self._stop(kind, at)
        if returned:
            runs["remark_fix"] = Run(at, new)

    def _stop(self, kind: str, at: dt.datetime) -> None:
        run = self.runs.get(kind)
        if run is not None and run.stop is None:
            run.stop = at


def track(history: Sequence[TicketFact], policy: Policy) -> TicketTrack:
    """Fold a ticket's events, oldest first, into a ``TicketTrack``."""
    ticket = TicketTrack(policy)
    for event in history:
        ticket.apply(event)
    if ticket.since is None:
        raise ValueError("a ticket history starts with TicketOpened")
    ticket.status = Status(ticket.status)
    return ticket
