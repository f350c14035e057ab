"""The command envelope of intake's use cases: load, let the domain decide, save what it decided.

Every command runs through ``_execute``, which gives it three guarantees:
- **idempotency**: with an ``Idempotency-Key`` the first answer is stored in the
  same transaction as the events, and a repeat returns it and appends nothing;
- **optimistic concurrency**: a command that lost a race on its ticket is re-run
  on the fresh ticket, unless the caller pinned a version (``If-Match``: 412);
  a command may first decide on this worker's own copy of its ticket, read nothing,
  when no other writer can have written it since (adapters/saved_aggregates.py): a
  decision that then writes the ticket is checked by that race at commit, and any
  other outcome (a refusal, a read-only use, a version mismatch) is decided again on a read;
- **atomicity**: events and their side rows commit together or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID, uuid4

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from opentelemetry import trace

from helpdesk_shared.clock import Clock
from helpdesk_shared.telemetry import span_in_trace
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.adapters.committer import CommitConflict, GroupCommitter
from helpdesk_intake.adapters.eventstore import IntakeEventStore, SideRow, idempotency_row
from helpdesk_intake.application.customers import CustomerDirectory, Terms
from helpdesk_intake.domain.base import Context, DomainError
from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.rules import TicketRules
from helpdesk_intake.domain.ticket import Ticket

A = TypeVar("A", bound=Aggregate)
tracer = trace.get_tracer("helpdesk.intake")
MAX_ATTEMPTS = 8
LOCK_STRIPES = 256
EVENTS_PKEY = "intake_events_pkey"  # (originator_id, originator_version): a lost race
BUDGET_CHECK = "hours_within_budget"  # another replica's acceptance took the month's last hours: re-decide


class NotFound(DomainError):
    """No such aggregate, or not one the caller may see (another customer's ticket)."""


class Blocked(DomainError):
    """The customer has no active contract; its users are blocked (MED-4)."""


class VersionConflict(DomainError):
    """The ticket is no longer at the version the caller expected (If-Match)."""


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key was sent again with a different request."""


@dataclass(frozen=True)
class Outcome:
    """The answer to a successful command (CONTRACT §3)."""

    body: dict[str, Any]
    position: int
    status_code: int = 200


@dataclass
class Change:
    """What a command decided: the aggregates it changed, its side rows, and its answer.

    The last aggregate is the command's subject: ``If-Match`` pins its version, and the
    answer's ``Helpdesk-Position`` is its last event (what a reader waits for).
    """

    aggregates: list[Aggregate]
    body: dict[str, Any]
    rows: list[SideRow] = field(default_factory=list)
    status_code: int = 200


@dataclass(frozen=True)
class Request:
    """Who asks, with which key and expectations, in which trace."""

    principal: Principal
    idempotency_key: str | None = None
    fingerprint: str = ""
    expected_version: int | None = None
    traceparent: str | None = None


class IntakeService:
    """The base of intake's use cases: loading, the command envelope, idempotency."""

    def __init__(self, store: IntakeEventStore, committer: GroupCommitter, clock: Clock,
                 rules_for: Callable[[str], TicketRules], policies: Callable[[], set[str]],
                 customers: CustomerDirectory) -> None:
        self.store = store
        self.customers = customers
        self.committer = committer
        self.clock = clock
        self.rules_for = rules_for
        self.policies = policies
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._trusting = threading.local()  # .subject: the aggregate id a decision may take unread; .used

    # -- loading ------------------------------------------------------------------------

    def load(self, kind: type[A], aggregate_id: str | UUID) -> A:
        """The aggregate of ``kind`` with that id, or ``NotFound``."""
        try:
            uuid = UUID(str(aggregate_id))
            aggregate = self._saved_copy(uuid) or self.store.repository.get(uuid)
        except (AggregateNotFoundError, ValueError):
            raise NotFound(f"no {kind.__name__.lower()} {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"no {kind.__name__.lower()} {aggregate_id}")
        return aggregate

    def _saved_copy(self, aggregate_id: UUID) -> Aggregate | None:
        """This worker's own copy of the decision's subject, if known current (see the module's docstring)."""
        saved = self.committer.saved
        if saved is None or getattr(self._trusting, "subject", None) != aggregate_id:
            return None
        aggregate = saved.current_copy(aggregate_id)
        self._trusting.used = self._trusting.used or aggregate is not None
        return aggregate

    def visible_ticket(self, principal: Principal, ticket_id: str) -> Ticket:
        """A ticket the principal may act on: a customer sees only its own customer's tickets."""
        ticket = self.load(Ticket, ticket_id)
        if principal.role is Role.CUSTOMER and ticket.customer_id != principal.customer_id:
            raise NotFound(f"no ticket {ticket_id}")
        return ticket

    def terms(self, customer_id: str) -> Terms:
        """The customer's current policy and contract state (cached briefly, see customers.py)."""
        return self.customers.terms(customer_id, lambda cid: self.load(Customer, cid))

    def active_customer(self, customer_id: str) -> Terms:
        """The terms of a customer with an active contract; else its users are blocked (MED-4)."""
        terms = self.terms(customer_id)
        if not terms.active:
            raise Blocked(f"customer {terms.name} has no active contract")
        return terms

    def rules_of(self, customer_id: str) -> TicketRules:
        """The rules of the customer's current policy: a changed policy applies at once."""
        return self.rules_for(self.terms(customer_id).policy)

    def context(self, request: Request) -> Context:
        principal = request.principal
        if principal.role is Role.CUSTOMER:
            self.active_customer(principal.customer_id or "")
        return Context(actor_id=principal.id, role=principal.role, now=self.clock.now(),
                       customer_id=principal.customer_id, traceparent=request.traceparent)

    # -- the command envelope -----------------------------------------------------------

    def execute(self, request: Request, decide: Callable[[], Change], key: str | None = None) -> Outcome:
        """Run ``decide`` and commit its change, with idempotency and concurrency retries.

        Commands on the same aggregate (``key``) queue behind each other in this process,
        so optimistic retries are left for races with other intake replicas.
        """
        if request.idempotency_key and (first := self._first_answer(request)):
            return first
        with self._locks[hash(key) % len(self._locks)] if key else contextlib.nullcontext():
            return self._attempt(request, decide, key)

    def _attempt(self, request: Request, decide: Callable[[], Change], key: str | None = None) -> Outcome:
        for attempt in range(MAX_ATTEMPTS):
            change = self._decided(request, decide, key if attempt == 0 else None)
            rows = [*change.rows, *self._idempotency_rows(request, change)]
            events = [e for aggregate in change.aggregates for e in aggregate.collect_events()]
            try:
                with span_in_trace(tracer, "eventstore.commit", request.traceparent):
                    recordings = self.committer.commit(events, rows)
            except CommitConflict as conflict:
                if conflict.constraint == "idempotency_pkey" and (first := self._first_answer(request)):
                    return first
                if conflict.constraint not in (EVENTS_PKEY, BUDGET_CHECK):
                    raise
                if request.expected_version is not None and conflict.constraint == EVENTS_PKEY:
                    raise VersionConflict("the ticket changed since the version you hold") from None
                self._forget(change)
                time.sleep(random.uniform(0, 0.002 * 2**attempt))  # let the other replica's commit land
                continue
            if self.committer.saved is not None:
                self.committer.saved.remember(change.aggregates, recordings)
            position = recordings[-1].notification.id if recordings else self._position_now()
            return Outcome(change.body, position, change.status_code)
        raise VersionConflict("the ticket kept changing; try again")

    def _decided(self, request: Request, decide: Callable[[], Change], key: str | None) -> Change:
        """``decide``'s change, first on this worker's unread copy of ``key``'s aggregate where it has one.

        That decision stands only if it writes that aggregate at the version the caller expects:
        its commit then proves the copy was current. Otherwise it is decided again on a read.
        """
        subject = _uuid(key)
        if subject is not None and self.committer.saved is not None:
            outer = getattr(self._trusting, "subject", None), getattr(self._trusting, "used", False)
            self._trusting.subject, self._trusting.used = subject, False
            try:
                change = decide()
                if not self._trusting.used or self._writes_at_expected_version(request, change, subject):
                    self._check_version(request, change)
                    return change
            except DomainError:
                if not self._trusting.used:
                    raise
            finally:
                self._trusting.subject, self._trusting.used = outer
        change = decide()
        self._check_version(request, change)
        return change

    def _writes_at_expected_version(self, request: Request, change: Change, subject: UUID) -> bool:
        written = any(a.id == subject and a.pending_events for a in change.aggregates)
        try:
            self._check_version(request, change)
        except VersionConflict:
            return False
        return written

    def _check_version(self, request: Request, change: Change) -> None:
        expected = request.expected_version
        if expected is None or not change.aggregates:
            return
        subject = change.aggregates[-1]
        held = subject.version - len(subject.pending_events)
        if held != expected:
            raise VersionConflict(f"the ticket is at version {held}, not {expected}")

    def _forget(self, change: Change) -> None:
        """Drop cached copies of aggregates that lost a race, so the retry loads them fresh."""
        cache = self.store.repository.cache
        for aggregate in change.aggregates if cache is not None else ():
            try:
                cache.get(aggregate.id, evict=True)
            except KeyError:
                pass

    def _idempotency_rows(self, request: Request, change: Change) -> list[SideRow]:
        if not request.idempotency_key or not change.aggregates:
            return []
        last = change.aggregates[-1]
        return [idempotency_row(request.principal.id, request.idempotency_key, request.fingerprint,
                                change.status_code, msgspec.json.encode(change.body).decode(),
                                last.id, last.version)]

    def _first_answer(self, request: Request) -> Outcome | None:
        first = self.store.rows.first_answer(request.principal.id, request.idempotency_key or "")
        if first is None:
            return None
        if first.request_hash != request.fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
        return Outcome(first.body, first.position, first.status_code)

    def _position_now(self) -> int:
        return self.store.recorder.max_notification_id() or 0

    def now(self) -> dt.datetime:
        return self.clock.now()


def fingerprint(*parts: Any) -> str:
    """A stable hash of a request, to tell a true repeat from a reused key."""
    return hashlib.sha256(msgspec.json.encode(parts)).hexdigest()


def new_id() -> UUID:
    return uuid4()


def _uuid(key: str | None) -> UUID | None:
    try:
        return UUID(key) if key else None
    except ValueError:
        return None
