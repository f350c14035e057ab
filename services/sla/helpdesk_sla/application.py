"""The SLA use cases: take in ticket events, policy changes and releases, fire due timers, re-plan.

Each use case runs inside one transaction the caller opens: the tickets' rows, their
timers, the outbox facts, the commands and the consumer position commit together.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from helpdesk_shared import directory_events as directory
from helpdesk_shared import events as ev
from helpdesk_shared import release_events as rel
from helpdesk_shared import sla_events as sla
from helpdesk_shared.policies import Policy
from helpdesk_shared.policies.releases import ReleaseDate

from helpdesk_sla.adapters import releases as release_store
from helpdesk_sla.adapters import store
from helpdesk_sla.adapters.store import Conn, TicketRow
from helpdesk_sla.domain.evaluation import SlaState, evaluate
from helpdesk_sla.domain.planning import Command, ReminderTimer, Timer, TicketRef, fire, observe, plan

log = logging.getLogger("helpdesk.sla")
PolicyLookup = Callable[[str], Policy | None]


@dataclass
class Taken:
    """What a batch of events did."""

    position: int
    stream_seq: int
    applied: int = 0
    facts: int = 0
    replanned: int = 0  # open tickets re-planned after a customer's policy change or a release's
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (stream_seq, why)


def _ref(row: TicketRow) -> TicketRef:
    return TicketRef(row.ticket_id, row.customer_id, row.policy, row.version)


async def take_events(conn: Conn, messages: Sequence[tuple[int, ev.CloudEvent | str]],
                      policy_of: PolicyLookup, replay: bool = False, traces: Mapping[str, str] | None = None) -> Taken:
    """Apply events (``(stream_seq, event or why undecodable)``) past the tracked position, in order.

    Ticket events extend their tickets' histories; a customer's policy change
    re-plans that customer's open tickets under the new policy at that point, and a
    release planned or re-dated re-plans the open tickets with release-bound targets (IMC-9).
    ``replay``: parked events, taken although the tracked position is past them. ``traces``:
    each ticket's newest trace context, kept with the timers and facts the batch plans for it.
    """
    position, stream_seq = await store.tracking(conn, lock=True)
    taken = Taken(position, stream_seq)
    fresh: list[ev.CloudEvent] = []
    for seq, event in messages:
        taken.stream_seq = max(taken.stream_seq, seq)
        if isinstance(event, str):
            taken.skipped.append((seq, event))
        elif replay or event.sequence > taken.position:
            fresh.append(event)
            taken.position = max(taken.position, event.sequence)
    run: list[tuple[ev.CloudEvent, ev.TicketFact]] = []  # ticket events with their facts, between changes
    for event in [*fresh, None]:
        change = getattr(event, "data", None)
        if event is not None and not isinstance(change, (directory.CustomerPolicyChanged, rel.ReleaseFact)):
            run.append((event, change))
            continue
        await _take_ticket_events(conn, run, policy_of, taken, traces or {})
        run = []
        if isinstance(change, directory.CustomerPolicyChanged):
            taken.replanned += await replan_customer(conn, change.customer_id, change.policy, policy_of,
                                                     change.occurred_at)
        elif isinstance(change, rel.ReleaseFact):
            taken.replanned += await take_release(conn, change, policy_of)
    await store.track(conn, taken.position, taken.stream_seq)
    return taken


async def _take_ticket_events(conn: Conn, fresh: Sequence[tuple[ev.CloudEvent, ev.TicketFact]],
                              policy_of: PolicyLookup, taken: Taken, traces: Mapping[str, str]) -> None:
    if not fresh:
        return
    rows = await store.lock_tickets(conn, {fact.ticket_id for _, fact in fresh})
    moved = await store.customer_policies(conn, {fact.customer_id for _, fact in fresh
                                                 if isinstance(fact, ev.TicketOpened)})
    touched: dict[str, TicketRow] = {}
    states: dict[str, SlaState | None] = {}
    facts: list[sla.SlaFact] = []
    known = await release_store.known(conn)
    for event, fact in fresh:
        folded = _fold(rows, event, fact, policy_of, facts, moved, known)
        if folded is not None:
            row, states[row.ticket_id] = folded
            touched[row.ticket_id] = row
            taken.applied += 1
    timers = [(tid, timer) for tid, row in touched.items() if (state := states[tid]) is not None
              for timer in plan(state, row.version)]
    await store.save_tickets(conn, list(touched.values()))
    await store.replace_timers(conn, list(touched), timers, traces)
    await store.record(conn, facts, rows, traces)
    taken.facts += len(facts)


def _fold(rows: dict[str, TicketRow], event: ev.CloudEvent, fact: ev.TicketFact, policy_of: PolicyLookup,
          facts: list[sla.SlaFact], moved: dict[str, str],
          releases: Sequence[ReleaseDate] = ()) -> tuple[TicketRow, SlaState | None] | None:
    """Add one event (``fact`` is its data) to its ticket and announce what changed; None when it has no SLA.

    A new ticket follows its customer's newest policy as far as this stream goes (``moved``):
    intake may have opened it under the old one in the instant the customer moved.

    A ticket whose policy is no longer known (its file was removed) keeps its history
    but has no state and no timers until the policy is back (re-planned at start).
    """
    row = rows.get(fact.ticket_id)
    if row is None:
        if not isinstance(fact, ev.TicketOpened):
            return None  # no opening seen: nothing to time
        known = [p for p in (moved.get(fact.customer_id), fact.policy) if p and policy_of(p) is not None]
        if not known:
            return None  # a ticket without a known policy: nothing to time
        policy = known[0]
        row = rows[fact.ticket_id] = TicketRow(fact.ticket_id, fact.customer_id, policy, 0, fact.status, [])
    if fact.version <= row.version:
        return None  # a duplicate
    row.history.append(event)
    row.version, row.status, row.customer_id = fact.version, fact.status, fact.customer_id
    if (policy := policy_of(row.policy)) is None:
        log.error("ticket %s: policy %r is unknown; its timers wait until it is back", row.ticket_id, row.policy)
        return row, None
    state = evaluate(row.facts, policy, fact.occurred_at, releases)
    row.announced, new = observe(row.announced, state, _ref(row), fact.occurred_at)
    facts.extend(new)
    return row, state


async def fire_due(conn: Conn, now: dt.datetime, policy_of: PolicyLookup, limit: int = 500) -> int:
    """Fire up to ``limit`` timers due by ``now``, oldest first; the number fired.

    A timer whose ticket another transaction holds is left for the next round.
    """
    due, traces = await store.due_timers(conn, now, limit)
    if not due:
        return 0
    rows = await store.lock_tickets(conn, {tid for tid, _ in due}, skip_locked=True)
    fired: list[tuple[str, Timer]] = []
    facts: list[sla.SlaFact] = []
    commands: list[Command] = []
    follow_ups: list[tuple[str, Timer]] = []
    known = await release_store.known(conn)
    for tid, timer in due:
        row = rows.get(tid)
        if row is None:
            continue
        row.announced, new, command = fire(row.announced, timer, _ref(row), row.status)
        facts.extend(new)
        if command is not None:
            commands.append(command)
        if isinstance(timer, ReminderTimer) and (policy := policy_of(row.policy)) is not None:  # the next one
            state = evaluate(row.facts, policy, timer.due_at, known)
            follow_ups += [(tid, t) for t in plan(state, row.version) if isinstance(t, ReminderTimer)]
        fired.append((tid, timer))
    await store.mark_fired(conn, fired, now)
    await store.save_announced(conn, list(rows.values()))
    await store.record(conn, facts, rows, traces, urgent=True)  # due now: ahead of the planning backlog
    await store.add_commands(conn, commands, traces)
    await store.add_timers(conn, follow_ups, traces)
    return len(fired)


async def replan(conn: Conn, ticket_ids: Sequence[str], policy_of: PolicyLookup, now: dt.datetime) -> int:
    """Re-evaluate open tickets from their histories under their current policy; re-plan their timers."""
    rows = await store.lock_tickets(conn, ticket_ids)
    facts: list[sla.SlaFact] = []
    timers: list[tuple[str, Timer]] = []
    known = await release_store.known(conn)
    for row in rows.values():
        policy = policy_of(row.policy)
        if policy is None:
            continue
        state = evaluate(row.facts, policy, now, known)
        row.announced, new = observe(row.announced, state, _ref(row), now)
        facts.extend(new)
        timers += [(row.ticket_id, t) for t in plan(state, row.version)]
    await store.save_tickets(conn, list(rows.values()))
    await store.replace_timers(conn, list(rows), timers)
    await store.record(conn, facts, rows)
    return len(rows)


async def replan_customer(conn: Conn, customer_id: str, policy: str, policy_of: PolicyLookup,
                          now: dt.datetime) -> int:
    """A customer's policy changed: its open tickets follow the new one from their history (CONTRACT §5).

    A policy this process does not know (its file not deployed here) changes nothing for
    the open tickets — they keep their policy and timers, and the error is logged (deploy a
    policy file to every service before moving customers onto it); tickets opened meanwhile
    keep the policy intake gave them.
    """
    await store.set_customer_policy(conn, customer_id, policy)
    if policy_of(policy) is None:
        log.error("customer %s moved to policy %r, which is unknown here: its tickets keep their policy",
                  customer_id, policy)
        return 0
    ids = await store.open_tickets(conn, "customer_id", customer_id)
    rows = await store.lock_tickets(conn, ids)
    for row in rows.values():
        row.policy = policy
    await store.save_tickets(conn, list(rows.values()))
    return await replan(conn, ids, policy_of, now)


async def take_release(conn: Conn, fact: rel.ReleaseFact, policy_of: PolicyLookup) -> int:
    """A release was planned or re-dated: every open ticket with a release-bound target is re-planned
    (a new release may bind an unplanned target, a moved one moves its targets' deadlines)."""
    match fact:
        case rel.ReleasePlanned():
            await release_store.save(conn, fact.release_id, kind=fact.kind, date=fact.date)
        case rel.ReleaseRedated():
            await release_store.save(conn, fact.release_id, date=fact.date)
        case _:
            return 0  # a new name changes no deadline
    return await replan(conn, await release_store.bound_tickets(conn), policy_of, fact.occurred_at)


async def replan_policy(conn: Conn, policy: str, policy_of: PolicyLookup, now: dt.datetime) -> int:
    """A policy file changed: every open ticket under it is re-evaluated and re-planned."""
    return await replan(conn, await store.open_tickets(conn, "policy", policy), policy_of, now)
