"""What the SLA service announces and plans, as a pure function of a ticket's SLA state.

The evaluation (``evaluation.evaluate``) says where a ticket's targets
stand at an instant. This module compares that with what was announced before (the
``Announced`` snapshot) and answers with the SLA facts to publish and the timers to
keep; firing a timer answers with its fact and, for an automatic transition, the
command for intake. No I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from dataclasses import dataclass

import msgspec

from helpdesk_shared import sla_events as sla
from helpdesk_shared.sla_events import CUSTOMER_SIDE
from helpdesk_shared.vocabulary import Status

from helpdesk_sla.domain.evaluation import SlaState, Target


class Known(msgspec.Struct, kw_only=True):
    """One target as last announced."""

    due_at: dt.datetime | None
    started_at: dt.datetime
    stopped_at: dt.datetime | None = None
    at_risk: bool = False
    breached: bool = False
    release: str | None = None  # a release-bound target's rule: re-planned when releases change
    release_id: str | None = None  # the release it is bound to
    provisional: bool = False  # the deadline lies past the published production calendar


class Announced(msgspec.Struct, kw_only=True):
    """What the SLA service has told the world about one ticket so far."""

    paused: bool = False
    targets: dict[str, Known] = {}
    untriaged: bool = False


@dataclass(frozen=True)
class TicketRef:
    ticket_id: str
    customer_id: str
    policy: str
    version: int


class _Timer(msgspec.Struct, frozen=True, kw_only=True):
    """A planned firing, at ``due_at``, planned at the ticket's ``planned_version``."""

    due_at: dt.datetime
    planned_version: int


class WarnTimer(_Timer, frozen=True, kw_only=True, tag="warn"):
    """The ticket's ``target`` turns at risk."""

    target: sla.TargetKind


class BreachTimer(_Timer, frozen=True, kw_only=True, tag="breach"):
    """The ticket's ``target`` is breached."""

    target: sla.TargetKind


class TransitionTimer(_Timer, frozen=True, kw_only=True, tag="transition"):
    """An automatic transition: still in ``status`` and unchanged since, the ticket takes ``action``."""

    status: Status
    action: str
    reason: str


class ReminderTimer(_Timer, frozen=True, kw_only=True, tag="reminder"):
    """A reminder to ``to`` while the ticket stays in ``status``."""

    status: Status
    to: Literal["customer", "agent"] = "customer"


Timer = WarnTimer | BreachTimer | TransitionTimer | ReminderTimer


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """An automatic transition for intake, with a key that makes a resend harmless."""

    ticket_id: str
    action: str
    reason: str
    expected_version: int
    idempotency_key: str


def _common(ref: TicketRef, at: dt.datetime) -> dict[str, object]:
    return {"ticket_id": ref.ticket_id, "customer_id": ref.customer_id, "policy": ref.policy,
            "ticket_version": ref.version, "occurred_at": at}


def observe(before: Announced, state: SlaState, ref: TicketRef, at: dt.datetime) -> tuple[Announced, list[sla.SlaFact]]:
    """The facts that tell what changed between ``before`` and ``state`` (observed at ``at``)."""
    facts: list[sla.SlaFact] = []
    common = _common(ref, at)
    if state.paused != before.paused:
        facts.append((sla.Paused if state.paused else sla.Resumed)(**common))
    if state.untriaged != before.untriaged:
        facts.append((sla.Untriaged if state.untriaged else sla.Triaged)(**common))
    targets = dict(before.targets)
    for target in state.targets:
        known = targets.get(target.kind)
        fresh = known is None or known.started_at != target.started_at
        if target.stopped_at is not None:
            if fresh or known.stopped_at is None:  # type: ignore[union-attr]
                if fresh:
                    facts.append(_target_set(target, common))
                facts.append(sla.Met(**common, kind=target.kind, due_at=target.due_at,
                                     stopped_at=target.stopped_at, remaining_seconds=target.remaining_seconds,
                                     breached=target.state == "breached"))
                targets[target.kind] = Known(due_at=target.due_at, started_at=target.started_at,
                                             stopped_at=target.stopped_at,
                                             breached=target.state == "breached", release=_release(target),
                                             release_id=target.release_id)
        elif fresh or (known.due_at, known.release_id, known.provisional) != (  # type: ignore[union-attr]
                target.due_at, target.release_id, target.provisional):
            facts.append(_target_set(target, common))
            targets[target.kind] = Known(due_at=target.due_at, started_at=target.started_at,
                                         provisional=target.provisional,
                                         at_risk=False if fresh else known.at_risk,  # type: ignore[union-attr]
                                         breached=False if fresh else known.breached,  # type: ignore[union-attr]
                                         release=_release(target), release_id=target.release_id)
    return Announced(paused=state.paused, targets=targets, untriaged=state.untriaged), facts


