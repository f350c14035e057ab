"""The SLA policy as typed data: what a policy TOML file may say, validated by msgspec.

Unknown fields are errors, so a typo in an operator's file fails loudly instead of
silently dropping a rule. Durations are strings such as ``"3bd"`` (see ``duration``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from helpdesk_shared.calendar import BusinessCalendar, CalendarSpec
from helpdesk_shared.policies.duration import Duration
from helpdesk_shared.policies.offering import DeferralReason, Form, ServiceEntry, check_catalogue
from helpdesk_shared.vocabulary import Category, Channel, Priority, Status


class Release(StrEnum):
    """A release a target is bound to instead of a date (IMC-9): it carries no timer."""

    NEXT_UNSCHEDULED = "next_unscheduled"
    NEXT_SCHEDULED = "next_scheduled"
    LATER_SCHEDULED = "later_scheduled"


class _Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


# A regulation rule's id (REGULATIONS.md), e.g. "MED-6": what a row of a policy implements, shown to admins.
RuleId = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2,5}-[0-9]{1,3}$")]


class TargetRule(_Rule, frozen=True, kw_only=True):
    """Deadlines for tickets of one category × priority; an omitted key matches any."""

    category: Category | None = None
    priority: Priority | None = None
    first_response: Duration | None = None  # from registration (or re-entry into `new`)
    resolution: Duration | None = None  # from the end of primary analysis (entry into in_progress)
    resolution_release: Release | None = None
    acceptance: Duration | None = None  # the customer's window once a solution is proposed
    remark_fix: Duration | None = None  # from the customer's return with remarks
    remark_fix_release: Release | None = None
    warning: Duration | None = None  # lead before a deadline in which the target is at risk
    rules: list[RuleId] = []  # the regulation rules this row implements (shown to admins only)

    @property
    def specificity(self) -> int:
        return (self.category is not None) * 2 + (self.priority is not None)

    def matches(self, category: Category | None, priority: Priority) -> bool:
        return self.category in (None, category) and self.priority in (None, priority)


Action = Literal["reject", "accept_solution"]
# What primary analysis must settle before a ticket is accepted (IMC-5): "plan" is a planned
# date or a release the ticket is promised for.
AcceptRequirement = Literal["category", "priority", "responsible", "plan"]


class AutoTransition(_Rule, frozen=True, kw_only=True):
    """After ``after`` in ``status`` the ticket takes ``action`` (MED-6, KS-5, …)."""

    status: Status
    after: Duration
    action: Action
    reason: str
    automatic: bool = True  # False: the executor *may* act; the deadline is only shown
    categories: list[Category] | None = None  # None: any category
    rules: list[RuleId] = []  # the regulation rules this row implements (shown to admins only)


class Reminder(_Rule, frozen=True, kw_only=True):
    """Repeated notice while a ticket stays in ``status`` (END-4: weekly)."""

    status: Status
    every: Duration
    to: Literal["customer", "agent"] = "customer"
    rules: list[RuleId] = []  # the regulation rules this row implements (shown to admins only)


class ReopenWindows(_Rule, frozen=True, kw_only=True):
    """How long after a solution's delivery a customer may return it to work, per category (KS-8).

    The window counts from the delivery (entry into customer testing), whether the ticket
    is still being tested or done; ``close_when_over``: a ticket still in testing then closes.
    """

    default: Duration | None = None  # also used for tickets without a category
    error: Duration | None = None
    support: Duration | None = None
    improvement: Duration | None = None
    close_when_over: bool = False

    def for_category(self, category: Category | None) -> Duration | None:
        specific = getattr(self, category.value) if category is not None else None
        return specific or self.default


class Billing(_Rule, frozen=True, kw_only=True):
    """Rounding of billable time entries (END-6); the defaults bill minutes as logged."""

    step_minutes: int = 1
    minimum_minutes: int = 0
    paid_support_only: bool = False  # END-7: billable time only under a paid-support contract

    def __post_init__(self) -> None:
        if not 1 <= self.step_minutes <= 1440 or not 0 <= self.minimum_minutes <= 1440:
            raise ValueError("step_minutes must be 1..1440 and minimum_minutes 0..1440")


class Budget(_Rule, frozen=True, kw_only=True):
    """The monthly norm-hours tickets are accepted within (MED-12)."""

    enforced: bool = False
    measure: Literal["planned", "spent"] = "planned"
    default_monthly_hours: float | None = None  # when the customer's contract names none

    def __post_init__(self) -> None:
        if self.default_monthly_hours is not None and not 0 <= self.default_monthly_hours <= 10_000:
            raise ValueError("budget.default_monthly_hours must be between 0 and 10000")


class Policy(_Rule, frozen=True, kw_only=True):
    """One SLA policy: a calendar and the rules evaluated on it."""

    id: str
    name: str
    calendar: CalendarSpec
    regulation: str = ""
    description: str = ""
    channels: list[Channel] = []  # empty: every channel registers requests
    targets: list[TargetRule] = []
    reaction: dict[Channel, Duration] = {}  # first-response time per channel (TEL-3)
    status_reaction: dict[Status, Duration] = {}  # reaction on entering a status (TEL-4: in_development)
    follow_up_reaction: bool = False  # information a customer adds gets the channel's reaction (TEL-3)
    callback: dict[Channel, Duration] = {}  # a request by this channel is called back within (IMC-4)
    solution_callback: dict[Channel, Duration] = {}  # its solution is delivered by a call within (KS-6)
    mail_processing_started: bool = False  # the requester is mailed when processing starts (TEL-6)
    reply_counts_as_response: bool = False  # an agent's public comment meets first_response
    pause_statuses: list[Status] = []  # the executor's clocks stop here (KS-4)
    transitions: list[AutoTransition] = []
    reminders: list[Reminder] = []
    reopen: ReopenWindows = ReopenWindows()
    clarification_returns_to: Literal["new", "previous"] = "previous"  # MED-6: "new"
    return_to_work_status: Literal["new", "in_progress"] = "in_progress"  # MED-7: "new"
    development_categories: list[Category] | None = None  # None: any (MED-9 limits it)
    billing: Billing = Billing()
    budget: Budget = Budget()
    accept_requires: list[AcceptRequirement] = []  # IMC-5: empty, `accept` asks for nothing
    services: list[ServiceEntry] = []  # the service catalogue (MED-3, IMC-1); empty: no services
    forms: list[Form] = []  # the details requests carry (KS-7, END-8, TEL-7, MED-11)
    priorities: list[Priority] = []  # empty: every priority (MED-2 offers normal and high)
    deferral_reasons: list[DeferralReason] = []  # TEL-9
    require_phone: bool = False  # KS-9: every user of a customer has a phone
    third_party_pauses: bool = False  # waiting on a third party stops the executor's clocks (END-5)
    # The regulation rules each top-level setting implements, by field name (`calendar = ["END-1"]`);
    # rows of targets, transitions and reminders carry their own `rules`. Shown to admins only.
    rules: dict[str, list[RuleId]] = {}

    def __post_init__(self) -> None:
        check_catalogue(self.services)
        unknown = sorted(set(self.rules) - {f.encode_name for f in msgspec.structs.fields(Policy)})
        if unknown:
            raise ValueError(f"rules: {', '.join(unknown)} is not a policy field")
        for status in self.pause_statuses:
            if not status.is_open:
                raise ValueError(f"pause_statuses: {status.value!r} is not an open status")

    @property
    def resolution_by_rule(self) -> bool:
        """Whether a ticket's resolution target depends on its category and priority (IMC-8)."""
        return any(rule.resolution or rule.resolution_release for rule in self.targets)

    def rule_for(self, kind: str, category: Category | None, priority: Priority) -> TargetRule | None:
        """The most specific target rule that sets ``kind`` (or its release) for a ticket."""
        best = None
        for rule in self.targets:
            if rule.matches(category, priority) and (
                getattr(rule, kind) or getattr(rule, kind + "_release", None)
            ):
                if best is None or rule.specificity > best.specificity:
                    best = rule
        return best


class CompiledPolicy:
    """A policy made computable: its calendar and memoised rule look-ups."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.calendar = BusinessCalendar(policy.calendar)
        self._rules: dict[tuple[str, Category | None, Priority], TargetRule | None] = {}
        self.memo: dict[tuple, tuple] = {}  # the evaluation's per-key answers
        self.resolution_by_rule = policy.resolution_by_rule

    def rule(self, kind: str, category: Category | None, priority: Priority) -> TargetRule | None:
        """``Policy.rule_for``, computed once per key."""
        key = (kind, category, priority)
        if key not in self._rules:
            self._rules[key] = self.policy.rule_for(kind, category, priority)
        return self._rules[key]


_COMPILED: dict[int, CompiledPolicy] = {}


def compiled(policy: Policy) -> CompiledPolicy:
    """The compiled form of ``policy``, built once per policy object."""
    hit = _COMPILED.get(id(policy))
    if hit is not None and hit.policy is policy:
        return hit
    if len(_COMPILED) > 256:
        _COMPILED.clear()
    hit = _COMPILED[id(policy)] = CompiledPolicy(policy)
    return hit


def calendar_of(policy: Policy) -> BusinessCalendar:
    """The policy's computable calendar, built once per policy object."""
    return compiled(policy).calendar
