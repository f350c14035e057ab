"""The Ticket aggregate: a support request, its workflow, and the facts it records.

Commands check the workflow (``helpdesk_shared.workflow``, the one table) and the policy's answers
(``rules.TicketRules``; the input checks are in ``ticket_checks``), then trigger specific past-tense
events. Every event records its actor and the trace of the request that caused it. Topics are pinned
(``TOPIC``), so the code can move without breaking the stored history.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from helpdesk_shared.events import Attachment
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status, Visibility
from helpdesk_shared.workflow import (WORKFLOW, Action, Refused, TicketState, delivered_after, refusal,
                                      reopen_window_over, waiting_on_third_party)

from helpdesk_intake.domain import offer
from helpdesk_intake.domain import ticket_checks as checks
from helpdesk_intake.domain.base import Context, DomainError, HelpdeskEvent, InvalidInput, NotPermitted
from helpdesk_intake.domain.primary_analysis import check_accept
from helpdesk_intake.domain.budget import MonthBudget, minutes_counted
from helpdesk_intake.domain.rules import TicketRules


class InvalidTransition(DomainError):
    """The action is unknown, or not allowed from the ticket's current status."""


class ReopenWindowClosed(DomainError):
    """A solution may be returned to work only inside its policy's reopen window (KS-8)."""