def _release(target: Target) -> str | None:
    return target.release.value if target.release else None


def _target_set(target: Target, common: dict[str, object]) -> sla.TargetSet:
    return sla.TargetSet(**common, kind=target.kind, due_at=target.due_at, warn_at=target.warn_at,
                         started_at=target.started_at, release=_release(target), release_id=target.release_id,
                         customer_side=target.kind in CUSTOMER_SIDE, provisional=target.provisional)


def plan(state: SlaState, version: int) -> list[Timer]:
    """The timers a ticket in ``state`` needs; a paused executor target has none (its deadline moves), unless a release's date binds it."""
    if not state.status.is_open:
        return []
    timers: list[Timer] = []
    for target in state.targets:
        if target.stopped_at is not None or target.due_at is None:
            continue
        if state.paused and target.kind not in CUSTOMER_SIDE and target.release_id is None:
            continue  # a release's date does not move with pauses (IMC-9): its timers stay
        timers.append(BreachTimer(target=target.kind, due_at=target.due_at, planned_version=version))
        if target.warn_at is not None:
            timers.append(WarnTimer(target=target.kind, due_at=target.warn_at, planned_version=version))
    if (move := state.next_transition) is not None:
        timers.append(TransitionTimer(due_at=move.due_at, planned_version=version,
                                      action=move.action, reason=move.reason, status=move.status))
    if state.next_reminder is not None:
        timers.append(ReminderTimer(due_at=state.next_reminder, planned_version=version,
                                    status=state.status, to=state.reminder_to or "customer"))
    return timers


def idempotency_key(ticket_id: str, timer: TransitionTimer) -> str:
    """Deterministic: the same timer always sends the same key, so intake applies it at most once."""
    return f"sla:{ticket_id}:transition:{timer.due_at.astimezone(dt.UTC).isoformat()}"


def fire(before: Announced, timer: Timer, ref: TicketRef, status: Status
         ) -> tuple[Announced, list[sla.SlaFact], Command | None]:
    """Fire ``timer`` on a ticket now at ``ref.version`` in ``status``: its facts and command, if any."""
    common = _common(ref, timer.due_at)
    match timer:
        case WarnTimer(target=target) | BreachTimer(target=target):
            known = before.targets.get(target)
            if known is None or known.stopped_at is not None or known.due_at is None:
                return before, [], None
            if isinstance(timer, WarnTimer) and not (known.at_risk or known.breached):
                changed = msgspec.structs.replace(known, at_risk=True)
                fact: sla.SlaFact = sla.AtRisk(**common, kind=target, due_at=known.due_at)
            elif isinstance(timer, BreachTimer) and not known.breached:
                changed = msgspec.structs.replace(known, breached=True)
                fact = sla.Breached(**common, kind=target, due_at=known.due_at)
            else:
                return before, [], None
            return msgspec.structs.replace(before, targets={**before.targets, target: changed}), [fact], None
        case ReminderTimer():
            if status != timer.status:
                return before, [], None
            return before, [sla.ReminderDue(**common, status=status, to=timer.to)], None
        case TransitionTimer():
            # planned at an older version: something happened since, and a re-plan replaced it
            if status != timer.status or ref.version != timer.planned_version:
                return before, [], None
            command = Command(ticket_id=ref.ticket_id, action=timer.action, reason=timer.reason,
                              expected_version=timer.planned_version,
                              idempotency_key=idempotency_key(ref.ticket_id, timer))
            fact = sla.TransitionDue(**common, status=status, action=command.action, reason=command.reason)
            return before, [fact], command