class Ticket(Aggregate):
    TOPIC = "helpdesk:Ticket"
    third_party: dict[str, str | None] | None = None  # END-5: {party, note} while it waits on one

    class Event(HelpdeskEvent):
        pass

    class Opened(Aggregate.Created, Event):
        """A ticket was registered. v2 added ``channel``; v1 tickets came from the portal.

        ``attachments`` and ``message_id`` (the mail it came in) have defaults, so events
        stored before them load as having none; so do ``details`` (the policy form's fields)
        and ``missing_details`` (required ones a mailed request lacked: it is incomplete).
        """

        TOPIC = "helpdesk:Ticket.Opened"
        class_version = 2
        number: str
        customer_id: str
        requester_id: str | None
        subject: str
        description: str
        channel: str
        category: str | None
        priority: str
        service: str | None
        policy: str | None
        attachments: tuple[Attachment, ...] = ()
        message_id: str | None = None
        details: dict[str, Any] | None = None
        missing_details: tuple[str, ...] = ()

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["channel"] = Channel.PORTAL.value

    Created = Opened

    class CategoryChanged(Event):
        TOPIC = "helpdesk:Ticket.CategoryChanged"
        category: str

        def apply(self, ticket: Ticket) -> None:
            ticket.category = Category(self.category)

    class PriorityChanged(Event):
        TOPIC = "helpdesk:Ticket.PriorityChanged"
        priority: str

        def apply(self, ticket: Ticket) -> None:
            ticket.priority = Priority(self.priority)

    class ServiceChanged(Event):
        TOPIC = "helpdesk:Ticket.ServiceChanged"
        service: str

        def apply(self, ticket: Ticket) -> None:
            ticket.service = self.service

    class DetailsChanged(Event):
        """The request's form details changed (KS-7, END-8, TEL-7, MED-11); ``details`` is the whole set."""

        TOPIC = "helpdesk:Ticket.DetailsChanged"
        details: dict[str, Any]
        missing_details: tuple[str, ...] = ()

        def apply(self, ticket: Ticket) -> None:
            ticket.details = dict(self.details)
            ticket.missing_details = tuple(self.missing_details)

    class AssigneesChanged(Event):
        TOPIC = "helpdesk:Ticket.AssigneesChanged"
        responsible_id: str | None
        owner_id: str | None
        department: str | None

        def apply(self, ticket: Ticket) -> None:
            ticket.responsible_id = self.responsible_id
            ticket.owner_id = self.owner_id
            ticket.department = self.department

    class PlanChanged(Event):
        TOPIC = "helpdesk:Ticket.PlanChanged"
        planned_date: dt.date | None
        planned_minutes: int | None
        release: str | None

        def apply(self, ticket: Ticket) -> None:
            ticket.planned_date = self.planned_date
            ticket.planned_minutes = self.planned_minutes
            ticket.release = self.release

    class CommentAdded(Event):
        TOPIC = "helpdesk:Ticket.CommentAdded"
        comment_id: str
        body: str
        visibility: str
        attachments: tuple[Attachment, ...] = ()
        message_id: str | None = None
        call: bool = False  # staff logged a phone call with the customer (IMC-4, KS-6)

        def apply(self, ticket: Ticket) -> None:
            ticket.comment_count += 1
            if self.visibility == Visibility.PUBLIC.value:
                ticket.record_step(self, self.body)

    class TimeLogged(Event):
        TOPIC = "helpdesk:Ticket.TimeLogged"
        entry_id: str
        minutes: int
        billed_minutes: int
        billable: bool
        note: str | None
        budget_month: str | None = None  # the month whose norm-hours it consumes (MED-12), if any
        budget_limit: int | None = None  # that month's budget in minutes

        def apply(self, ticket: Ticket) -> None:
            ticket.spent_minutes += self.minutes
            ticket.billed_minutes += self.billed_minutes

    class StatusChanged(Event):
        """Base of the workflow's facts: a move from one status to another."""

        TOPIC = "helpdesk:Ticket.StatusChanged"
        from_status: str
        to_status: str
        comment: str | None
        reason: str | None
        automatic: bool

        def apply(self, ticket: Ticket) -> None:
            target = Status(self.to_status)
            if target is Status.AWAITING_CUSTOMER:
                ticket.status_before_wait = ticket.status
            ticket.done_at = self.timestamp if target is Status.DONE else None
            ticket.delivered_at = delivered_after(ticket.delivered_at, ticket.status, target, self.timestamp)
            ticket.status = target
            ticket.third_party = waiting_on_third_party(ticket.third_party, target)
            ticket.record_step(self, self.comment or self.reason)

    class Accepted(StatusChanged):
        """Accepted into work; under a budget, ``budget_minutes`` count against ``budget_month`` (MED-12)."""

        TOPIC = "helpdesk:Ticket.Accepted"
        budget_month: str | None = None
        budget_minutes: int = 0
        budget_limit: int | None = None

        def apply(self, ticket: Ticket) -> None:
            super().apply(ticket)
            ticket.budget_month = ticket.budget_month or self.budget_month
            ticket.accepted = True

    class ClarificationRequested(StatusChanged):
        TOPIC = "helpdesk:Ticket.ClarificationRequested"

    class ClarificationReceived(StatusChanged):
        TOPIC = "helpdesk:Ticket.ClarificationReceived"

    class SentToDevelopment(StatusChanged):
        TOPIC = "helpdesk:Ticket.SentToDevelopment"

    class MarkedReadyToInstall(StatusChanged):
        TOPIC = "helpdesk:Ticket.MarkedReadyToInstall"

    class SolutionProposed(StatusChanged):
        TOPIC = "helpdesk:Ticket.SolutionProposed"

    class SolutionAccepted(StatusChanged):
        TOPIC = "helpdesk:Ticket.SolutionAccepted"

    class ReturnedToWork(StatusChanged):
        TOPIC = "helpdesk:Ticket.ReturnedToWork"

    class Reopened(StatusChanged):
        TOPIC = "helpdesk:Ticket.Reopened"

    class Rejected(StatusChanged):
        """Closed without a solution; by the executor (or automatically) with what was done so far (END-4)."""

        TOPIC = "helpdesk:Ticket.Rejected"
        done_so_far: tuple[dict[str, Any], ...] = ()  # [{at (ISO), what, note}], oldest first

    class Deferred(StatusChanged):
        TOPIC = "helpdesk:Ticket.Deferred"

    class Resumed(StatusChanged):
        TOPIC = "helpdesk:Ticket.Resumed"

    class ThirdPartyAwaited(Event):
        """The ticket waits on a third party (END-5)."""

        TOPIC = "helpdesk:Ticket.ThirdPartyAwaited"
        party: str
        note: str | None

        def apply(self, ticket: Ticket) -> None:
            ticket.third_party = {"party": self.party, "note": self.note}

    class ThirdPartyCleared(Event):
        TOPIC = "helpdesk:Ticket.ThirdPartyCleared"
        party: str

        def apply(self, ticket: Ticket) -> None:
            ticket.third_party = None

    def __init__(
        self,
        number: str,
        customer_id: str,
        requester_id: str | None,
        subject: str,
        description: str,
        channel: str,
        category: str | None,
        priority: str,
        service: str | None,
        policy: str | None,
        actor_id: str,
        actor_role: str,
        traceparent: str | None,
        details: dict[str, Any] | None = None,
        missing_details: tuple[str, ...] = (),
    ) -> None:
        self.number = number
        self.customer_id = customer_id
        self.requester_id = requester_id
        self.subject = subject
        self.description = description
        self.channel = Channel(channel)
        self.category = Category(category) if category else None
        self.priority = Priority(priority)
        self.service = service
        self.policy = policy
        self.status = Status.NEW
        self.status_before_wait: Status | None = None
        self.done_at: dt.datetime | None = None
        self.delivered_at: dt.datetime | None = None
        self.responsible_id: str | None = None
        self.owner_id: str | None = None
        self.department: str | None = None
        self.planned_date: dt.date | None = None
        self.planned_minutes: int | None = None
        self.release: str | None = None
        self.comment_count = 0
        self.steps: list[dict[str, Any]] = []  # the executor's public steps, for a close's done_so_far
        self.spent_minutes = 0
        self.billed_minutes = 0
        self.budget_month: str | None = None  # the month its acceptance was counted in (MED-12)
        self.accepted = False  # taken into work once (a resume of a ticket deferred while new accepts it)
        self.details: dict[str, Any] = dict(details or {})
        self.missing_details = tuple(missing_details)
        self.third_party = None

    # -- commands -----------------------------------------------------------------------

    @classmethod
    def open(cls, ctx: Context, rules: TicketRules, *, id: UUID, number: str, customer_id: str,
             lenient: bool = False, **fields: Any) -> Ticket:
        """Register a new ticket; it starts as ``new`` (MED-1), with what its policy offers.

        ``lenient`` (mail): missing details do not refuse it; they are recorded as missing.
        """
        fields = checks.checked_opening(rules, lenient, fields)
        return cls._create(
            cls.Opened, id=id, number=number, customer_id=customer_id, **fields, **ctx.event_fields()
        )

    def triage(self, ctx: Context, rules: TicketRules, **changes: Any) -> None:
        """Change category, priority, service, details, assignees, plan or third party; one event per kind."""
        checks.require_staff(ctx)
        if "priority" in changes:
            offer.check_priority(rules, Priority(changes["priority"]))
        if "service" in changes:
            offer.check_service(rules, changes["service"])
        details = self._new_details(rules, changes) if "details" in changes else None
        third_party = self._third_party_wanted(changes)  # checked first: a refusal triggers nothing
        if "category" in changes and changes["category"] != self.category:
            self.trigger_event(self.CategoryChanged, category=changes["category"], **ctx.event_fields())
        if "priority" in changes and changes["priority"] != self.priority:
            self.trigger_event(self.PriorityChanged, priority=changes["priority"], **ctx.event_fields())
        if "service" in changes and changes["service"] != self.service:
            self.trigger_event(self.ServiceChanged, service=changes["service"], **ctx.event_fields())
        self._change_group(ctx, self.AssigneesChanged, ("responsible_id", "owner_id", "department"), changes)
        if details is not None and details != (self.details, self.missing_details):
            self.trigger_event(self.DetailsChanged, details=details[0], missing_details=details[1],
                               **ctx.event_fields())
        self._change_group(ctx, self.PlanChanged, ("planned_date", "planned_minutes", "release"), changes)
        if third_party != self.third_party and third_party is not None:
            self.trigger_event(self.ThirdPartyAwaited, **third_party, **ctx.event_fields())
        elif third_party != self.third_party:
            self.trigger_event(self.ThirdPartyCleared, party=self.third_party["party"],  # type: ignore[index]
                               **ctx.event_fields())

    def _third_party_wanted(self, changes: dict[str, Any]) -> dict[str, Any] | None:
        """END-5: the third party the ticket is to wait on after ``changes`` ({party, note}, None: nobody)."""
        if "third_party" not in changes:
            return self.third_party
        value = changes["third_party"]
        if value is None:
            return None
        if not self.status.is_open:
            raise InvalidTransition(f"a {self.status.value} ticket waits on nobody (END-5)")
        party = str(value.get("party") or "").strip()
        if not party:
            raise InvalidInput("third_party.party names who the ticket waits on (END-5)", field="third_party.party")
        return {"party": party, "note": str(value.get("note") or "").strip() or None}

    def _new_details(self, rules: TicketRules, changes: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The details after a PATCH merges ``changes['details']`` in (a null removes a field).

        Wrong values refuse the change; fields still missing keep the ticket incomplete.
        """
        merged = {**self.details, **(changes["details"] or {})}
        merged = {name: value for name, value in merged.items() if value is not None}
        category = Category(changes["category"]) if changes.get("category") else self.category
        incomplete = bool(self.missing_details)  # a mailed request is completed step by step
        return offer.checked_details(rules, category, self.channel, merged, lenient=incomplete)

    def add_comment(
        self, ctx: Context, rules: TicketRules, *, comment_id: str, body: str, visibility: Visibility,
        attachments: tuple[Attachment, ...] = (), message_id: str | None = None, call: bool = False,
    ) -> None:
        """Add a comment; a customer's public reply moves a ticket that waits on them (MED-6, MED-7, KS-4).

        ``call``: staff log a phone call with the customer, which meets a callback target (IMC-4, KS-6).
        An agent's first public answer on an unowned chat makes them its owner (TEL-5).
        """
        if not body.strip():
            raise InvalidInput("body is required", field="body")
        if visibility is Visibility.INTERNAL and not ctx.is_staff:
            raise NotPermitted("customers cannot write internal comments")
        if call and not ctx.is_staff:
            raise NotPermitted("only staff log calls")
        self.trigger_event(
            self.CommentAdded, comment_id=comment_id, body=body, visibility=visibility.value,
            attachments=attachments, message_id=message_id, call=call, **ctx.event_fields(),
        )
        if self.takes_chat(ctx, visibility):
            self.trigger_event(self.AssigneesChanged, responsible_id=self.responsible_id, owner_id=ctx.actor_id,
                               department=self.department, **ctx.event_fields())
        if ctx.role is not Role.CUSTOMER or visibility is not Visibility.PUBLIC:
            return
        if self.status is Status.AWAITING_CUSTOMER:
            target = rules.reply_target(self.status, self.status_before_wait)
            self._move(ctx, self.ClarificationReceived, target, comment=None, reason=None)
        elif self.status is Status.CUSTOMER_TESTING and not reopen_window_over(self._state(), rules, ctx.now):
            self._move(ctx, self.ReturnedToWork, rules.return_target(self.status), None, None)

    def takes_chat(self, ctx: Context, visibility: Visibility) -> bool:
        """TEL-5: the first agent who answers an open chat in public becomes its owner (nobody assigned it yet)."""
        return (self.channel is Channel.CHAT and ctx.role is Role.AGENT and visibility is Visibility.PUBLIC
                and self.owner_id is None and self.status.is_open)

    def log_time(
        self, ctx: Context, rules: TicketRules, *, entry_id: str, minutes: int, billable: bool,
        note: str | None, budget: MonthBudget | None = None,
    ) -> None:
        """Record time spent; billed minutes follow the policy's rounding (END-6).

        ``budget``: the month's norm-hours the time consumes (MED-12), unless paid extra.
        """
        checks.require_staff(ctx)
        if minutes <= 0:
            raise InvalidInput("minutes must be positive", field="minutes")
        self.trigger_event(
            self.TimeLogged, entry_id=entry_id, minutes=minutes,
            billed_minutes=rules.billed_minutes(minutes, billable), billable=billable, note=note,
            **checks.budget_fields(budget, rules.paid_extra(self.service)), **ctx.event_fields(),
        )

    def act(
        self, ctx: Context, rules: TicketRules, action: str, *, comment: str | None = None,
        reason: str | None = None, budget: MonthBudget | None = None,
    ) -> None:
        """Perform a workflow action (CONTRACT §3's table; ``refusal`` says whether and why not);
        ``budget``: the month's norm-hours (MED-12)."""
        if refused := refusal(action, ctx.role, self._state(), rules, ctx.now):
            raise _ERROR_OF[refused[0]](refused[1])
        if self.accepts_on(action):  # a ticket deferred while new is taken into work by its resume (TEL-9)
            action = Action.ACCEPT.value
        if action == Action.ACCEPT:
            check_accept(self, rules.accept_requires())
        if action == Action.REJECT and not (reason or "").strip():
            raise InvalidInput("a reason is required to reject", field="reason")
        if action == Action.DEFER:
            reason = checks.deferral_reason(rules, reason)
        if action == Action.RETURN_TO_WORK:
            self._return_to_work(ctx, rules, comment=comment, reason=reason)
            return
        target = WORKFLOW[Action(action)].target
        if action == Action.ACCEPT and budget is not None and budget.budgeted and not self.budget_month:
            # counted once: a ticket accepted again after returning to new (MED-6/7) is not counted twice
            counted = minutes_counted(budget, self.planned_minutes, rules.paid_extra(self.service))
            self._move(ctx, self.Accepted, target, comment=comment, reason=reason,
                       budget_month=budget.month, budget_minutes=counted, budget_limit=budget.budget_minutes)
            return
        extra = {"done_so_far": tuple(self.steps)} if action == Action.REJECT and ctx.is_staff else {}
        self._move(ctx, getattr(self, checks.EVENT_OF[action]), target, comment=comment, reason=reason, **extra)

    def accepts_on(self, action: str) -> bool:
        """Whether ``action`` takes the ticket into work for the first time: ``accept``, or the
        ``resume`` of a ticket deferred before it was accepted (it gets what acceptance gives:
        primary analysis checked, norm-hours counted, the requester told work started)."""
        return action == Action.ACCEPT or (action == Action.RESUME and not self.accepted)

    def _return_to_work(self, ctx: Context, rules: TicketRules, **why: Any) -> None:
        if self.status is Status.DONE:  # inside the reopen window (KS-8): ``refusal`` checked it
            self._move(ctx, self.Reopened, Status.IN_PROGRESS, **why)
        else:
            self._move(ctx, self.ReturnedToWork, rules.return_target(self.status), **why)

    # -- helpers ------------------------------------------------------------------------

    def own_copy(self) -> Ticket:
        """A copy to decide on that shares nothing a command could change in this one.

        Commands and events only ever rebind a ticket's attributes (its details, steps and third
        party are replaced whole, never changed in place), so a shallow copy with pending events
        of its own will do: the aggregate cache lends one for a fraction of a deep copy's cost.
        """
        twin = copy.copy(self)
        twin._pending_events = []
        return twin

    def _state(self) -> TicketState:
        """What the workflow table looks at in this ticket."""
        return TicketState(self.status, self.category, self.done_at, self.delivered_at)

    def record_step(self, event: HelpdeskEvent, note: str | None) -> None:
        """Remember a public step the executor's staff took (END-4: a close lists what was done so far)."""
        self.steps = checks.with_step(self.steps, event, note)

    def _move(self, ctx: Context, event: type, target: Status, comment: str | None, reason: str | None,
              **extra: Any) -> None:
        self.trigger_event(
            event, from_status=self.status.value, to_status=target.value, comment=comment,
            reason=reason, automatic=ctx.role is Role.SERVICE, **extra, **ctx.event_fields(),
        )

    def _change_group(self, ctx: Context, event: type, names: tuple[str, ...], changes: dict[str, Any]) -> None:
        if not any(n in changes and changes[n] != getattr(self, n) for n in names):
            return
        values = {n: changes.get(n, getattr(self, n)) for n in names}
        self.trigger_event(event, **values, **ctx.event_fields())


_ERROR_OF: dict[Refused, type[DomainError]] = {
    Refused.NOT_PERMITTED: NotPermitted,
    Refused.INVALID_TRANSITION: InvalidTransition,
    Refused.REOPEN_WINDOW_CLOSED: ReopenWindowClosed,
}
